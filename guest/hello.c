/*
 * hello: the smallest image. One line, exit 0; what `make run` boots and
 * what the QEMU cross-check looks for.
 */
#include "runtime.h"

int main(const char *cmdline)
{
	(void)cmdline;
	printf("hello from memvisor guest\n");
	return 0;
}
