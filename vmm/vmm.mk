# The VMM: every vmm/*.c but main.c goes into build/libvmm.a (which the vmm
# test suite links too), and build/memvisor is main.c on top of it and libmm.
#   make run     boots build/guest/hello.elf

LIBVMM   := $(BUILD)/libvmm.a
MEMVISOR := $(BUILD)/memvisor
VMM_SRC  := $(filter-out vmm/main.c,$(wildcard vmm/*.c))

$(LIBVMM): $(VMM_SRC:%.c=$(BUILD)/%.o)
	@mkdir -p $(dir $@)
	rm -f $@ && $(AR) rcs $@ $^

# --domain reaches libvirt and its libxml2 through dlopen, so nothing is
# linked for them; only libxml2's headers need a path. Deferred (=) so that
# pkg-config runs after the packages are installed.
DOMAIN_XML_CPPFLAGS = $(shell pkg-config --cflags libxml-2.0)
$(BUILD)/vmm/domain%.o: CPPFLAGS += $(DOMAIN_XML_CPPFLAGS)

$(MEMVISOR): $(BUILD)/vmm/main.o $(LIBVMM) $(LIBMM)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) $^ -o $@ $(LDLIBS)
# The monitor decodes and encodes QMP's JSON with jansson (libjansson-dev).
$(MEMVISOR): LDLIBS += -ljansson

# The suite rules are made before this file is read, so the libraries are
# added to the suite's prerequisites here; the rule links all of them ($^).
SUITE_LIBS_vmm := $(LIBVMM) $(LIBMM)
$(BUILD)/tests/vmm.test: $(SUITE_LIBS_vmm)
# The monitor suite drives QMP sessions in process (libvmm's qmp*.c on a
# real arena) and runs build/memvisor --monitor; other fragments add to it.
SUITE_LIBS_monitor += $(LIBVMM) $(LIBMM)
$(BUILD)/tests/monitor.test: $(LIBVMM) $(LIBMM)
$(BUILD)/tests/monitor.test: LDLIBS += -ljansson

all: $(LIBVMM) $(MEMVISOR)

.PHONY: run
run: $(DEPS_BUILD) all $(BUILD)/guest/hello.elf
	$(MEMVISOR) $(BUILD)/guest/hello.elf

# ---- the monitor's fuzz target --------------------------------------------------
#   make fuzz       build/fuzz/monitor_fuzz: libFuzzer (clang) on the QMP session
#                   input path, everything built again in build/fuzz/ with
#                   coverage, ASan and UBSan
#   make fuzz-run   runs it for FUZZ_SECONDS (60) from the seeds in
#                   fuzz/corpus/monitor; what it learns goes to build/fuzz/corpus,
#                   never into the kept seeds
FUZZ_SECONDS ?= 60
FUZZ_SANITIZE := -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer \
	-fno-sanitize-recover=all

.PHONY: fuzz fuzz-run
fuzz:
	@command -v clang >/dev/null || { echo "fuzz: needs clang (tools/deps.sh clang)" >&2; exit 1; }
	$(MAKE) CC=clang BUILD=$(BUILD)/fuzz STAMPS=$(STAMPS) SANITIZE='$(FUZZ_SANITIZE)' \
		$(BUILD)/fuzz/monitor_fuzz

# Made by the sub-make above, where BUILD is the fuzz tree.
$(BUILD)/monitor_fuzz: $(BUILD)/fuzz/monitor_fuzz.o $(LIBVMM) $(LIBMM)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -fsanitize=fuzzer $^ -o $@ $(LDLIBS) -ljansson

fuzz-run: fuzz
	@mkdir -p $(BUILD)/fuzz/corpus
	$(BUILD)/fuzz/monitor_fuzz -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
		-artifact_prefix=$(BUILD)/fuzz/ $(BUILD)/fuzz/corpus fuzz/corpus/monitor
