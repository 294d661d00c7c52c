/*
 * The CMOS RTC (cmos.h). Reads only: the clock is the host's (UTC), in BCD
 * with 24-hour hours (status B 0x02), status A without the update flag,
 * status D saying the clock is valid. Writes of the index pick a register
 * (bit 7 is the NMI mask, ignored); writes of data are dropped, as a guest
 * setting the clock cannot change the host's. The index is per VM, behind
 * a lock, since any vCPU may use it.
 */
#include <errno.h>
#include <pthread.h>
#include "mm/kmalloc.h"
#include "vmm/devices/legacy/cmos.h"

enum {
	CMOS_SECONDS = 0x00, CMOS_MINUTES = 0x02, CMOS_HOURS = 0x04, CMOS_WEEKDAY = 0x06,
	CMOS_DAY = 0x07, CMOS_MONTH = 0x08, CMOS_YEAR = 0x09, CMOS_STATUS_A = 0x0a,
	CMOS_STATUS_B = 0x0b, CMOS_STATUS_C = 0x0c, CMOS_STATUS_D = 0x0d, CMOS_CENTURY = 0x32,
};

struct cmos {
	struct mm_arena *arena;
	pthread_mutex_t lock;
	uint8_t index;
};

static uint8_t bcd(int v)
{
	return (uint8_t)((v / 10) << 4 | v % 10);
}

uint8_t cmos_register(uint8_t reg, time_t t)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	switch (reg) {
	case CMOS_SECONDS: return bcd(tm.tm_sec > 59 ? 59 : tm.tm_sec);
	case CMOS_MINUTES: return bcd(tm.tm_min);
	case CMOS_HOURS: return bcd(tm.tm_hour);
	case CMOS_WEEKDAY: return bcd(tm.tm_wday + 1);
	case CMOS_DAY: return bcd(tm.tm_mday);
	case CMOS_MONTH: return bcd(tm.tm_mon + 1);
	case CMOS_YEAR: return bcd(tm.tm_year % 100);
	case CMOS_CENTURY: return bcd((tm.tm_year + 1900) / 100);
	case CMOS_STATUS_A: return 0x26;   /* 32.768 kHz base, 1024 Hz rate, no update */
	case CMOS_STATUS_B: return 0x02;   /* 24-hour, BCD, no interrupts */
	case CMOS_STATUS_D: return 0x80;   /* valid RAM and time */
	default: return 0;
	}
}

static bool cmos_wanted(const struct vm_config *cfg)
{
	(void)cfg;
	return true;
}

static int cmos_create(const struct device_host *host, const struct vm_config *cfg, void **state,
		       char *err, size_t errlen)
{
	(void)cfg;
	(void)err;
	(void)errlen;
	struct cmos *c = kzalloc(host->arena, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->arena = host->arena;
	pthread_mutex_init(&c->lock, NULL);
	*state = c;
	return 0;
}

static void cmos_destroy(void *state)
{
	struct cmos *c = state;

	pthread_mutex_destroy(&c->lock);
	kfree(c->arena, c);
}

static bool cmos_claims(void *state, uint16_t port)
{
	(void)state;
	return port == CMOS_PORT_INDEX || port == CMOS_PORT_DATA;
}

static enum device_result cmos_access(void *state, void *cpu, uint16_t port, bool write,
				      unsigned size, uint8_t *data)
{
	struct cmos *c = state;

	(void)cpu;
	pthread_mutex_lock(&c->lock);
	if (port == CMOS_PORT_INDEX) {
		if (write)
			c->index = data[0] & 0x7f;
		else
			data[0] = c->index;
	} else if (!write) {
		data[0] = cmos_register(c->index, time(NULL));
	}
	/* Wider accesses see the byte and zeros, as on an 8-bit ISA port. */
	for (unsigned i = 1; !write && i < size; i++)
		data[i] = 0;
	pthread_mutex_unlock(&c->lock);
	return DEVICE_CONTINUE;
}

const struct device_type cmos_device = {
	.name = "cmos",
	.wanted = cmos_wanted,
	.create = cmos_create,
	.destroy = cmos_destroy,
	.pio_claims = cmos_claims,
	.pio = cmos_access,
};
