# The VMM: every vmm/*.c but main.c goes into build/libvmm.a (which the vmm
# test suite links too), and build/memvisor is main.c on top of it and libmm.
#   make run     boots build/guest/hello.elf

LIBVMM   := $(BUILD)/libvmm.a
MEMVISOR := $(BUILD)/memvisor
VMM_SRC  := $(filter-out vmm/main.c,$(wildcard vmm/*.c))

$(LIBVMM): $(VMM_SRC:%.c=$(BUILD)/%.o)
	@mkdir -p $(dir $@)
	rm -f $@ && $(AR) rcs $@ $^

$(MEMVISOR): $(BUILD)/vmm/main.o $(LIBVMM) $(LIBMM)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) $^ -o $@ $(LDLIBS)

# The suite rules are made before this file is read, so the libraries are
# added to the suite's prerequisites here; the rule links all of them ($^).
SUITE_LIBS_vmm := $(LIBVMM) $(LIBMM)
$(BUILD)/tests/vmm.test: $(SUITE_LIBS_vmm)

all: $(LIBVMM) $(MEMVISOR)

.PHONY: run
run: $(DEPS_BUILD) all $(BUILD)/guest/hello.elf
	$(MEMVISOR) $(BUILD)/guest/hello.elf
