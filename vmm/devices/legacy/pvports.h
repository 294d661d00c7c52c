/*
 * memvisor's paravirtual ports and QEMU's isa-debug-exit port
 * (include/abi/memvisor.h), as a device of the VM (pvports.c).
 */
#ifndef VMM_DEVICES_PVPORTS_H
#define VMM_DEVICES_PVPORTS_H

#include "vmm/devices/device.h"

extern const struct device_type pvports_device;

#endif
