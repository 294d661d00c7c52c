/*
 * Writing the PVH start info (its structures, Xen's hvm_start_info version
 * 1, are in include/abi/pvh.h, shared with the guests), as the guest finds
 * it at ABI_START_INFO_GPA with rbx pointing there.
 */
#ifndef VMM_PVH_H
#define VMM_PVH_H

#include "abi/pvh.h"

struct boot_ctx;
/*
 * Writes the start info, the memory map and (with ctx->initrd, already placed
 * at initrd_gpa) a one-module list. The command line must be written already.
 */
int pvh_write_start_info(struct boot_ctx *ctx, uint64_t initrd_gpa);

#endif
