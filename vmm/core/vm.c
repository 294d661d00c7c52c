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
#include <unistd.h>
#include "mm/kmalloc.h"
#include "mm/mm.h"
#include "mm/slab.h"
#include "vmm/core/vcpu.h"
#include "vmm/core/vm_internal.h"
#include "vmm/core/vm_load.h"
#include "vmm/core/vm_proactive.h"
#include "vmm/memory/arena_size.h"
#include "vmm/memory/guest_prealloc.h"

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

/* --prealloc: all guest RAM backed before anything runs, said on the log
 * when it takes long enough for a user to wonder. */
static int vm_prealloc(struct vm *vm, char *err, size_t errlen)
{
	struct guest_prealloc_result res;
	uint64_t bytes = guest_mem_ram_bytes(vm->gm);

	if (bytes >= GUEST_PREALLOC_ANNOUNCE)
		out_stream_printf(&vm->out->log, "memvisor: preallocating %llu MiB of guest RAM\n",
				  (unsigned long long)(bytes >> 20));
	int rc = guest_mem_prealloc(vm->gm, 0, &res);
	if (rc) {
		snprintf(err, errlen, "--prealloc: backing %llu MiB of guest RAM: %s",
			 (unsigned long long)(bytes >> 20), strerror(-rc));
		return rc;
	}
	if (bytes >= GUEST_PREALLOC_ANNOUNCE)
		out_stream_printf(&vm->out->log, "memvisor: preallocated %llu MiB in %.0f ms on %u threads\n",
				  (unsigned long long)(res.bytes >> 20), res.ms, res.threads);
	return 0;
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
	vm_host_init(vm);
	rc = device_set_create(vm_device_types, &vm->host, &vm->cfg, &vm->devices, err, errlen);
	if (rc)
		return rc;
	return vm_create_vcpus(vm, err, errlen);
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
	vm->done_fd = eventfd(0, EFD_CLOEXEC);
	vm->out = kzalloc(a, sizeof(*vm->out));
	pthread_mutex_init(&vm->lock, NULL);
	pthread_cond_init(&vm->cond, NULL);
	if (vm->done_fd < 0 || !vm->out || unhandled_init(&vm->unhandled, a, &vm->out->log)) {
		vm->own_arena = false;      /* the caller still owns it */
		vm_destroy(vm);
		return NULL;
	}
	return vm;
}

int vm_create(const struct vm_config *cfg, const struct vm_hooks *hooks, struct vm **out,
	      char *err, size_t errlen)
{
	struct vm_inputs in;
	struct mm_arena *a = hooks ? hooks->arena : NULL;
	struct vm *vm = NULL;
	char why[256];
	int rc = vm_inputs_open(cfg, &in, err, errlen);

	if (!rc && !a)
		rc = arena_size_create(cfg, &a, err, errlen);
	if (!rc) {
		vm = vm_alloc(cfg, hooks, a, !(hooks && hooks->arena));
		rc = vm ? 0 : -ENOMEM;
		if (!vm) {
			snprintf(err, errlen, "VM: %s", strerror(ENOMEM));
			if (!(hooks && hooks->arena))
				mm_destroy(a);
		}
	}
	if (!rc) {
		rc = guest_mem_create(a, cfg->mem_bytes, cfg->hugepages, &vm->gm, why, sizeof(why));
		if (rc)
			snprintf(err, errlen, "guest RAM of %llu MiB: %s",
				 (unsigned long long)(cfg->mem_bytes >> 20), why);
	}
	/* After guest RAM, which is laid out first in a fresh arena. */
	if (!rc) {
		rc = console_init(&vm->out->console, cfg->out_fd, a);
		if (!rc)
			rc = out_stream_init(&vm->out->log, STDERR_FILENO, VM_LOG_BUFFER, a);
		if (rc)
			snprintf(err, errlen, "console and log buffers: %s", strerror(-rc));
	}
	/* Its state only; vm_run starts the thread with the vCPUs. */
	if (!rc && cfg->compaction_proactiveness) {
		vm->proactive = vm_proactive_create(a, cfg->compaction_proactiveness,
						    VM_PROACTIVE_PERIOD_NS);
		if (!vm->proactive) {
			rc = -ENOMEM;
			snprintf(err, errlen, "--compaction-proactiveness: %s", strerror(ENOMEM));
		}
	}
	if (!rc && cfg->prealloc)
		rc = vm_prealloc(vm, err, errlen);
	if (!rc)
		rc = vm_load(vm, &in, err, errlen);
	if (!rc)
		rc = vm_create_kvm(vm, err, errlen);
	vm_inputs_close(&in);
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
	/* The device threads first: they may kick vCPUs that are about to
	 * go. Without their ioeventfds, notifies arrive as MMIO exits. */
	device_set_quiesce(vm->devices);
	/* Before the vCPUs and the guest memory it compacts; after the
	 * monitor, which reads its counters (main.c). */
	vm_proactive_destroy(vm->proactive);
	vm->proactive = NULL;
	for (unsigned i = 0; i < vm->nr_vcpus; i++)
		vcpu_join(vm->vcpus[i]);
	for (unsigned i = 0; i < vm->nr_vcpus; i++)
		vcpu_destroy(vm->vcpus[i]);
	if (vm->vcpus)
		kvfree(a, vm->vcpus);
	/* After the vCPUs: an MMIO exit may still reach a device. Waits for
	 * the references other threads hold. */
	device_set_destroy(vm->devices);
	/* Closing the VM drops its memslots before the views go away. */
	kvm_close(&vm->kvm);
	if (vm->gm)
		guest_mem_destroy(vm->gm);
	if (vm->vcpu_cache)
		slab_cache_destroy(vm->vcpu_cache, "vcpu");
	unhandled_destroy(&vm->unhandled);
	if (vm->out) {
		console_destroy(&vm->out->console, VM_OUTPUT_DRAIN_MS);
		out_stream_destroy(&vm->out->log, VM_OUTPUT_DRAIN_MS);
		kfree(a, vm->out);
	}
	pthread_cond_destroy(&vm->cond);
	pthread_mutex_destroy(&vm->lock);
	if (vm->done_fd >= 0)
		close(vm->done_fd);
	kfree(a, vm);
	if (own)
		mm_destroy(a);
}

struct guest_mem *vm_guest_mem(struct vm *vm)
{
	return vm->gm;
}

struct mm_arena *vm_arena(struct vm *vm)
{
	return vm->arena;
}
