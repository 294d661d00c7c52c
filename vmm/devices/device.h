/*
 * Devices and the VM, through one small interface. vmm/devices/ owns every
 * device model: legacy/ (UART, console, memvisor's paravirtual ports) and
 * virtio/ (the virtio-mmio transport, virtqueues, balloon/). It may use
 * vmm/memory/ (guest RAM lookups, ballooned frames), vmm/config/ (what the
 * user asked for, plain data) and mm/; never vmm/core/ or vmm/monitor/.
 *
 * A device is a struct device_type: whether this VM has it, what it adds
 * to the guest's command line, how it is created, the ports and MMIO it
 * claims, and how it is stopped and destroyed. The VM core keeps the table
 * of types (core/device_table.c) and hands each device a struct
 * device_host: what a device may ask of the VM around it (interrupt lines,
 * waking halted vCPUs, ending the run, per-vCPU services), as functions, so
 * no arrow runs from a device back up to the core.
 *
 * The created devices form a device_set. Other threads (the monitor) reach
 * a device by name with a reference (device_set_get / device_put); the set
 * is destroyed only once every reference is back.
 */
#ifndef VMM_DEVICES_DEVICE_H
#define VMM_DEVICES_DEVICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "mm/arena.h"
#include "vmm/config/config.h"
#include "vmm/devices/output.h"

struct guest_mem;
struct vm_console;
struct unhandled_log;

/* What a device may use and ask of the VM. Callbacks may be NULL in tests
 * that run a device without a VM. */
struct device_host {
	void *ctx;
	struct mm_arena *arena;          /* the device's own metadata */
	struct guest_mem *gm;
	int vm_fd;                       /* KVM's VM, for ioeventfds; -1: none */
	struct vm_console *console;      /* the guest's console output */
	struct unhandled_log *unhandled; /* dropped requests, logged once */
	struct out_stream *log;          /* the VMM's log (stderr), never blocking */
	/* An interrupt line of the in-kernel irqchip, level-triggered: 0 or
	 * -errno (the line could not be set). */
	int (*irq)(void *ctx, unsigned irq, int level);
	/* A device has news: vCPUs parked in the paravirtual halt wake up. */
	void (*wake)(void *ctx);
	/* Ends the run with a process exit status. */
	void (*stop)(void *ctx, int status);
	/* On the accessing vCPU's thread (cpu as passed to device_set_pio):
	 * park it for up to usec µs (0: no limit), report the guest's fault
	 * (ends the run), hand a probe value to a test hook. */
	void (*halt)(void *cpu, uint32_t usec);
	void (*fault)(void *cpu, uint32_t vector);
	void (*probe)(void *ctx, void *cpu, uint32_t value);
};

/* A port access ended the run: the vCPU leaves its loop. */
enum device_result {
	DEVICE_CONTINUE = 0,
	DEVICE_STOP,
};

struct device_type {
	const char *name;                /* "virtio-balloon" */
	/* Whether cfg's VM has this device. */
	bool (*wanted)(const struct vm_config *cfg);
	/* Appends " key=value..." to the guest's command line (NULL: nothing);
	 * returns the length it wants, as snprintf does. */
	size_t (*cmdline)(const struct vm_config *cfg, char *buf, size_t len);
	/* The device's state in *state. 0, or -errno with err "<why>". */
	int (*create)(const struct device_host *host, const struct vm_config *cfg, void **state,
		      char *err, size_t errlen);
	/* Stops what runs on its own (device threads); may be NULL. Before
	 * the vCPUs are joined: a device thread may kick them. */
	void (*quiesce)(void *state);
	void (*destroy)(void *state);
	/* Port I/O: claims a port, then one access of size bytes at *data. */
	bool (*pio_claims)(void *state, uint16_t port);
	enum device_result (*pio)(void *state, void *cpu, uint16_t port, bool write, unsigned size,
				  uint8_t *data);
	/* MMIO: claims an address, then one access. */
	bool (*mmio_claims)(void *state, uint64_t gpa);
	void (*mmio)(void *state, uint64_t gpa, bool write, uint8_t *data, unsigned len);
};

struct device;
struct device_set;

/*
 * The guest's command line: cfg's (may be NULL) followed by what each
 * wanted device of types (NULL-terminated) adds. From a's kmalloc (kfree
 * it there); NULL when out of memory.
 */
char *device_cmdline(const struct device_type *const *types, const struct vm_config *cfg,
		     struct mm_arena *a);

/* Creates every device of types that cfg wants, in order. 0, or -errno with
 * err "<device>: <why>" and nothing left. */
int device_set_create(const struct device_type *const *types, const struct device_host *host,
		      const struct vm_config *cfg, struct device_set **out, char *err,
		      size_t errlen);
/* Stops the devices' own threads. */
void device_set_quiesce(struct device_set *s);
/* Waits for every reference to come back, then destroys the devices in
 * reverse order. No vCPU may be running. NULL is fine. */
void device_set_destroy(struct device_set *s);

/* One access from a vCPU to the first device that claims it; false when
 * none does (the caller answers as an empty bus). */
bool device_set_pio(struct device_set *s, void *cpu, uint16_t port, bool write, unsigned size,
		    uint8_t *data, enum device_result *result);
bool device_set_mmio(struct device_set *s, uint64_t gpa, bool write, uint8_t *data,
		     unsigned len);

/* The device called name, with a reference; NULL when the VM has none or
 * the set is being destroyed. */
struct device *device_set_get(struct device_set *s, const char *name);
void device_put(struct device *d);
/* The state its type's create made (a struct virtio_balloon, ...). */
void *device_state(const struct device *d);

#endif
