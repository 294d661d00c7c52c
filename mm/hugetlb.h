/*
 * The host's hugetlb pool of 2 MiB pages (the pages zone Huge is made of).
 */
#ifndef MM_HUGETLB_H
#define MM_HUGETLB_H

#include <stdint.h>

#define HUGE_PAGE_SIZE (2UL << 20)

/*
 * Bytes of 2 MiB pages in the pool that nobody has reserved yet (free
 * minus reserved, as /sys/kernel/mm/hugepages/hugepages-2048kB/ counts
 * them); 0 if the pool cannot be read. A snapshot: another process may take
 * the pages before a mapping reserves them.
 */
uint64_t mm_hugetlb_available_bytes(void);

#endif
