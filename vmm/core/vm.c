/*
 * Building and tearing down a VM. The order is chosen so that bad input
 * fails early and cheaply: the image and initrd are opened first, then guest
 * RAM is made and the image loaded (so a bad image is reported even on a
 * host without KVM), and only then is KVM opened. The struct vm and the
 * vCPUs live in the VM's own arena.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include "mm/kmalloc.h"
#include "mm/slab.h"
#include "abi/memvisor.h"
#include "vmm/memory/guest_ram.h"
#include "vmm/devices/virtio/balloon/balloon.h"
#include "vmm/monitor/balloon.h"
#include "vmm/core/vcpu.h"
#include "vmm/core/vm_internal.h"

struct vm_inputs {
	struct image image, initrd;
	bool have_initrd;
};

/* role: how the message names the file ("the image", "the initrd"). */
static int vm_open_file(const char *path, struct image *img, const char *role, char *err,
			size_t errlen)
{
	int rc = image_open(img, path);

	if (rc == -ENODATA)
		snprintf(err, errlen, "%s: %s is empty", path, role);
	else if (rc == -EINVAL)
		snprintf(err, errlen, "%s: %s is not a regular file", path, role);
	else if (rc)
		snprintf(err, errlen, "%s: cannot open %s: %s", path, role, strerror(-rc));
	return rc;
}

/* The balloon sits where QEMU microvm puts its first virtio-mmio device. */
#define VM_BALLOON_BASE (VIRTIO_MMIO_WINDOW_BASE + VIRTIO_MMIO_WINDOW_SIZE - VIRTIO_MMIO_DEV_SIZE)
#define VM_BALLOON_IRQ  VIRTIO_MMIO_FIRST_IRQ

static bool vm_has_balloon(const struct vm_config *cfg)
{
	return cfg->balloon != VM_BALLOON_NONE;
}

/*
 * The user's command line with the devices appended as QEMU microvm does
 * (virtio_mmio.device=SIZE@ADDR:IRQ), so one guest finds them in both VMMs.
 * From kmalloc; NULL if out of memory.
 */
static char *vm_cmdline(struct vm *vm)
{
	const char *user = vm->cfg.cmdline ? vm->cfg.cmdline : "";
	size_t len = strlen(user) + 64;
	char *s = kmalloc(vm->arena, len);

	if (!s)
		return NULL;
	if (vm_has_balloon(&vm->cfg))
		snprintf(s, len, "%s%svirtio_mmio.device=%llu@0x%llx:%u", user, *user ? " " : "",
			 (unsigned long long)VIRTIO_MMIO_DEV_SIZE,
			 (unsigned long long)VM_BALLOON_BASE, VM_BALLOON_IRQ);
	else
		snprintf(s, len, "%s", user);
	return s;
}

static int vm_load(struct vm *vm, struct vm_inputs *in, char *err, size_t errlen)
{
	struct boot_mem mem;
	char *cmdline = vm_cmdline(vm);
	struct boot_ctx ctx = { .mem = &mem, .cmdline = cmdline,
				.initrd = in->have_initrd ? &in->initrd : NULL };

	if (!cmdline) {
		snprintf(err, errlen, "command line: %s", strerror(ENOMEM));
		return -ENOMEM;
	}
	guest_ram_boot_mem(vm->gm, &mem);
	int rc = loader_load(&in->image, &ctx, &vm->entry);
	if (rc)
		snprintf(err, errlen, "%s: %s", vm->cfg.image, ctx.why);
	kfree(vm->arena, cmdline);
	return rc;
}

/*
 * A virtio-mmio interrupt line, level-triggered as the transport's
 * InterruptStatus is. A guest parked in the paravirtual halt is outside
 * KVM_RUN, so raising the line also kicks the vCPUs.
 */
static void vm_virtio_irq(void *arg, unsigned irq, int level)
{
	struct vm *vm = arg;
	struct kvm_irq_level l = { .irq = irq, .level = (uint32_t)level };

	static atomic_bool said;

	if (vm->kvm.vm_fd >= 0 && ioctl(vm->kvm.vm_fd, KVM_IRQ_LINE, &l) < 0 &&
	    !atomic_exchange(&said, true))
		fprintf(stderr, "memvisor: virtio-mmio IRQ %u: KVM_IRQ_LINE: %s (logged once)\n", irq,
			strerror(errno));
	if (!level)
		return;
	/* Once stopping, the vCPU threads are being joined: no more kicks
	 * (as in vm_finish). */
	pthread_mutex_lock(&vm->lock);
	for (unsigned i = 0; !vm->stopping && i < vm->nr_vcpus; i++)
		vcpu_kick(vm->vcpus[i]);
	pthread_mutex_unlock(&vm->lock);
}

/* The balloon, once the irqchip exists. Without ioeventfd the guest's
 * notifications reach it through MMIO exits instead. */
static int vm_create_balloon(struct vm *vm, char *err, size_t errlen)
{
	uint64_t target = vm->cfg.balloon_target_bytes;
	uint32_t pages = target && target < vm->cfg.mem_bytes ?
			 (uint32_t)((vm->cfg.mem_bytes - target) >> VIRTIO_BALLOON_PFN_SHIFT) : 0;

	if (!vm_has_balloon(&vm->cfg))
		return 0;
	int rc = virtio_balloon_create(vm->arena, vm->gm, VM_BALLOON_BASE, VM_BALLOON_IRQ,
				       vm_virtio_irq, vm, pages, &vm->balloon);
	if (rc) {
		snprintf(err, errlen, "the balloon device: %s", strerror(-rc));
		return rc;
	}
	virtio_mmio_notifier_start(&vm->balloon_notify, virtio_balloon_mmio(vm->balloon),
				   vm->kvm.vm_fd);
	/* The monitor finds the device under the VM, its target's ctx. */
	rc = monitor_balloon_attach(vm, vm->balloon, vm->gm);
	if (rc)
		snprintf(err, errlen, "the balloon device: %s", strerror(-rc));
	return rc;
}

struct virtio_balloon *vm_balloon(struct vm *vm)
{
	return vm->balloon;
}

static int vm_create_vcpus(struct vm *vm, char *err, size_t errlen)
{
	if (vm->cfg.cpus > vm->kvm.max_vcpus) {
		snprintf(err, errlen, "--cpus %u: KVM allows at most %u", vm->cfg.cpus,
			 vm->kvm.max_vcpus);
		return -EINVAL;
	}
	struct slab_cache_params p = { .size = sizeof(struct vcpu) };
	vm->vcpu_cache = slab_cache_create(vm->arena, "vcpu", &p);
	vm->vcpus = kvzalloc(vm->arena, vm->cfg.cpus * sizeof(*vm->vcpus));
	if (!vm->vcpu_cache || !vm->vcpus) {
		snprintf(err, errlen, "vCPUs: %s", strerror(ENOMEM));
		return -ENOMEM;
	}
	for (unsigned i = 0; i < vm->cfg.cpus; i++) {
		int rc = vcpu_create(vm, i, &vm->vcpus[i]);
		if (rc) {
			snprintf(err, errlen, "vCPU %u: %s", i, strerror(-rc));
			return rc;
		}
		vm->nr_vcpus++;
	}
	int rc = vcpu_set_boot_state(vm->vcpus[0]);
	if (rc)
		snprintf(err, errlen, "vCPU 0: setting the boot registers: %s", strerror(-rc));
	return rc;
}

/* Everything that needs KVM. */
static int vm_create_kvm(struct vm *vm, char *err, size_t errlen)
{
	char why[256];
	int rc = kvm_open(&vm->kvm, vm->cfg.kvm_device, vm->arena, why, sizeof(why));

	if (rc) {
		snprintf(err, errlen, "%s: %s", vm->cfg.kvm_device, why);
		return rc;
	}
	rc = guest_mem_register(vm->gm, vm->kvm.vm_fd);
	if (rc) {
		snprintf(err, errlen, "guest RAM: registering with KVM: %s", strerror(-rc));
		return rc;
	}
	rc = kvm_create_devices(&vm->kvm, why, sizeof(why));
	if (rc) {
		snprintf(err, errlen, "%s: %s", vm->cfg.kvm_device, why);
		return rc;
	}
	rc = vm_create_balloon(vm, err, errlen);
	if (rc)
		return rc;
	return vm_create_vcpus(vm, err, errlen);
}

/* The UART's interrupt line, through the in-kernel irqchip. */
static void vm_uart_irq(void *arg, int level)
{
	struct vm *vm = arg;
	struct kvm_irq_level irq = { .irq = UART_IRQ, .level = (uint32_t)level };

	if (vm->kvm.vm_fd >= 0 && ioctl(vm->kvm.vm_fd, KVM_IRQ_LINE, &irq) < 0)
		unhandled_note(&vm->unhandled, UNHANDLED_BAD_REQUEST, ABI_PORT_UART);
}

static struct vm *vm_alloc(const struct vm_config *cfg, const struct vm_hooks *hooks,
			   struct mm_arena *a, bool own_arena)
{
	struct vm *vm = kzalloc(a, sizeof(*vm));

	if (!vm)
		return NULL;
	vm->cfg = *cfg;
	if (hooks)
		vm->hooks = *hooks;
	vm->arena = a;
	vm->own_arena = own_arena;
	vm->kvm = (struct kvm){ .sys_fd = -1, .vm_fd = -1, .arena = a };
	vm->balloon_notify.stop_fd = -1;
	vm->done_fd = eventfd(0, EFD_CLOEXEC);
	console_init(&vm->console, cfg->out_fd);
	uart_init(&vm->uart, &vm->console, vm_uart_irq, vm);
	pthread_mutex_init(&vm->lock, NULL);
	pthread_cond_init(&vm->cond, NULL);
	if (vm->done_fd < 0 || unhandled_init(&vm->unhandled, a)) {
		vm->own_arena = false;      /* the caller still owns it */
		vm_destroy(vm);
		return NULL;
	}
	return vm;
}

int vm_create(const struct vm_config *cfg, const struct vm_hooks *hooks, struct vm **out,
	      char *err, size_t errlen)
{
	struct vm_inputs in = { .image.fd = -1, .initrd.fd = -1 };
	struct mm_arena *a = hooks ? hooks->arena : NULL;
	struct vm *vm = NULL;
	char why[256];
	int rc = vm_open_file(cfg->image, &in.image, "the image", err, errlen);

	if (!rc && cfg->initrd) {
		rc = vm_open_file(cfg->initrd, &in.initrd, "the initrd", err, errlen);
		in.have_initrd = !rc;
	}
	if (!rc && !a)
		rc = guest_ram_arena(cfg, &a, err, errlen);
	if (!rc) {
		vm = vm_alloc(cfg, hooks, a, !(hooks && hooks->arena));
		rc = vm ? 0 : -ENOMEM;
		if (!vm) {
			snprintf(err, errlen, "VM: %s", strerror(ENOMEM));
			if (!(hooks && hooks->arena))
				mm_arena_destroy(a);
		}
	}
	if (!rc) {
		rc = guest_mem_create(a, cfg->mem_bytes, cfg->hugepages, &vm->gm, why, sizeof(why));
		if (rc)
			snprintf(err, errlen, "guest RAM of %llu MiB: %s",
				 (unsigned long long)(cfg->mem_bytes >> 20), why);
	}
	if (!rc)
		rc = vm_load(vm, &in, err, errlen);
	if (!rc)
		rc = vm_create_kvm(vm, err, errlen);
	image_close(&in.image);
	image_close(&in.initrd);
	if (rc && vm)
		vm_destroy(vm);
	if (!rc)
		*out = vm;
	return rc;
}

void vm_destroy(struct vm *vm)
{
	if (!vm)
		return;
	struct mm_arena *a = vm->arena;
	bool own = vm->own_arena;
	/* The device thread first: it may kick vCPUs that are about to go.
	 * Without its ioeventfds, notifies arrive as MMIO exits. */
	virtio_mmio_notifier_stop(&vm->balloon_notify);
	for (unsigned i = 0; i < vm->nr_vcpus; i++)
		vcpu_join(vm->vcpus[i]);
	for (unsigned i = 0; i < vm->nr_vcpus; i++)
		vcpu_destroy(vm->vcpus[i]);
	if (vm->vcpus)
		kvfree(a, vm->vcpus);
	/* After the vCPUs: an MMIO exit may still reach the device. */
	monitor_balloon_detach(vm);
	virtio_balloon_destroy(vm->balloon);
	/* Closing the VM drops its memslots before the views go away. */
	kvm_close(&vm->kvm);
	if (vm->gm)
		guest_mem_destroy(vm->gm);
	if (vm->vcpu_cache)
		slab_cache_destroy(vm->vcpu_cache);
	unhandled_destroy(&vm->unhandled);
	uart_destroy(&vm->uart);
	console_destroy(&vm->console);
	pthread_cond_destroy(&vm->cond);
	pthread_mutex_destroy(&vm->lock);
	if (vm->done_fd >= 0)
		close(vm->done_fd);
	kfree(a, vm);
	if (own)
		mm_arena_destroy(a);
}

struct guest_mem *vm_guest_mem(struct vm *vm)
{
	return vm->gm;
}

struct mm_arena *vm_arena(struct vm *vm)
{
	return vm->arena;
}

const struct boot_entry *vm_boot_entry(const struct vm *vm)
{
	return &vm->entry;
}
