/*
 * The balloon as a device of the VM (device.h): where it sits (QEMU
 * microvm's first virtio-mmio slot, so one guest driver finds it under both
 * VMMs), the command-line entry that tells the guest so, its interrupt line
 * and the device thread that serves its queues through ioeventfds. The
 * device model itself is balloon.c.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include "mm/kmalloc.h"
#include "vmm/devices/virtio/balloon/balloon.h"
#include "vmm/devices/virtio/mmio_notify.h"

#define BALLOON_BASE (VIRTIO_MMIO_WINDOW_BASE + VIRTIO_MMIO_WINDOW_SIZE - VIRTIO_MMIO_DEV_SIZE)
#define BALLOON_IRQ  VIRTIO_MMIO_FIRST_IRQ

struct balloon_device {
	struct virtio_balloon *balloon;
	struct virtio_mmio_notifier notify;
	const struct device_host *host;
};

static bool balloon_wanted(const struct vm_config *cfg)
{
	return cfg->balloon != VM_BALLOON_NONE;
}

/* virtio_mmio.device=SIZE@ADDR:IRQ, as QEMU microvm appends it. */
static size_t balloon_cmdline(const struct vm_config *cfg, char *buf, size_t len)
{
	(void)cfg;
	return (size_t)snprintf(buf, len, " virtio_mmio.device=%llu@0x%llx:%u",
				(unsigned long long)VIRTIO_MMIO_DEV_SIZE,
				(unsigned long long)BALLOON_BASE, BALLOON_IRQ);
}

/*
 * The transport's line, level-triggered as its InterruptStatus is. A guest
 * parked in the paravirtual halt is outside KVM_RUN, so raising the line
 * also wakes the vCPUs.
 */
static void balloon_irq(void *arg, unsigned irq, int level)
{
	struct balloon_device *d = arg;
	const struct device_host *h = d->host;
	static atomic_bool said;

	int rc = h->irq ? h->irq(h->ctx, irq, level) : 0;
	if (rc < 0 && !atomic_exchange(&said, true))
		out_stream_printf(h->log, "memvisor: virtio-mmio IRQ %u: KVM_IRQ_LINE: %s (logged once)\n",
				  irq, strerror(-rc));
	if (level && h->wake)
		h->wake(h->ctx);
}

/* The initial target: what the domain's <currentMemory> leaves out. */
static uint32_t balloon_initial_pages(const struct vm_config *cfg)
{
	uint64_t target = cfg->balloon_target_bytes;

	return target && target < cfg->mem_bytes ?
	       (uint32_t)((cfg->mem_bytes - target) >> VIRTIO_BALLOON_PFN_SHIFT) : 0;
}

/* Without ioeventfd (no KVM, or it refused) the guest's notifications
 * reach the device through MMIO exits instead. */
static int balloon_create(const struct device_host *host, const struct vm_config *cfg,
			  void **state, char *err, size_t errlen)
{
	struct balloon_device *d = kzalloc(host->arena, sizeof(*d));

	(void)err;
	(void)errlen;
	if (!d)
		return -ENOMEM;
	d->host = host;
	d->notify.stop_fd = -1;
	int rc = virtio_balloon_create(host->arena, host->gm, BALLOON_BASE, BALLOON_IRQ, balloon_irq,
				       d, balloon_initial_pages(cfg), cfg->balloon_reporting != VM_SWITCH_OFF,
				       &d->balloon);
	if (rc) {
		kfree(host->arena, d);
		return rc;
	}
	if (host->vm_fd >= 0)
		virtio_mmio_notifier_start(&d->notify, virtio_balloon_mmio(d->balloon), host->vm_fd);
	*state = d;
	return 0;
}

static void balloon_quiesce(void *state)
{
	struct balloon_device *d = state;

	virtio_mmio_notifier_stop(&d->notify);
}

static void balloon_destroy(void *state)
{
	struct balloon_device *d = state;

	virtio_mmio_notifier_stop(&d->notify);
	virtio_balloon_destroy(d->balloon);
	kfree(d->host->arena, d);
}

static bool balloon_mmio_claims(void *state, uint64_t gpa)
{
	struct balloon_device *d = state;

	return virtio_mmio_claims(virtio_balloon_mmio(d->balloon), gpa);
}

static void balloon_mmio(void *state, uint64_t gpa, bool write, uint8_t *data, unsigned len)
{
	struct balloon_device *d = state;

	virtio_mmio_access(virtio_balloon_mmio(d->balloon), gpa, write, data, len);
}

struct virtio_balloon *virtio_balloon_of(const struct device *dev)
{
	const struct balloon_device *d = dev ? device_state(dev) : NULL;

	return d ? d->balloon : NULL;
}

const struct device_type virtio_balloon_device = {
	.name = VIRTIO_BALLOON_DEVICE_NAME,
	.wanted = balloon_wanted,
	.cmdline = balloon_cmdline,
	.create = balloon_create,
	.quiesce = balloon_quiesce,
	.destroy = balloon_destroy,
	.mmio_claims = balloon_mmio_claims,
	.mmio = balloon_mmio,
};
