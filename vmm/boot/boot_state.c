/*
 * Boot-time x86 state. Segment descriptors carry the Accessed bit already so
 * the CPU never writes to the GDT, and page-table entries carry A and D so a
 * shadow MMU need not fault to set them.
 */
#include <errno.h>
#include <string.h>
#include "abi/memvisor.h"
#include "vmm/boot/boot_layout.h"
#include "vmm/boot/boot_state.h"

#define GIB (1ULL << 30)

#define PTE_P   0x001ULL
#define PTE_W   0x002ULL
#define PTE_A   0x020ULL
#define PTE_D   0x040ULL
#define PTE_PS  0x080ULL

#define CR0_PE  0x00000001ULL
#define CR0_MP  0x00000002ULL
#define CR0_ET  0x00000010ULL
#define CR0_NE  0x00000020ULL
#define CR0_WP  0x00010000ULL
#define CR0_PG  0x80000000ULL
#define CR4_PAE 0x020ULL
#define CR4_OSFXSR 0x200ULL
#define CR4_OSXMMEXCPT 0x400ULL
#define EFER_LME 0x100ULL
#define EFER_LMA 0x400ULL

static const uint64_t boot_gdt[] = {
	0,
	0x00cf9b000000ffffULL,   /* 0x08: 32-bit code, flat */
	0x00af9b000000ffffULL,   /* 0x10: 64-bit code */
	0x00cf93000000ffffULL,   /* 0x18: data, flat */
};

int x86_boot_write_gdt(struct boot_ctx *ctx)
{
	void *p = boot_hva(ctx, ABI_GDT_GPA, sizeof(boot_gdt), "the boot GDT");

	if (!p)
		return -ENOEXEC;
	memcpy(p, boot_gdt, sizeof(boot_gdt));
	return 0;
}

int x86_boot_write_page_tables(struct boot_ctx *ctx, uint64_t *map_top)
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
	memset(pml4, 0, 4096);
	memset(pdpt, 0, 4096);
	pml4[0] = ABI_PDPT_GPA | PTE_P | PTE_W | PTE_A;
	for (uint64_t g = 0; g < pds; g++) {
		pdpt[g] = (ABI_PD_GPA + g * 4096) | PTE_P | PTE_W | PTE_A;
		for (uint64_t i = 0; i < 512; i++)
			pd[g * 512 + i] = (g * GIB + (i << 21)) | PTE_P | PTE_W | PTE_A | PTE_D | PTE_PS;
	}
	*map_top = pds * GIB;
	return 0;
}

static struct kvm_segment flat_segment(uint16_t selector, uint8_t type, bool long_mode)
{
	return (struct kvm_segment){
		.base = 0, .limit = 0xffffffff, .selector = selector, .type = type,
		.present = 1, .dpl = 0, .db = !long_mode || type < 8, .s = 1,
		.l = long_mode && type >= 8, .g = 1,
	};
}

void x86_boot_sregs(const struct boot_entry *e, struct kvm_sregs *s)
{
	bool lm = e->mode == BOOT_LONG64;

	s->cs = flat_segment(lm ? X86_BOOT_CS64 : X86_BOOT_CS32, 0xb, lm);
	s->ds = s->es = s->fs = s->gs = s->ss = flat_segment(X86_BOOT_DS, 0x3, lm);
	s->gdt = (struct kvm_dtable){ .base = ABI_GDT_GPA, .limit = sizeof(boot_gdt) - 1 };
	/* No IDT: a fault this early is a triple fault, which the VMM reports. */
	s->idt = (struct kvm_dtable){ .base = 0, .limit = 0 };
	if (lm) {
		s->cr0 = CR0_PE | CR0_MP | CR0_ET | CR0_NE | CR0_WP | CR0_PG;
		s->cr3 = ABI_PML4_GPA;
		s->cr4 = CR4_PAE | CR4_OSFXSR | CR4_OSXMMEXCPT;
		s->efer = EFER_LME | EFER_LMA;
	} else {
		s->cr0 = CR0_PE | CR0_ET;
		s->cr3 = 0;
		s->cr4 = 0;
		s->efer = 0;
	}
}

void x86_boot_regs(const struct boot_entry *e, struct kvm_regs *r)
{
	memset(r, 0, sizeof(*r));
	r->rip = e->rip;
	r->rbx = e->rbx;
	r->rsi = e->rsi;
	r->rsp = e->rsp;
	r->rflags = 0x2;     /* bit 1 is always set; interrupts off */
}
