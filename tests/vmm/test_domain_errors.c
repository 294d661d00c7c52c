/*
 * --domain on bad input: each thing libvirt accepts without a word gets its
 * own one-line error from memvisor, malformed XML gets libvirt's message with
 * the line, and a missing libvirt names the package to install. All of these
 * fail before a VM exists, so none needs /dev/kvm.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "vmm/config/cli/cli.h"
#include "test_domain_fixture.h"

/* The example with from replaced by to fails with a line saying want. */
static void expect_error(const char *from, const char *to, const char *want)
{
	struct run_result r;
	const char *file = domain_file(from, to);

	run_memvisor(&r, &(struct run_opts){ 0 }, (const char *const[]){ "--domain", file, NULL });
	assert_domain_error(&r, file, want);
	run_free(&r);
}

Test(domain_errors, current_memory_above_memory)
{
	expect_error("<currentMemory unit='MiB'>192", "<currentMemory unit='MiB'>512",
		     "<currentMemory> 512 MiB is more than <memory> 256 MiB");
}

Test(domain_errors, numa_cells_that_do_not_add_up)
{
	expect_error("<devices>",
		     "<cpu><numa><cell id='0' cpus='0' memory='100' unit='MiB'/></numa></cpu><devices>",
		     "the NUMA cells add up to 100 MiB, but <memory> is 256 MiB");
}

Test(domain_errors, numa_cells_that_add_up_are_fine)
{
	struct vm_config cfg;
	char err[512] = "";
	const char *file = domain_file("<vcpu>1</vcpu>", "<vcpu>2</vcpu><cpu><numa>"
				       "<cell id='0' cpus='0' memory='128' unit='MiB'/>"
				       "<cell id='1' cpus='1' memory='131072'/></numa></cpu>");

	cr_assert_eq(PARSE(&cfg, err, "--domain", file), CLI_RUN, "%s", err);
	cr_assert_eq(cfg.mem_bytes, 256ULL << 20);
	cr_assert_eq(cfg.cpus, 2);
}

Test(domain_errors, unknown_element)
{
	expect_error("<devices>", "<turbo/><devices>",
		     "libvirt: the domain schema rejects it: Element domain has extra content: turbo");
}

Test(domain_errors, misspelt_attribute)
{
	/* Without schema validation this domain would get 256 KiB. */
	expect_error("<memory unit='MiB'>", "<memory unti='MiB'>", "Invalid attribute unti for element memory");
}

Test(domain_errors, absurd_vcpu_count)
{
	char vcpus[64], want[128];
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);

	snprintf(vcpus, sizeof(vcpus), "<vcpu>%ld</vcpu>", cpus * 8 + 1);
	snprintf(want, sizeof(want), "%s: more than 8 per CPU of this host", vcpus);
	expect_error("<vcpu>1</vcpu>", vcpus, want);
}

Test(domain_errors, vcpu_hotplug)
{
	expect_error("<vcpu>1</vcpu>", "<vcpu current='1'>2</vcpu>", "memvisor has no vCPU hotplug");
}

Test(domain_errors, missing_arch)
{
	expect_error("<type arch='x86_64'>", "<type>",
		     "<os><type> has no arch (libvirt would make it i686): memvisor needs arch='x86_64'");
}

Test(domain_errors, other_arch)
{
	expect_error("arch='x86_64'", "arch='i686'", "<os><type arch='i686'>: memvisor runs x86_64 guests only");
}

Test(domain_errors, not_kvm)
{
	expect_error("type='kvm'", "type='qemu'", "<domain type='qemu'>: memvisor runs type='kvm' domains");
}

Test(domain_errors, kernel_that_does_not_exist)
{
	expect_error(test_build_path("guest/hello.elf"), "/nonexistent/hello.elf",
		     "<kernel>/nonexistent/hello.elf</kernel>: No such file or directory");
}

Test(domain_errors, no_kernel_and_no_image)
{
	char kernel[512];

	snprintf(kernel, sizeof(kernel), "<kernel>%s</kernel>", test_build_path("guest/hello.elf"));
	expect_error(kernel, "", "no <os><kernel> and no IMAGE on the command line");
}

Test(domain_errors, gigantic_pages)
{
	expect_error("<devices>", "<memoryBacking><hugepages><page size='1' unit='GiB'/></hugepages>"
				  "</memoryBacking><devices>",
		     "<hugepages><page> of 1 GiB: memvisor backs guests with 2 MiB pages only");
}

Test(domain_errors, balloon_model)
{
	expect_error("model='virtio'", "model='xen'", "<memballoon model='xen'>: memvisor has model='virtio' or 'none'");
}

Test(domain_errors, balloon_reporting_value)
{
	/* libvirt itself refuses a value that is not on or off. */
	expect_error("model='virtio'", "model='virtio' freePageReporting='maybe'",
		     "the domain schema rejects it");
}

Test(domain_errors, malformed_xml_gives_libvirts_message_and_line)
{
	char want[128];
	const char *xml = example_xml();
	int os_line = 1, end_line = 1;

	/* Without </os> (its line stays, blank), libxml2 finds the mismatch
	 * at </domain>. */
	for (const char *p = xml; p < strstr(xml, "<os>"); p++)
		os_line += *p == '\n';
	for (const char *p = xml; p < strstr(xml, "</domain>"); p++)
		end_line += *p == '\n';
	snprintf(want, sizeof(want), "libvirt: line %d: Opening and ending tag mismatch: os line %d and domain",
		 end_line, os_line);
	expect_error("</os>", "", want);
}

Test(domain_errors, unreadable_file)
{
	struct run_result r;

	run_memvisor(&r, &(struct run_opts){ 0 }, (const char *const[]){ "--domain", "/nonexistent.xml", NULL });
	assert_domain_error(&r, "/nonexistent.xml", "cannot read it: No such file or directory");
	run_free(&r);
}

Test(domain_errors, without_libvirt_names_the_package)
{
	struct run_result r;
	const char *file = domain_file(NULL, NULL);

	setenv("MEMVISOR_LIBVIRT", "/nonexistent/libvirt.so.0", 1);
	run_memvisor(&r, &(struct run_opts){ 0 }, (const char *const[]){ "--domain", file, NULL });
	unsetenv("MEMVISOR_LIBVIRT");
	assert_domain_error(&r, file, "--domain needs libvirt, which did not load");
	cr_assert(strstr(r.err, "install the Debian package libvirt0"), "%s", r.err);
	run_free(&r);
}
