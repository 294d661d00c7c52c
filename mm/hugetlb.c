/*
 * The host's hugetlb pool of 2 MiB pages, as sysfs shows it: how much of it
 * nobody has reserved yet. Zone Huge is made only when that covers it
 * (MM_HUGE_AUTO), and whoever sizes an arena can ask the same question.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>
#include "hugetlb.h"

#define HUGE_POOL "/sys/kernel/mm/hugepages/hugepages-2048kB/"

static long sysfs_read_ulong(const char *path)
{
	char buf[32];
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	char *end;
	long v = strtol(buf, &end, 10);
	return end == buf || v < 0 ? -1 : v;
}

uint64_t mm_hugetlb_available_bytes(void)
{
	long free_pages = sysfs_read_ulong(HUGE_POOL "free_hugepages");
	long resv = sysfs_read_ulong(HUGE_POOL "resv_hugepages");

	if (free_pages < 0 || resv < 0 || resv >= free_pages)
		return 0;
	return (uint64_t)(free_pages - resv) * HUGE_PAGE_SIZE;
}
