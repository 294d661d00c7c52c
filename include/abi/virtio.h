/*
 * The virtio wire format both sides of memvisor speak: virtio-mmio register
 * offsets (virtio 1.x 4.2.2, plus the legacy version 1 ones), device status
 * bits, interrupt causes, the split ring's descriptor and used element,
 * and the balloon's device ID, feature bits, queues, config space and
 * statistics. The freestanding guest driver (guest/virtio_*.c) and the VMM's
 * device (vmm/devices/virtio/) include this one file, so they cannot drift
 * apart.
 */
#ifndef ABI_VIRTIO_H
#define ABI_VIRTIO_H

#define VIRTIO_MMIO_MAGIC               0x74726976u  /* "virt" */

#define VIRTIO_MMIO_MAGIC_VALUE         0x000
#define VIRTIO_MMIO_VERSION_REG         0x004
#define VIRTIO_MMIO_DEVICE_ID           0x008
#define VIRTIO_MMIO_VENDOR_ID           0x00c
#define VIRTIO_MMIO_DEVICE_FEATURES     0x010
#define VIRTIO_MMIO_DEVICE_FEATURES_SEL 0x014
#define VIRTIO_MMIO_DRIVER_FEATURES     0x020
#define VIRTIO_MMIO_DRIVER_FEATURES_SEL 0x024
#define VIRTIO_MMIO_QUEUE_SEL           0x030
#define VIRTIO_MMIO_QUEUE_NUM_MAX       0x034
#define VIRTIO_MMIO_QUEUE_NUM           0x038
#define VIRTIO_MMIO_QUEUE_READY         0x044
#define VIRTIO_MMIO_QUEUE_NOTIFY        0x050
#define VIRTIO_MMIO_INTERRUPT_STATUS    0x060
#define VIRTIO_MMIO_INTERRUPT_ACK       0x064
#define VIRTIO_MMIO_STATUS              0x070
#define VIRTIO_MMIO_QUEUE_DESC_LOW      0x080
#define VIRTIO_MMIO_QUEUE_DESC_HIGH     0x084
#define VIRTIO_MMIO_QUEUE_DRIVER_LOW    0x090
#define VIRTIO_MMIO_QUEUE_DRIVER_HIGH   0x094
#define VIRTIO_MMIO_QUEUE_DEVICE_LOW    0x0a0
#define VIRTIO_MMIO_QUEUE_DEVICE_HIGH   0x0a4
#define VIRTIO_MMIO_CONFIG_GENERATION   0x0fc
#define VIRTIO_MMIO_CONFIG              0x100
/* Legacy (version 1) only: what QEMU's microvm offers unless told not to. */
#define VIRTIO_MMIO_GUEST_PAGE_SIZE     0x028
#define VIRTIO_MMIO_QUEUE_ALIGN         0x03c
#define VIRTIO_MMIO_QUEUE_PFN           0x040

/* Device status bits (2.1) and interrupt causes (4.2.2). */
#define VIRTIO_STATUS_ACKNOWLEDGE       1
#define VIRTIO_STATUS_DRIVER            2
#define VIRTIO_STATUS_DRIVER_OK         4
#define VIRTIO_STATUS_FEATURES_OK       8
#define VIRTIO_STATUS_NEEDS_RESET       0x40
#define VIRTIO_STATUS_FAILED            0x80
#define VIRTIO_INT_USED                 1
#define VIRTIO_INT_CONFIG               2

#define VIRTIO_F_VERSION_1              32

/* Split virtqueue descriptor flags (2.7.5). */
#define VIRTQ_DESC_F_NEXT               1
#define VIRTQ_DESC_F_WRITE              2
#define VIRTQ_DESC_F_INDIRECT           4

/* virtio-balloon (5.5). */
#define VIRTIO_ID_BALLOON               5
#define VIRTIO_BALLOON_F_MUST_TELL_HOST 0
#define VIRTIO_BALLOON_F_STATS_VQ       1
#define VIRTIO_BALLOON_F_DEFLATE_ON_OOM 2
#define VIRTIO_BALLOON_F_FREE_PAGE_HINT 3
#define VIRTIO_BALLOON_F_REPORTING      5
/* Its queues (5.5.2): inflate and deflate always; then, each only when its
 * feature is negotiated and numbered after those before it, stats, free
 * page hint and reporting (so reporting is 3 with STATS_VQ, else 2). */
#define VIRTIO_BALLOON_Q_INFLATE        0
#define VIRTIO_BALLOON_Q_DEFLATE        1
#define VIRTIO_BALLOON_Q_STATS          2
/* Free page reporting (5.5.6.7): one buffer is a chain of up to this many
 * descriptors, each a free range (addr = GPA, len = bytes); Linux's driver
 * sends them device-writable (PAGE_REPORTING_CAPACITY); the queue needs at
 * least that many descriptors. */
#define VIRTIO_BALLOON_REPORT_MAX_RANGES 32
/* Its config space (5.5.4): num_pages, actual, free page hint command id,
 * poison value; all le32. */
#define VIRTIO_BALLOON_CFG_NUM_PAGES    0
#define VIRTIO_BALLOON_CFG_ACTUAL       4
#define VIRTIO_BALLOON_CONFIG_SIZE      16
/* PFNs are 4 KiB frame numbers whatever the guest's page size. */
#define VIRTIO_BALLOON_PFN_SHIFT        12
/* The most PFNs one inflate or deflate buffer carries: Linux's batch, which
 * memvisor's driver sends too and its device refuses to exceed. */
#define VIRTIO_BALLOON_MAX_PFNS         256
/* Statistics (5.5.6.3): tags 0 (swap-in) .. 15 (direct reclaim), each
 * record a packed le16 tag and le64 value. */
#define VIRTIO_BALLOON_S_MEMFREE        4
#define VIRTIO_BALLOON_S_MEMTOT         5
#define VIRTIO_BALLOON_S_AVAIL          6
#define VIRTIO_BALLOON_S_NR             16
#define VIRTIO_BALLOON_STAT_BYTES       10

#ifndef __ASSEMBLER__
#include <stdint.h>

/* A split virtqueue's descriptor (2.7.5) and used element (2.7.8),
 * little-endian on the wire. */
struct virtq_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

struct virtq_used_elem {
	uint32_t id;
	uint32_t len;
};

struct virtio_balloon_stat {
	uint16_t tag;
	uint64_t val;
} __attribute__((packed));

_Static_assert(sizeof(struct virtq_desc) == 16, "virtq_desc layout");
_Static_assert(sizeof(struct virtq_used_elem) == 8, "virtq_used_elem layout");
_Static_assert(sizeof(struct virtio_balloon_stat) == VIRTIO_BALLOON_STAT_BYTES,
	       "virtio_balloon_stat layout");
#endif

#endif
