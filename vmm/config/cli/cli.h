/*
 * The command line: `memvisor [options] IMAGE` into a struct vm_config.
 */
#ifndef VMM_CLI_H
#define VMM_CLI_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "vmm/config/config.h"

enum cli_result {
	CLI_RUN = 0,      /* cfg is complete: boot it */
	CLI_DONE = 1,     /* --help or --version was printed: exit 0 */
};

/*
 * Parses argv into cfg (which it initializes). On a bad command line returns
 * -EINVAL with err holding "<what>: <why>" (no program name, no newline).
 * Help and version text go to out.
 */
int cli_parse(int argc, char **argv, struct vm_config *cfg, FILE *out, char *err, size_t errlen);

/*
 * A memory size: digits with an optional K, M, G or T suffix (powers of
 * 1024); a bare number means MiB, as QEMU's -m does. 0 or -EINVAL (garbage,
 * zero) or -ERANGE (overflow).
 */
int cli_parse_size(const char *s, uint64_t *bytes);

#endif
