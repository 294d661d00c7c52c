/*
 * The PC's CMOS real-time clock at ports 0x70 (index) and 0x71 (data), as a
 * device of the VM (cmos.c): the host's time of day, never "update in
 * progress". A Linux kernel reads the wall clock there at boot; with
 * nothing at those ports it sees the update flag set forever and polls
 * about ten thousand times before it gives up, each poll two port exits.
 */
#ifndef VMM_DEVICES_LEGACY_CMOS_H
#define VMM_DEVICES_LEGACY_CMOS_H

#include <stdint.h>
#include <time.h>
#include "vmm/devices/device.h"

#define CMOS_PORT_INDEX 0x70
#define CMOS_PORT_DATA  0x71

/* Register reg of a clock showing t (UTC), in the BCD, 24-hour format the
 * device reports; 0 for registers it does not keep. */
uint8_t cmos_register(uint8_t reg, time_t t);

extern const struct device_type cmos_device;

#endif
