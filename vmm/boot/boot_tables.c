/*
 * The boot GDT and identity page tables written into guest RAM where the
 * guest ABI puts them (include/abi/memvisor.h); their contents are the
 * architecture's (arch/x86/boot_cpu.h).
 */
#include <errno.h>
#include <string.h>
#include "abi/memvisor.h"
#include "vmm/arch/x86/boot_cpu.h"
#include "vmm/boot/boot_layout.h"
#include "vmm/boot/boot_tables.h"

#define GIB (1ULL << 30)

int boot_write_gdt(struct boot_ctx *ctx)
{
	void *p = boot_hva(ctx, ABI_GDT_GPA, sizeof(x86_boot_gdt), "the boot GDT");

	if (!p)
		return -ENOEXEC;
	memcpy(p, x86_boot_gdt, sizeof(x86_boot_gdt));
	return 0;
}

int boot_write_page_tables(struct boot_ctx *ctx, uint64_t *map_top)
{
	uint64_t top = boot_ram_top(ctx->mem);
	uint64_t pds = (top + GIB - 1) / GIB;

	if (pds < 4)
		pds = 4;          /* the 32-bit MMIO window is reachable too */
	if (pds > BOOT_MAX_PDS)
		pds = BOOT_MAX_PDS;
	uint64_t *pml4 = boot_hva(ctx, ABI_PML4_GPA, 4096, "the boot PML4");
	uint64_t *pdpt = boot_hva(ctx, ABI_PDPT_GPA, 4096, "the boot PDPT");
	uint64_t *pd = boot_hva(ctx, ABI_PD_GPA, pds * 4096, "the boot page directories");
	if (!pml4 || !pdpt || !pd)
		return -ENOEXEC;
	x86_identity_map(pml4, pdpt, pd, pds, ABI_PDPT_GPA, ABI_PD_GPA);
	*map_top = pds * GIB;
	return 0;
}
