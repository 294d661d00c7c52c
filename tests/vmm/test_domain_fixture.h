/*
 * What the --domain tests share: the shipped example domain
 * (tests/vmm/data/hello.xml) made runnable here, variants of it in temporary
 * files, and the shape of memvisor's one-line errors.
 */
#ifndef TESTS_VMM_TEST_DOMAIN_FIXTURE_H
#define TESTS_VMM_TEST_DOMAIN_FIXTURE_H

#include <stddef.h>
#include "vmm/config/config.h"
#include "runner.h"

/* The kernel path the example names; the tests put the real hello.elf there. */
#define EXAMPLE_KERNEL "/path/to/memvisor/build/guest/hello.elf"

/* The example's text with <kernel> naming build/guest/hello.elf. */
const char *example_xml(void);

/*
 * The example with its one occurrence of `from` replaced by `to` (from NULL:
 * unchanged), in a new temporary file; returns the file's path.
 */
const char *domain_file(const char *from, const char *to);

/* cli_parse in this process; args NULL-terminated, without the program. */
int parse_args(struct vm_config *cfg, char *err, size_t errlen, const char *const *args);
#define PARSE(cfg, err, ...) \
	parse_args(cfg, err, sizeof(err), (const char *const[]){ __VA_ARGS__, NULL })

/* r failed with status 1 and exactly "memvisor: FILE: ...want..." on stderr. */
void assert_domain_error(const struct run_result *r, const char *file, const char *want);

/* Whether this process maps anything whose path holds name. */
int maps_library(const char *name);

#endif
