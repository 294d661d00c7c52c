# The guest images, included by the top Makefile: build/guest/NAME.elf for
# each image source below, each linked with the runtime (boot code, console,
# printf, command line, memory map, TSC, sleeping, fault report) by
# guest/guest.ld.
#
# Freestanding and static: no libc, no PIC, no stack protector, no red zone
# (the fault report runs C at CPL0 on the interrupted code's terms), and no
# SSE (-mgeneral-regs-only), so nothing depends on FPU state.

GUEST_IMAGES  := hello memtest fault remap idle flood balloon balloon_hostile
GUEST_RUNTIME := boot boot_shared pagetables start bootinfo memory console printf string cmdline exit tsc halt trap
GUEST_OBJDIR  := $(BUILD)/guest/obj
GUEST_ELFS    := $(GUEST_IMAGES:%=$(BUILD)/guest/%.elf)
GUEST_RT_OBJS := $(GUEST_RUNTIME:%=$(GUEST_OBJDIR)/%.o)

GUEST_CFLAGS := -Iinclude -std=gnu11 -Wall -Wextra -Werror $(CFLAGS) \
	-ffreestanding -fno-builtin -fno-stack-protector -mno-red-zone -mgeneral-regs-only \
	-fno-pic -fno-pie -fno-asynchronous-unwind-tables -fno-unwind-tables -fcf-protection=none
GUEST_LDFLAGS := -nostdlib -static -Wl,--build-id=none -Wl,--no-warn-rwx-segments \
	-T guest/guest.ld

$(GUEST_OBJDIR)/%.o: guest/%.c | $(DEPS_BUILD)
	@mkdir -p $(dir $@)
	$(CC) $(GUEST_CFLAGS) -MMD -MP -c $< -o $@

$(GUEST_OBJDIR)/%.o: guest/%.S | $(DEPS_BUILD)
	@mkdir -p $(dir $@)
	$(CC) $(GUEST_CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/guest/%.elf: $(GUEST_OBJDIR)/%.o $(GUEST_RT_OBJS) guest/guest.ld
	$(CC) $(GUEST_LDFLAGS) $(filter %.o,$^) -o $@

# The balloon images add the virtio-mmio and virtio-balloon drivers (with
# free page reporting), guest RAM
# managed by the buddy core from mm/ (built freestanding by the top
# Makefile), and XXH3 from the xxHash header. The buddy core is built
# without -mgeneral-regs-only and may use SSE registers: it runs only at
# CPL3, with SSE enabled by boot.S (CR4.OSFXSR), and the CPL0 fault path
# never touches them.
GUEST_BALLOON_OBJS := $(patsubst %,$(GUEST_OBJDIR)/%.o,virtio_mmio virtio_balloon free_report balloon_ram xxh3)
# balloon adds its churn workload; balloon_hostile abuses the same device
# on purpose.
$(BUILD)/guest/balloon.elf: $(GUEST_OBJDIR)/churn.o
$(BUILD)/guest/balloon_hostile.elf: $(GUEST_OBJDIR)/hostile_report.o
$(BUILD)/guest/balloon.elf $(BUILD)/guest/balloon_hostile.elf: $(GUEST_BALLOON_OBJS) $(FREESTANDING_CORE)

# Objects are made by a pattern chain; keep them so relinks stay cheap.
.SECONDARY: $(GUEST_RT_OBJS) $(GUEST_BALLOON_OBJS) $(GUEST_OBJDIR)/churn.o $(GUEST_OBJDIR)/hostile_report.o $(GUEST_IMAGES:%=$(GUEST_OBJDIR)/%.o)

all: $(GUEST_ELFS)

# The QEMU cross-check (tests/guest) finds the images here.
$(BUILD)/tests/guest/%.o: CPPFLAGS += -DGUEST_IMAGE_DIR='"$(BUILD)/guest"'
