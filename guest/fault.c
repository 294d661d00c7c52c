/*
 * fault: takes an exception on purpose, so the VMM's crash report can be
 * checked. fault=pf (the default) reads FAULT_GPA, which the identity map
 * does not cover: #PF with CR2 = FAULT_GPA, error code 4 (user read, not
 * present). fault=ud executes ud2: #UD.
 */
#include "runtime.h"

#define FAULT_GPA 0x7f0000000000ull     /* canonical, PML4 slot 254: unmapped */

int main(const char *cmdline)
{
	(void)cmdline;
	const char *v;
	size_t n;
	if (!cmdline_find("fault", &v, &n) || cmdline_is("fault", "pf")) {
		printf("fault: reading 0x%llx (unmapped), expect #PF\n", FAULT_GPA);
		(void)*(volatile uint64_t *)(uintptr_t)FAULT_GPA;
	} else if (cmdline_is("fault", "ud")) {
		printf("fault: executing ud2, expect #UD\n");
		__asm__ volatile("ud2");
	} else {
		printf("fault: unknown fault=%.*s (pf or ud)\n", (int)n, v);
		return 2;
	}
	printf("fault: no fault was taken\n");
	return 1;
}
