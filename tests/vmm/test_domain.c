/*
 * --domain: the shipped example boots, its values land in the
 * configuration, flags and IMAGE on the command line win over the XML, and
 * libvirt never ends up mapped in the VMM: not in a run without --domain,
 * and not in the process that read a domain either (a child does that).
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "vmm/config/cli/cli.h"
#include "vmm/config/domain/internal.h"
#include "test_domain_fixture.h"

#define RUN(r, ...) run_memvisor(r, &(struct run_opts){ 0 }, (const char *const[]){ __VA_ARGS__, NULL })

Test(domain, example_boots_hello)
{
	struct run_result r;

	test_need_kvm();
	RUN(&r, "--domain", domain_file(NULL, NULL));
	cr_assert_eq(r.status, 0, "status %d, stderr:\n%s", r.status, r.err);
	cr_assert_str_eq(r.out, "hello from memvisor guest\n");
	cr_assert(strstr(r.err, "RAM 256 MiB"), "<memory> 256 MiB:\n%s", r.err);
	run_free(&r);
}

Test(domain, example_fills_the_configuration)
{
	struct vm_config cfg;
	char err[512] = "";
	const char *file = domain_file(NULL, NULL);

	cr_assert_eq(PARSE(&cfg, err, "--domain", file), CLI_RUN, "%s", err);
	cr_assert_str_eq(cfg.domain, file);
	cr_assert_str_eq(cfg.image, test_build_path("guest/hello.elf"));
	cr_assert_eq(cfg.mem_bytes, 256ULL << 20);
	cr_assert_eq(cfg.balloon_target_bytes, 192ULL << 20);
	cr_assert_eq(cfg.balloon, VM_BALLOON_VIRTIO);
	cr_assert_eq(cfg.cpus, 1);
	cr_assert_eq(cfg.hugepages, MM_HUGE_AUTO);
	cr_assert_str_eq(cfg.cmdline, "greeting=hello");
	cr_assert_null(cfg.initrd);
	/* libvirt was loaded, by the child that read the domain: not here. */
	cr_assert_not(maps_library("libvirt"), "libvirt is mapped in the process that parsed");
	cr_assert_not(maps_library("libxml2"), "libxml2 is mapped in the process that parsed");
}

Test(domain, values_map_to_options)
{
	struct vm_config cfg;
	char err[512] = "";
	const char *initrd = test_build_path("guest/hello.elf");
	char with_initrd[256];

	snprintf(with_initrd, sizeof(with_initrd), "<cmdline>greeting=hello</cmdline><initrd>%s</initrd>", initrd);
	cr_assert_eq(PARSE(&cfg, err, "--domain", domain_file("<cmdline>greeting=hello</cmdline>", with_initrd)),
		     CLI_RUN, "%s", err);
	cr_assert_str_eq(cfg.initrd, initrd);

	const char *huge = "<memoryBacking><hugepages><page size='2048' unit='KiB'/></hugepages>"
			   "</memoryBacking><devices>";
	cr_assert_eq(PARSE(&cfg, err, "--domain", domain_file("<devices>", huge)), CLI_RUN, "%s", err);
	cr_assert_eq(cfg.hugepages, MM_HUGE_ON);
	cr_assert_not(cfg.prealloc);

	/* libvirt's immediate allocation is --prealloc. */
	const char *immediate = "<memoryBacking><allocation mode='immediate'/></memoryBacking><devices>";
	cr_assert_eq(PARSE(&cfg, err, "--domain", domain_file("<devices>", immediate)), CLI_RUN, "%s", err);
	cr_assert(cfg.prealloc);
	cr_assert_eq(cfg.hugepages, MM_HUGE_AUTO);

	cr_assert_eq(PARSE(&cfg, err, "--domain", domain_file("model='virtio'", "model='none'")), CLI_RUN, "%s", err);
	cr_assert_eq(cfg.balloon, VM_BALLOON_NONE);
	cr_assert_eq(cfg.balloon_reporting, VM_SWITCH_UNSET);
	cr_assert_eq(PARSE(&cfg, err, "--domain", domain_file("model='virtio'", "model='none'"),
			   "--balloon-reporting", "on"), -EINVAL);
	cr_assert(strstr(err, "--balloon-reporting on: the domain has no balloon"), "%s", err);

	/* libvirt's freePageReporting is --balloon-reporting; the flag wins. */
	const char *off = domain_file("model='virtio'", "model='virtio' freePageReporting='off'");
	cr_assert_eq(PARSE(&cfg, err, "--domain", off), CLI_RUN, "%s", err);
	cr_assert_eq(cfg.balloon_reporting, VM_SWITCH_OFF);
	cr_assert_eq(PARSE(&cfg, err, "--domain", off, "--balloon-reporting", "on"), CLI_RUN, "%s", err);
	cr_assert_eq(cfg.balloon_reporting, VM_SWITCH_ON);
	cr_assert_eq(PARSE(&cfg, err, "--domain",
			   domain_file("model='virtio'", "model='virtio' freePageReporting='on'")),
		     CLI_RUN, "%s", err);
	cr_assert_eq(cfg.balloon_reporting, VM_SWITCH_ON);

	/* Without <currentMemory> the guest keeps all of <memory>. */
	const char *no_current = domain_file("<currentMemory unit='MiB'>192</currentMemory>", "");
	cr_assert_eq(PARSE(&cfg, err, "--domain", no_current, "--cpus", "1"), CLI_RUN, "%s", err);
	cr_assert_eq(cfg.balloon_target_bytes, 0);

	/* Sizes in other units come back from libvirt in KiB. */
	cr_assert_eq(PARSE(&cfg, err, "--domain", domain_file("<memory unit='MiB'>256", "<memory unit='G'>1")),
		     CLI_RUN, "%s", err);
	cr_assert_eq(cfg.mem_bytes, 1ULL << 30);
}

Test(domain, sizes_in_libvirts_units)
{
	uint64_t kib = 0;

	cr_assert_eq(domain_size_kib("256", "MiB", &kib), 0);
	cr_assert_eq(kib, 256 * 1024);
	cr_assert_eq(domain_size_kib(" 2 ", "", &kib), 0, "no unit is KiB; libvirt trims");
	cr_assert_eq(kib, 2);
	cr_assert_eq(domain_size_kib("1", "g", &kib), 0);
	cr_assert_eq(kib, 1024 * 1024);
	cr_assert_eq(domain_size_kib("1000", "KB", &kib), 0, "KB is 1000 bytes");
	cr_assert_eq(kib, 977, "rounded up to whole KiB, as libvirt rounds");
	cr_assert_eq(domain_size_kib("1", "bytes", &kib), 0);
	cr_assert_eq(kib, 1);
	cr_assert_eq(domain_size_kib("16", "EiB", &kib), 0);
	cr_assert_eq(kib, 16ULL << 50);
	cr_assert_eq(domain_size_kib("16384", "EiB", &kib), -ERANGE);
	cr_assert_eq(domain_size_kib("1", "XiB", &kib), -EINVAL);
	cr_assert_eq(domain_size_kib("1", "MiBs", &kib), -EINVAL);
	cr_assert_eq(domain_size_kib("-1", "KiB", &kib), -EINVAL);
	cr_assert_eq(domain_size_kib("1.5", "GiB", &kib), -EINVAL);
}

Test(domain, flags_override_the_xml)
{
	struct vm_config cfg;
	char err[512] = "";
	char vcpus[64];

	/* Values the XML could not have on this host are not checked when a
	 * flag replaces them: a kernel that is not here, too many vCPUs. */
	snprintf(vcpus, sizeof(vcpus), "<vcpu>%ld</vcpu>", sysconf(_SC_NPROCESSORS_ONLN) * 8 + 1);
	const char *file = domain_file("<vcpu>1</vcpu>", vcpus);
	cr_assert_eq(PARSE(&cfg, err, "--domain", file, "--mem", "64M", "--cpus", "2", "--cmdline", "x=1",
			   "--hugepages", "off", "other.elf"), CLI_RUN, "%s", err);
	cr_assert_str_eq(cfg.image, "other.elf");
	cr_assert_eq(cfg.mem_bytes, 64ULL << 20);
	cr_assert_eq(cfg.cpus, 2);
	cr_assert_str_eq(cfg.cmdline, "x=1");
	cr_assert_eq(cfg.hugepages, MM_HUGE_OFF);
	/* The target was written for the XML's <memory>, which --mem replaced. */
	cr_assert_eq(cfg.balloon_target_bytes, 0);
	cr_assert_eq(cfg.balloon, VM_BALLOON_VIRTIO);
}

Test(domain, image_and_mem_on_the_command_line_win_in_a_run)
{
	struct run_result r;

	test_need_kvm();
	const char *file = domain_file(test_build_path("guest/hello.elf"), "/nonexistent/kernel.elf");
	RUN(&r, "--domain", file, "--mem", "64M", test_build_path("guest/hello.elf"));
	cr_assert_eq(r.status, 0, "status %d, stderr:\n%s", r.status, r.err);
	cr_assert_str_eq(r.out, "hello from memvisor guest\n");
	cr_assert(strstr(r.err, "RAM 64 MiB"), "--mem 64M beats <memory>:\n%s", r.err);
	run_free(&r);
}

/* The dynamic loader's own log (LD_DEBUG=files) names every library a
 * process loads, at start or by dlopen. */
static void run_logging_loads(struct run_result *r, const char *const *args)
{
	setenv("LD_DEBUG", "files", 1);
	run_memvisor(r, &(struct run_opts){ 0 }, args);
	unsetenv("LD_DEBUG");
}

Test(domain, a_run_without_domain_never_loads_libvirt)
{
	struct run_result r;

	run_logging_loads(&r, (const char *const[]){ test_build_path("guest/hello.elf"), NULL });
	cr_assert(strstr(r.err, "file=libc.so.6"), "the loader's log is there:\n%s", r.err);
	cr_assert_null(strstr(r.err, "libvirt"), "libvirt loaded without --domain:\n%s", r.err);
	cr_assert_null(strstr(r.err, "libxml2"), "libxml2 loaded without --domain:\n%s", r.err);
	run_free(&r);

	/* The same log does show it when --domain asks for it. */
	run_logging_loads(&r, (const char *const[]){ "--domain", domain_file(NULL, NULL), NULL });
	cr_assert(strstr(r.err, "file=libvirt.so.0"), "libvirt loaded for --domain:\n%s", r.err);
	run_free(&r);
}
