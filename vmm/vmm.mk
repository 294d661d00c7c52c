# The VMM: every C file under vmm/ but main.c and the benchmark programs of
# vmm/bench/ goes into build/libvmm.a (which the vmm test suite links too), and
# build/memvisor is main.c on top of it and libmm.
#   make run     boots build/guest/hello.elf

LIBVMM   := $(BUILD)/libvmm.a
MEMVISOR := $(BUILD)/memvisor
VMM_SRC  := $(filter-out vmm/main.c vmm/bench/%,$(shell find vmm -name '*.c'))

$(LIBVMM): $(VMM_SRC:%.c=$(BUILD)/%.o)
	@mkdir -p $(dir $@)
	rm -f $@ && $(AR) rcs $@ $^

# --domain reaches libvirt and its libxml2 through dlopen, so nothing is
# linked for them; only libxml2's headers need a path. Deferred (=) so that
# pkg-config runs after the packages are installed.
DOMAIN_XML_CPPFLAGS = $(shell pkg-config --cflags libxml-2.0)
$(BUILD)/vmm/config/domain/%.o: CPPFLAGS += $(DOMAIN_XML_CPPFLAGS)

$(MEMVISOR): $(BUILD)/vmm/main.o $(LIBVMM) $(LIBMM)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) $^ -o $@ $(LDLIBS)
# The monitor decodes and encodes QMP's JSON with jansson (libjansson-dev).
$(MEMVISOR): LDLIBS += -ljansson

# The suite rules are made before this file is read, so the libraries are
# added to the suite's prerequisites here; the rule links all of them ($^).
SUITE_LIBS_vmm := $(LIBVMM) $(LIBMM)
$(BUILD)/tests/vmm.test: $(SUITE_LIBS_vmm)
# The suite injects mmap failures into libvmm and libmm (tests/vmm/mmap_inject.h).
$(BUILD)/tests/vmm.test: LDFLAGS += -Wl,--wrap=mmap
# The monitor suite drives QMP sessions in process (libvmm's qmp*.c on a
# real arena) and runs build/memvisor --monitor; other fragments add to it.
SUITE_LIBS_monitor += $(LIBVMM) $(LIBMM)
$(BUILD)/tests/monitor.test: $(LIBVMM) $(LIBMM)
$(BUILD)/tests/monitor.test: LDLIBS += -ljansson

all: $(LIBVMM) $(MEMVISOR)

# The compaction benchmark (vmm/bench/compact_bench.c): guest memory in
# process, no KVM; tools/bench/run.sh runs it beside memvisor-bench.
$(BENCH_DIR)/compact-bench: $(BUILD)/vmm/bench/compact_bench.o $(LIBVMM) $(LIBMM)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) $^ -o $@ $(LDLIBS)
bench-build: $(BENCH_DIR)/compact-bench

.PHONY: run
run: $(DEPS_BUILD) all $(BUILD)/guest/hello.elf
	$(MEMVISOR) $(BUILD)/guest/hello.elf

# ---- fuzz targets ------------------------------------------------------------------
#   make fuzz       build/fuzz/NAME_fuzz for each of FUZZ_TARGETS: libFuzzer (clang),
#                   everything built again in build/fuzz/ with coverage, ASan and
#                   UBSan. monitor: the bytes a QMP client sends; balloon: what a
#                   guest does to its balloon (registers, rings, PFNs); slab: a
#                   program of cache, kmalloc and kvmalloc calls on one or two
#                   threads, under each slab policy, against a model of the live objects
#   make fuzz-run   runs each for FUZZ_SECONDS (60) from the seeds in
#                   fuzz/corpus/NAME; what it learns goes to build/fuzz/corpus/NAME,
#                   never into the kept seeds
FUZZ_TARGETS := monitor balloon slab
FUZZ_SECONDS ?= 60
FUZZ_SANITIZE := -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer \
	-fno-sanitize-recover=all

.PHONY: fuzz fuzz-run
fuzz:
	@command -v clang >/dev/null || { echo "fuzz: needs clang (tools/deps.sh clang)" >&2; exit 1; }
	$(MAKE) CC=clang BUILD=$(BUILD)/fuzz STAMPS=$(STAMPS) SANITIZE='$(FUZZ_SANITIZE)' \
		$(FUZZ_TARGETS:%=$(BUILD)/fuzz/%_fuzz)

# Made by the sub-make above, where BUILD is the fuzz tree.
$(BUILD)/%_fuzz: $(BUILD)/fuzz/%_fuzz.o $(LIBVMM) $(LIBMM)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -fsanitize=fuzzer $^ -o $@ $(LDLIBS) -ljansson

fuzz-run: fuzz
	@for t in $(FUZZ_TARGETS); do \
		mkdir -p $(BUILD)/fuzz/corpus/$$t && \
		echo "== fuzz: $$t for $(FUZZ_SECONDS) s" && \
		$(BUILD)/fuzz/$${t}_fuzz -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
			-artifact_prefix=$(BUILD)/fuzz/$$t- $(BUILD)/fuzz/corpus/$$t fuzz/corpus/$$t \
			|| exit 1; \
	done
