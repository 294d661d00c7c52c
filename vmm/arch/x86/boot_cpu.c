/*
 * The x86 CPU at boot (boot_cpu.h).
 */
#include <string.h>
#include "vmm/arch/x86/boot_cpu.h"

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

const uint64_t x86_boot_gdt[X86_BOOT_GDT_ENTRIES] = {
	0,
	0x00cf9b000000ffffULL,   /* 0x08: 32-bit code, flat */
	0x00af9b000000ffffULL,   /* 0x10: 64-bit code */
	0x00cf93000000ffffULL,   /* 0x18: data, flat */
};

void x86_identity_map(uint64_t *pml4, uint64_t *pdpt, uint64_t *pd, uint64_t pds,
		      uint64_t pdpt_gpa, uint64_t pd_gpa)
{
	memset(pml4, 0, 4096);
	memset(pdpt, 0, 4096);
	pml4[0] = pdpt_gpa | PTE_P | PTE_W | PTE_A;
	for (uint64_t g = 0; g < pds; g++) {
		pdpt[g] = (pd_gpa + g * 4096) | PTE_P | PTE_W | PTE_A;
		for (uint64_t i = 0; i < 512; i++)
			pd[g * 512 + i] = (g * GIB + (i << 21)) | PTE_P | PTE_W | PTE_A | PTE_D | PTE_PS;
	}
}

static struct kvm_segment flat_segment(uint16_t selector, uint8_t type, bool long_mode)
{
	return (struct kvm_segment){
		.base = 0, .limit = 0xffffffff, .selector = selector, .type = type,
		.present = 1, .dpl = 0, .db = !long_mode || type < 8, .s = 1,
		.l = long_mode && type >= 8, .g = 1,
	};
}

void x86_boot_sregs(bool lm, uint64_t gdt_gpa, uint64_t pml4_gpa, struct kvm_sregs *s)
{
	s->cs = flat_segment(lm ? X86_BOOT_CS64 : X86_BOOT_CS32, 0xb, lm);
	s->ds = s->es = s->fs = s->gs = s->ss = flat_segment(X86_BOOT_DS, 0x3, lm);
	s->gdt = (struct kvm_dtable){ .base = gdt_gpa, .limit = sizeof(x86_boot_gdt) - 1 };
	/* No IDT: a fault this early is a triple fault, which the VMM reports. */
	s->idt = (struct kvm_dtable){ .base = 0, .limit = 0 };
	if (lm) {
		s->cr0 = CR0_PE | CR0_MP | CR0_ET | CR0_NE | CR0_WP | CR0_PG;
		s->cr3 = pml4_gpa;
		s->cr4 = CR4_PAE | CR4_OSFXSR | CR4_OSXMMEXCPT;
		s->efer = EFER_LME | EFER_LMA;
	} else {
		s->cr0 = CR0_PE | CR0_ET;
		s->cr3 = 0;
		s->cr4 = 0;
		s->efer = 0;
	}
}

void x86_boot_regs(uint64_t rip, uint64_t rbx, uint64_t rsi, uint64_t rsp, struct kvm_regs *r)
{
	memset(r, 0, sizeof(*r));
	r->rip = rip;
	r->rbx = rbx;
	r->rsi = rsi;
	r->rsp = rsp;
	r->rflags = 0x2;     /* bit 1 is always set; interrupts off */
}
