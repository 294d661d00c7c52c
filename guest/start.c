/*
 * The first C code, at CPL3 (boot.S irets to user_entry, which calls here
 * with the boot information's GPA): zero .bss, collect the boot information,
 * map RAM above the boot map, run main, exit with its status.
 */
#include "internal.h"

_Noreturn void runtime_start(uint64_t boot_info_gpa);

_Noreturn void runtime_start(uint64_t boot_info_gpa)
{
	/* The loader zeroes .bss too (ELF memsz); this costs nothing at CPL3. */
	memset(__bss_start, 0, (size_t)(__bss_end - __bss_start));
	bootinfo_parse(boot_info_gpa);
	memory_map_high();
	guest_exit(main(boot.cmdline));
}
