/*
 * Bad input to build/memvisor: missing, empty, truncated and random images,
 * an ELF with neither a PVH note nor a long-mode entry, bad sizes, no KVM
 * device, a hugetlb pool too small for --hugepages on. Each must give one
 * line on stderr, nothing on stdout, and status 1.
 */
#include <criterion/criterion.h>
#include <elf.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "runner.h"
#include "synth.h"

static void assert_one_line_error(const struct run_opts *o, const char *want,
				  const char *const *args)
{
	struct run_result r;

	run_memvisor(&r, o, args);
	cr_assert_eq(r.status, 1, "status %d; stderr:\n%s", r.status, r.err);
	cr_assert_eq(count_lines(r.err), 1, "one line expected:\n%s", r.err);
	cr_assert(!strncmp(r.err, "memvisor: ", 10), "%s", r.err);
	cr_assert(strstr(r.err, want), "stderr '%s' lacks '%s'", r.err, want);
	cr_assert_eq(r.out_len, 0, "stdout: %s", r.out);
	run_free(&r);
}

#define ERR(want, ...) assert_one_line_error(&(struct run_opts){ 0 }, want, \
					     (const char *const[]){ __VA_ARGS__, NULL })

/* A copy of hello.elf cut to len bytes. */
static const char *truncated_hello(size_t len)
{
	static uint8_t buf[1 << 20];
	int fd = open(test_build_path("guest/hello.elf"), O_RDONLY);

	cr_assert_geq(fd, 0, "build/guest/hello.elf missing");
	ssize_t n = read(fd, buf, sizeof(buf));
	close(fd);
	cr_assert_gt(n, (ssize_t)len);
	return temp_file(buf, len);
}

Test(bad_input, images)
{
	uint8_t rnd[65536];
	char want[128];

	srand(7);
	for (size_t i = 0; i < sizeof(rnd); i++)
		rnd[i] = (uint8_t)rand();
	rnd[0] = 0x42;
	ERR("/nonexistent/guest.elf: cannot open the image: No such file or directory",
	    "/nonexistent/guest.elf");
	const char *empty = temp_file("", 0);
	snprintf(want, sizeof(want), "%s: the image is empty", empty);
	ERR(want, empty);
	const char *dir = test_build_path("guest");
	snprintf(want, sizeof(want), "%s: cannot open the image: Is a directory", dir);
	ERR(want, dir);
	ERR("not a kernel image", temp_file(rnd, sizeof(rnd)));
	ERR("truncated ELF64 header", truncated_hello(40));
	ERR("past the end of the file", truncated_hello(4000));
}

Test(bad_input, elf_with_neither_pvh_note_nor_elf64_entry)
{
	struct synth_elf s = synth_elf_default();
	size_t len;

	s.pvh_note = false, s.is64 = false, s.machine = EM_386;
	uint8_t *img = synth_elf_build(&s, &len);
	ERR("no PVH entry note and is not an x86-64 ELF64", temp_file(img, len));
	free(img);
}

Test(bad_input, sizes_and_options)
{
	const char *hello = test_build_path("guest/hello.elf");

	ERR("--mem 0: not a size", "--mem", "0", hello);
	ERR("--mem 1T: more than this host's", "--mem", "1T", hello);
	ERR("--mem 12Q: not a size", "--mem", "12Q", hello);
	ERR("--cpus 0:", "--cpus", "0", hello);
	ERR("--monitor : want a path of 1 to 107 bytes", "--monitor", "", hello);
	ERR("--bogus: unknown option", "--bogus", hello);
	ERR("IMAGE: missing", "-m", "64M");
	ERR("/nonexistent/rd: cannot open the initrd: No such file or directory", "--initrd",
	    "/nonexistent/rd", hello);
	const char *empty = temp_file("", 0);
	char want[128];
	snprintf(want, sizeof(want), "%s: the initrd is empty", empty);
	ERR(want, "--initrd", empty, hello);
}

Test(bad_input, missing_kvm_device)
{
	const char *hello = test_build_path("guest/hello.elf");

	ERR("/nonexistent: cannot open the KVM device: No such file or directory",
	    "--kvm-device", "/nonexistent", hello);
	assert_one_line_error(&(struct run_opts){ .kvm_env = "/nonexistent/kvm" },
			      "/nonexistent/kvm: cannot open the KVM device",
			      (const char *const[]){ hello, NULL });
	ERR("/dev/null: not a KVM device", "--kvm-device", "/dev/null", hello);
}

Test(bad_input, hugepages_on_without_room)
{
	char mem[32];
	long free_pages = 0;
	FILE *f = fopen("/sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages", "r");

	if (f) {
		if (fscanf(f, "%ld", &free_pages) != 1)
			free_pages = 0;
		fclose(f);
	}
	/* One 2 MiB page more than the pool has free, if the host has that. */
	long host_mib = sysconf(_SC_PHYS_PAGES) / 256;
	if ((free_pages + 1) * 2 > host_mib)
		cr_skip_test("the hugetlb pool (%ld pages) is as large as the host", free_pages);
	snprintf(mem, sizeof(mem), "%ldM", (free_pages + 1) * 2);
	ERR("--hugepages on: no zone Huge", "--hugepages", "on", "-m", mem,
	    test_build_path("guest/hello.elf"));
}

/* More vCPUs than an MP table can name (and than KVM allows): the loader,
 * which writes the table before KVM is opened, refuses them first. */
Test(bad_input, more_cpus_than_the_mp_table_holds)
{
	test_need_kvm();
	ERR("the MP table holds 1 to 143 vCPUs, not 65536", "--cpus", "65536",
	    test_build_path("guest/hello.elf"));
}
