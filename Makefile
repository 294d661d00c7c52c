# memvisor build. Every output goes under build/.
#   make              build everything: libmm, the test suites, the benchmark,
#                     and the freestanding buddy core that guest/ links
#   make test         run every Criterion suite (tests/*/ -> build/tests/*.test),
#                     then the concurrency stress program (tests/stress/)
#   make bench        run the benchmarks beside glibc, jemalloc, mimalloc, tcmalloc,
#                     and the VMM beside QEMU microvm
#   make check-asan   everything again under ASan+UBSan in build/asan/, every suite run
#   make check-asan-clang  the same under clang's ASan+UBSan in build/asan-clang/ (if installed)
#   make check-clang  everything again with clang -Werror in build/clang/ (if installed)
#   make check-tsan   the stress program under ThreadSanitizer in build/tsan/
#   make check-arrows no include or call circles, every tree within its bounds
#   make linux-guest  the Linux test guest in build/linux/ (vmlinux, bzImage), from
#                     Debian's linux-source-6.12; cached outside the tree by its inputs
#   make deps         install missing Debian packages (as root; else print the command)
#   make clean
# Targets that need packages check them first (once; a stamp under build/
# remembers), and test/bench make sure the hugetlb pool has room for zone Huge.
# On a machine without make, ./memvisor-dev run|test installs it and runs these.

ifeq ($(origin CC),default)
CC := gcc
endif
BUILD    ?= build
STAMPS   ?= $(BUILD)/.stamps
CFLAGS   ?= -O2 -g
# The house flags stay when CFLAGS is overridden; SANITIZE is set by check-asan.
HOUSE_CFLAGS := -std=gnu11 -Wall -Wextra -Werror -pthread -D_GNU_SOURCE -fno-strict-aliasing
CPPFLAGS += -I. -Iinclude
ALL_CFLAGS = $(HOUSE_CFLAGS) $(CFLAGS) $(SANITIZE)
LDFLAGS  += $(SANITIZE)
LDLIBS   += -lxxhash -pthread

.PHONY: all test bench bench-build deps hugepages check-asan check-asan-clang check-clang check-tsan \
	check-arrows clean
all:

# ---- packages ---------------------------------------------------------------
DEPS_BUILD := $(STAMPS)/deps-build
DEPS_BENCH := $(STAMPS)/deps-bench
# QEMU is for the cross-checks and benchmarks only: `make` and `make run` do
# without its 47 packages.
DEPS_TEST  := $(STAMPS)/deps-test

$(DEPS_BUILD): tools/deps.sh
	tools/deps.sh --stamp $@ build
$(DEPS_BENCH): tools/deps.sh
	tools/deps.sh --stamp $@ bench
$(DEPS_TEST): tools/deps.sh
	tools/deps.sh --stamp $@ test
DEPS_LINUX := $(STAMPS)/deps-linux
$(DEPS_LINUX): tools/deps.sh
	tools/deps.sh --stamp $@ linux

# Always asks dpkg (no stamp shortcut), then refreshes both stamps.
deps:
	tools/deps.sh build test bench linux
	@mkdir -p $(STAMPS) && touch $(DEPS_BUILD) $(DEPS_TEST) $(DEPS_BENCH) $(DEPS_LINUX)

# ---- the memory manager -------------------------------------------------------
MM_SRC := $(wildcard mm/*.c mm/slab/*.c)
LIBMM  := $(BUILD)/libmm.a

$(BUILD)/%.o: %.c | $(DEPS_BUILD)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -MMD -MP -c $< -o $@

$(LIBMM): $(MM_SRC:%.c=$(BUILD)/%.o)
	@mkdir -p $(dir $@)
	rm -f $@ && $(AR) rcs $@ $^

# ---- the freestanding buddy core ----------------------------------------------
# guest/ links these: no libc, no stack protector, no red zone (interrupts at
# CPL0 would clobber it). The relocatable link proves that nothing outside the
# core's files is needed but the four functions a freestanding C compiler may
# call on its own.
FREESTANDING_SRC := $(wildcard mm/buddy.c mm/buddy_*.c) mm/frame.c
FREESTANDING_OBJ := $(FREESTANDING_SRC:mm/%.c=$(BUILD)/freestanding/%.o)
FREESTANDING_CORE := $(BUILD)/freestanding/buddy-core.o
FREESTANDING_CFLAGS := -std=gnu11 -Wall -Wextra -Werror $(CFLAGS) \
	-ffreestanding -fno-builtin -fno-stack-protector -mno-red-zone
FREESTANDING_ALLOWED := memcpy memmove memset memcmp

$(BUILD)/freestanding/%.o: mm/%.c | $(DEPS_BUILD)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(FREESTANDING_CFLAGS) -MMD -MP -c $< -o $@

$(FREESTANDING_CORE): $(FREESTANDING_OBJ)
	$(CC) -nostdlib -r $^ -o $@
	@extra=$$(nm -u $@ | awk '{print $$NF}' | grep -vxF $(FREESTANDING_ALLOWED:%=-e %) || true); \
	if [ -n "$$extra" ]; then \
		echo "memvisor: buddy core is not freestanding: it calls" $$extra >&2; \
		rm -f $@; exit 1; \
	fi

# ---- test suites --------------------------------------------------------------
# Every directory tests/NAME/ with C files is a suite: build/tests/NAME.test,
# linked with Criterion and SUITE_LIBS_NAME (libraries it tests).
# tests/support/ is no suite: what every suite links (test_env.h); nor is
# tests/stress/, a program of its own (below, after the fragments).
SUITES     := $(filter-out support stress,$(patsubst tests/%/,%,$(sort $(dir $(wildcard tests/*/*.c)))))
TEST_SUPPORT_OBJ := $(patsubst %.c,$(BUILD)/%.o,$(wildcard tests/support/*.c))
SUITE_BINS := $(SUITES:%=$(BUILD)/tests/%.test)
SUITE_LIBS_mm := $(LIBMM)
TEST_FLAGS ?= --jobs 1
# A suite still running after this many seconds is stopped and fails.
SUITE_TIMEOUT ?= 600
# What the suites run under (check-asan sets the sanitizers' options).
TEST_ENV   ?=
HUGEPAGES  ?= 256

define suite_rule
$(BUILD)/tests/$(1).test: $(patsubst %.c,$(BUILD)/%.o,$(wildcard tests/$(1)/*.c)) $(TEST_SUPPORT_OBJ) $(SUITE_LIBS_$(1))
	@mkdir -p $$(dir $$@)
	$$(CC) $$(ALL_CFLAGS) $$(LDFLAGS) $$^ -o $$@ -lcriterion $$(LDLIBS)
endef
$(foreach s,$(SUITES),$(eval $(call suite_rule,$(s))))

hugepages:
	@tools/hugepages.sh $(HUGEPAGES)

# The Linux test guest (tests/linux/guest/): the script rebuilds only when
# one of its inputs changed (about 10 minutes on 2 CPUs), else copies the
# cached images (tools/linux-guest.sh says where).
LINUX_DIR := $(BUILD)/linux
.PHONY: linux-guest
linux-guest: | $(DEPS_BUILD) $(DEPS_LINUX)
	tools/linux-guest.sh $(LINUX_DIR)

# The house's arrows (README "The house"), from the includes and the
# objects' symbols: no circles, every tree within its bounds.
check-arrows: all
	tools/check-arrows.sh $(BUILD)

# Runs every suite even when one fails, then fails if any did; the arrows,
# the fresh-machine wrapper and the skip report are checked first, like suites. Skipped tests
# are counted per suite and summed up at the end (tools/skip-summary.sh), so a
# green run says what it did not test. The stress program runs last and
# counts like a suite; it needs no /dev/kvm, so it never skips.
# The suites of POLICY_SUITES and the stress program run again under each
# other slab policy (MEMVISOR_SLAB, read when the code leaves the policy to
# the default): the same tests, parameterised by the policy that serves them.
# The Linux guest's boots and the long balloon, reporting and soak runs (a
# minute or more each on a PVM host) stay with the default policy: our own
# guests boot, balloon and answer the monitor under every one. The sanitizer
# runs repeat the mm suite only.
SKIP_LOG := $(BUILD)/tests/skipped
STRESS_SECONDS ?= 5
OTHER_SLAB_POLICIES := slab slob
POLICY_SUITE_NAMES ?= mm vmm monitor
POLICY_SUITES = $(POLICY_SUITE_NAMES:%=$(BUILD)/tests/%.test)
POLICY_FILTER := --filter '!(linux_boot|balloon_e2e|reporting_linux|reporting_e2e|soak)/*'
test: all hugepages linux-guest $(DEPS_TEST)
	@failed=; tools/check-arrows.sh $(BUILD) || failed=" check-arrows"; \
	tools/check-dev-wrapper.sh || failed="$$failed check-dev-wrapper"; \
	tools/check-skip-report.sh || failed="$$failed check-skip-report"; \
	rm -f $(SKIP_LOG); \
	for t in $(SUITE_BINS); do \
		echo "== $$t"; \
		MEMVISOR_SKIP_LOG=$(SKIP_LOG) $(TEST_ENV) tools/run-suite.sh $(SUITE_TIMEOUT) $$t $(TEST_FLAGS) \
			|| failed="$$failed $$t"; \
	done; \
	echo "== $(STRESS) --seconds $(STRESS_SECONDS)"; \
	$(TEST_ENV) timeout --kill-after=5 $(SUITE_TIMEOUT) $(STRESS) --seconds $(STRESS_SECONDS) \
		|| failed="$$failed $(STRESS)"; \
	for p in $(OTHER_SLAB_POLICIES); do \
		for t in $(POLICY_SUITES); do \
			echo "== MEMVISOR_SLAB=$$p $$t"; \
			MEMVISOR_SLAB=$$p MEMVISOR_SKIP_LOG=$(SKIP_LOG) $(TEST_ENV) \
				tools/run-suite.sh $(SUITE_TIMEOUT) $$t $(POLICY_FILTER) $(TEST_FLAGS) \
				|| failed="$$failed $$t($$p)"; \
		done; \
		echo "== MEMVISOR_SLAB=$$p $(STRESS) --seconds $(STRESS_SECONDS)"; \
		MEMVISOR_SLAB=$$p $(TEST_ENV) timeout --kill-after=5 $(SUITE_TIMEOUT) $(STRESS) \
			--seconds $(STRESS_SECONDS) || failed="$$failed $(STRESS)($$p)"; \
	done; \
	tools/skip-summary.sh $(SKIP_LOG) || failed="$$failed skips"; \
	if [ -n "$$failed" ]; then echo "memvisor: failed suites:$$failed" >&2; exit 1; fi

# ---- benchmarks ---------------------------------------------------------------
# One peer source, one binary per malloc: the library linked before libc
# replaces malloc, and PEER_LIB is checked at run time to be where it came from.
BENCH_DIR := $(BUILD)/bench
PEERS     := glibc jemalloc mimalloc tcmalloc
PEER_LDLIBS_glibc    :=
PEER_LDLIBS_jemalloc := -ljemalloc
PEER_LDLIBS_mimalloc := -lmimalloc
PEER_LDLIBS_tcmalloc := -ltcmalloc_minimal
PEER_LIB_glibc    := libc.so
PEER_LIB_jemalloc := libjemalloc.so
PEER_LIB_mimalloc := libmimalloc.so
PEER_LIB_tcmalloc := libtcmalloc_minimal.so

$(BENCH_DIR)/memvisor-bench: $(BUILD)/tools/bench/memvisor.o $(LIBMM)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) $^ -o $@ $(LDLIBS)

$(BENCH_DIR)/peer-%: tools/bench/peer.c tools/bench/bench.h | $(DEPS_BUILD) $(DEPS_BENCH)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -DPEER_NAME='"$*"' -DPEER_LIB='"$(PEER_LIB_$*)"' \
		$(LDFLAGS) $< -o $@ $(PEER_LDLIBS_$*)

# The VMM side by side with QEMU microvm (tools/bench/boot.c); it runs the
# guest images with build/memvisor and qemu-system-x86_64.
$(BENCH_DIR)/boot: tools/bench/boot.c tools/bench/vm_child.h | $(DEPS_BUILD)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) $(LDFLAGS) $< -o $@

# The balloon side by side with QEMU microvm (tools/bench/balloon.c): the
# same guest/balloon.elf inflated over QMP under both. Its 1 GiB guest in
# zone Huge needs 528 free 2 MiB pages, so `make bench` asks the pool for
# BENCH_HUGEPAGES; when the host cannot give them, that column is skipped
# with the reason.
$(BENCH_DIR)/balloon: tools/bench/balloon.c tools/bench/balloon_vm.h tools/bench/vm_child.h | $(DEPS_BUILD)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) $(LDFLAGS) $< -o $@

# Free page reporting side by side with QEMU microvm (tools/bench/reporting.c):
# the same 1 GiB guest/balloon.elf writing and freeing 512 MiB, no target set.
$(BENCH_DIR)/reporting: tools/bench/reporting.c tools/bench/balloon_vm.h tools/bench/vm_child.h | $(DEPS_BUILD)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) $(LDFLAGS) $< -o $@

# The Linux test guest under memvisor and QEMU microvm (tools/bench/linux_boot.c).
$(BENCH_DIR)/linux_boot: tools/bench/linux_boot.c | $(DEPS_BUILD)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) $(LDFLAGS) $< -o $@

bench-build: $(BENCH_DIR)/memvisor-bench $(PEERS:%=$(BENCH_DIR)/peer-%) $(BENCH_DIR)/boot \
	$(BENCH_DIR)/balloon $(BENCH_DIR)/reporting $(BENCH_DIR)/linux_boot

BENCH_HUGEPAGES ?= 600
bench: HUGEPAGES = $(BENCH_HUGEPAGES)
bench: bench-build hugepages all linux-guest $(DEPS_TEST)
	tools/bench/run.sh $(BENCH_DIR)
	$(BENCH_DIR)/boot $(BUILD)
	$(BENCH_DIR)/balloon $(BUILD)
	$(BENCH_DIR)/reporting $(BUILD)
	$(BENCH_DIR)/linux_boot $(BUILD)

# ---- everything ---------------------------------------------------------------
all: $(LIBMM) $(FREESTANDING_CORE) $(SUITE_BINS) $(BENCH_DIR)/memvisor-bench

# ---- checks -------------------------------------------------------------------
SANITIZE_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
# Criterion runs each test in a worker process: aborting turns a sanitizer
# report into a crashed test, which fails the suite (a leak found when the
# worker exits too).
SANITIZE_ENV   := ASAN_OPTIONS=halt_on_error=1:abort_on_error=1:detect_leaks=1 \
	UBSAN_OPTIONS=halt_on_error=1:abort_on_error=1:print_stacktrace=1 \
	LSAN_OPTIONS=suppressions=$(CURDIR)/tools/lsan.supp

# The sanitizers make the suites two to three times slower, so each gets a
# limit of its own (above SUITE_TIMEOUT).
ASAN_SUITE_TIMEOUT ?= 900
# The sanitizer runs leave the Linux guest's boots out: their time is the
# guest kernel's (emulated on PVM, a minute a boot), and what they take of
# the VMM (the loaders, virtio, the balloon) our own guests take too, under
# the sanitizers.
SANITIZE_TEST_FLAGS := $(TEST_FLAGS) --filter '!(linux_boot/*|reporting_linux/*|*/linux_*)'
# clang's run leaves the long end-to-end runs of our own guests to gcc's
# too: what clang's UBSan adds is in the code both take in process.
SANITIZE_CLANG_TEST_FLAGS := $(TEST_FLAGS) \
	--filter '!(linux_boot/*|reporting_linux/*|*/linux_*|balloon_e2e/*|reporting_e2e/*|soak/*)'
check-asan:
	$(MAKE) BUILD=$(BUILD)/asan STAMPS=$(STAMPS) SANITIZE='$(SANITIZE_FLAGS)' \
		SUITE_TIMEOUT=$(ASAN_SUITE_TIMEOUT) TEST_ENV='$(SANITIZE_ENV)' POLICY_SUITE_NAMES=mm \
		TEST_FLAGS="$(SANITIZE_TEST_FLAGS)" test

# clang's UBSan checks what gcc's does not (pointer arithmetic on NULL, for
# one), so the suites run under both compilers' sanitizers.
check-asan-clang:
	@if command -v clang >/dev/null; then \
		$(MAKE) CC=clang BUILD=$(BUILD)/asan-clang STAMPS=$(STAMPS) SANITIZE='$(SANITIZE_FLAGS)' \
			SUITE_TIMEOUT=$(ASAN_SUITE_TIMEOUT) TEST_ENV='$(SANITIZE_ENV)' \
			POLICY_SUITE_NAMES=mm TEST_FLAGS="$(SANITIZE_CLANG_TEST_FLAGS)" test; \
	else \
		echo "check-asan-clang: clang is not installed, skipped (tools/deps.sh clang installs it)"; \
	fi

# ThreadSanitizer over the stress program (tests/stress/) only: Criterion
# cannot run under TSan (its workers' inheritable arena is mapped where TSan
# will not let it), so the suites stay with the other checks. Built with
# gcc, the house compiler, so it runs wherever the tree builds, before CI
# installs clang, and symbolizes its reports on its own. -Wno-tsan: gcc
# warns (and -Werror fails) that TSan does not model __atomic_thread_fence,
# and the per-thread frame caches' seqcount has two (mm/pcp.c). Nothing is
# lost: every field the seqcount's reader (the I1 check) reads while a
# cache's owner writes it is an atomic (frame state and flags, the cache's
# frame count), so TSan checks those accesses without the fences; the
# fences only order them for the seqcount's verdict. Any report stops the
# run and fails it. It runs once per slab policy, TSAN_SECONDS each.
TSAN_SANITIZE := -fsanitize=thread -Wno-tsan
TSAN_ENV      := TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1
TSAN_SECONDS  ?= 12
TSAN_TIMEOUT  ?= 300
check-tsan:
	$(MAKE) CC=gcc BUILD=$(BUILD)/tsan STAMPS=$(STAMPS) SANITIZE='$(TSAN_SANITIZE)' \
		$(BUILD)/tsan/tests/stress-threads
	for p in slub $(OTHER_SLAB_POLICIES); do \
		echo "== check-tsan: MEMVISOR_SLAB=$$p"; \
		MEMVISOR_SLAB=$$p $(TSAN_ENV) timeout --kill-after=5 $(TSAN_TIMEOUT) \
			$(BUILD)/tsan/tests/stress-threads --seconds $(TSAN_SECONDS) || exit 1; \
	done

check-clang:
	@if command -v clang >/dev/null; then \
		$(MAKE) CC=clang BUILD=$(BUILD)/clang STAMPS=$(STAMPS) all bench-build; \
	else \
		echo "check-clang: clang is not installed, skipped (tools/deps.sh clang installs it)"; \
	fi

# Sanitizer reports name functions and lines only through llvm-symbolizer,
# which clang merely recommends (llvm-14: tools/deps.sh clang). An empty path
# would turn symbolizing off, so the fuzz run refuses to start without one
# rather than report a finding as bare addresses.
SYMBOLIZER = $(firstword $(wildcard $(shell command -v llvm-symbolizer 2>/dev/null) \
	/usr/lib/llvm-14/bin/llvm-symbolizer))
.PHONY: symbolizer
symbolizer:
	@[ -n "$(SYMBOLIZER)" ] && "$(SYMBOLIZER)" --version >/dev/null || \
		{ echo "memvisor: no llvm-symbolizer, a sanitizer report would have no symbols" \
		       "(tools/deps.sh clang installs llvm-14)" >&2; exit 1; }
fuzz-run: symbolizer
fuzz-run: export ASAN_SYMBOLIZER_PATH = $(SYMBOLIZER)
fuzz-run: export UBSAN_SYMBOLIZER_PATH = $(SYMBOLIZER)
ifneq ($(SYMBOLIZER),)
check-asan check-asan-clang: export ASAN_SYMBOLIZER_PATH = $(SYMBOLIZER)
check-asan check-asan-clang: export UBSAN_SYMBOLIZER_PATH = $(SYMBOLIZER)
endif

clean:
	rm -rf $(BUILD)

# Header dependencies of this tree's objects (not of the check trees inside it).
-include $(shell find $(BUILD) \( -path $(BUILD)/asan -o -path $(BUILD)/asan-clang -o -path $(BUILD)/clang \
	-o -path $(BUILD)/tsan -o -path $(BUILD)/fuzz -o -path $(BUILD)/os \) -prune \
	-o -name '*.d' -print 2>/dev/null)

# ---- the VMM and the guests (their own fragments) -----------------------------
include $(wildcard guest/guest.mk vmm/vmm.mk tools/memvisorctl/memvisorctl.mk)

# ---- the concurrency stress program -------------------------------------------------
# tests/stress/ -> build/tests/stress-threads: the allocators' threads, the
# I1 checker and the monitor with its clients at once, for a bounded time
# (--seconds). `make test` runs it after the suites (so check-asan and
# check-asan-clang run it under their sanitizers), check-tsan under TSan.
# After the fragments: it links the libraries they define.
STRESS     := $(BUILD)/tests/stress-threads
STRESS_OBJ := $(patsubst %.c,$(BUILD)/%.o,$(wildcard tests/stress/*.c))

$(STRESS): $(STRESS_OBJ) $(LIBVMM) $(LIBMM) $(LIBQMPCLIENT)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) $^ -o $@ -ljansson $(LDLIBS)

all: $(STRESS)
