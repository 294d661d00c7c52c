/*
 * Zone Normal's file on transparent huge pages, on a host without a
 * hugetlb pool: a file on a private tmpfs mounted with huge=advise, which
 * a short-lived helper process makes in a mount namespace of its own (and a
 * user namespace when not root) and hands back as a descriptor. The mount
 * lives as long as the descriptor. A memfd cannot do this: Debian's
 * shmem_enabled is "never", which governs the internal mount behind memfd,
 * while a tmpfs mount's own huge= option is honoured.
 *
 * huge=advise, not always or within_size: only mappings that ask with
 * MADV_HUGEPAGE get 2 MiB pages, so guest views of 2 MiB-aligned runs do
 * and the direct map, where the VMM's metadata (slab pages) lives, stays
 * 4 KiB. With always, the first 4 KiB the slab touches would take a whole
 * 2 MiB page.
 */
#ifndef MM_THP_FILE_H
#define MM_THP_FILE_H

#include <stddef.h>

/* Set to 1, the namespace step fails, as on a host that forbids it (the
 * tests of the fallback). */
#define MM_THP_FILE_DISABLE_ENV "MEMVISOR_NO_THP_FILE"

/* A new empty file on such a mount: its descriptor (O_CLOEXEC), or -errno
 * with why saying which step failed. */
int mm_thp_file_open(char *why, size_t why_len);

#endif
