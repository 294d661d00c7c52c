/*
 * The one table of the devices a VM may have, in the order they are
 * created and asked about an access: the legacy ports first (the UART,
 * memvisor's paravirtual ports, the CMOS clock), then virtio-mmio. Each type says itself
 * whether a configuration wants it; the rest of the core names no device.
 */
#include "vmm/core/vm_internal.h"
#include "vmm/devices/legacy/cmos.h"
#include "vmm/devices/legacy/pvports.h"
#include "vmm/devices/legacy/uart.h"
#include "vmm/devices/virtio/balloon/balloon.h"

const struct device_type *const vm_device_types[] = {
	&uart_device,
	&pvports_device,
	&cmos_device,
	&virtio_balloon_device,
	NULL,
};
