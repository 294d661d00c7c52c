/*
 * The command line: defaults, every option, sizes with and without
 * suffixes, and each bad input giving one "<what>: <why>" line.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "mm/slab.h"
#include "vmm/config/cli/cli.h"

static int parse(struct vm_config *cfg, char *err, const char *const *args)
{
	char *argv[32] = { "memvisor" };
	int argc = 1;

	for (; args[argc - 1]; argc++)
		argv[argc] = (char *)args[argc - 1];
	argv[argc] = NULL;
	FILE *out = fopen("/dev/null", "w");
	int rc = cli_parse(argc, argv, cfg, out, err, 256);
	fclose(out);
	return rc;
}

#define PARSE(cfg, err, ...) parse(cfg, err, (const char *const[]){ __VA_ARGS__, NULL })

static void assert_error(const char *want, const char *const *args)
{
	struct vm_config cfg;
	char err[256] = "";

	cr_assert_eq(parse(&cfg, err, args), -22, "parsed; expected '%s'", want);
	cr_assert(strstr(err, want), "error '%s', expected '%s'", err, want);
	cr_assert_null(strchr(err, '\n'), "one line: '%s'", err);
}

#define ASSERT_ERROR(want, ...) assert_error(want, (const char *const[]){ __VA_ARGS__, NULL })

Test(cli, defaults)
{
	struct vm_config cfg;
	char err[256];

	unsetenv("MEMVISOR_KVM_DEVICE");
	cr_assert_eq(PARSE(&cfg, err, "guest.elf"), CLI_RUN);
	cr_assert_str_eq(cfg.image, "guest.elf");
	cr_assert_eq(cfg.mem_bytes, 256ULL << 20);
	cr_assert_eq(cfg.cpus, 1);
	cr_assert_eq(cfg.hugepages, MM_HUGE_AUTO);
	cr_assert_null(cfg.cmdline);
	cr_assert_null(cfg.initrd);
	cr_assert_not(cfg.stats);
	cr_assert_str_eq(cfg.kvm_device, "/dev/kvm");
	cr_assert_eq(cfg.out_fd, 1);
}

Test(cli, every_option)
{
	struct vm_config cfg;
	char err[256];

	cr_assert_eq(PARSE(&cfg, err, "-m", "1G", "--cpus", "2", "--hugepages", "off", "--cmdline",
			   "a=b c", "--initrd", "rd.img", "--slab", "slub", "--stats", "--kvm-device",
			   "/dev/null", "guest.elf"), CLI_RUN, "%s", err);
	cr_assert_eq(cfg.mem_bytes, 1ULL << 30);
	cr_assert_eq(cfg.cpus, 2);
	cr_assert_eq(cfg.hugepages, MM_HUGE_OFF);
	cr_assert_str_eq(cfg.cmdline, "a=b c");
	cr_assert_str_eq(cfg.initrd, "rd.img");
	cr_assert(cfg.stats);
	cr_assert_eq(cfg.slab_policy, MM_SLAB_SLUB);
	cr_assert_str_eq(cfg.kvm_device, "/dev/null");
	cr_assert_eq(PARSE(&cfg, err, "--slab", "slab", "guest.elf"), CLI_RUN, "%s", err);
	cr_assert_eq(cfg.slab_policy, MM_SLAB_SLAB);
	cr_assert_eq(PARSE(&cfg, err, "--slab=slob", "guest.elf"), CLI_RUN, "%s", err);
	cr_assert_eq(cfg.slab_policy, MM_SLAB_SLOB);
	/* The suites run under each policy through MEMVISOR_SLAB: set here
	 * and put back as it was. */
	const char *was = getenv(SLAB_POLICY_ENV);
	char saved[16] = "";
	if (was)
		snprintf(saved, sizeof(saved), "%s", was);
	unsetenv(SLAB_POLICY_ENV);
	cr_assert_eq(PARSE(&cfg, err, "guest.elf"), CLI_RUN, "%s", err);
	cr_assert_eq(cfg.slab_policy, MM_SLAB_DEFAULT, "no --slab, no MEMVISOR_SLAB: the default");
	setenv(SLAB_POLICY_ENV, "slob", 1);
	cr_assert_eq(PARSE(&cfg, err, "guest.elf"), CLI_RUN, "%s", err);
	cr_assert_eq(cfg.slab_policy, MM_SLAB_SLOB);
	cr_assert_eq(PARSE(&cfg, err, "--slab", "slab", "guest.elf"), CLI_RUN, "%s", err);
	cr_assert_eq(cfg.slab_policy, MM_SLAB_SLAB, "--slab overrides MEMVISOR_SLAB");
	setenv(SLAB_POLICY_ENV, "bogus", 1);
	cr_assert_eq(PARSE(&cfg, err, "guest.elf"), -EINVAL);
	cr_assert_str_eq(err, "MEMVISOR_SLAB=bogus: unknown slab policy (want slub, slab or slob)");
	if (was)
		setenv(SLAB_POLICY_ENV, saved, 1);
	else
		unsetenv(SLAB_POLICY_ENV);
	cr_assert_eq(PARSE(&cfg, err, "guest.elf", "--mem=64M", "--hugepages=on"), CLI_RUN,
		     "options after the image are accepted: %s", err);
	cr_assert_eq(cfg.mem_bytes, 64ULL << 20);
	cr_assert_eq(cfg.hugepages, MM_HUGE_ON);
	cr_assert_eq(cfg.normal_backing, MM_NORMAL_AUTO, "auto by default");
	cr_assert_not(cfg.prealloc);
	cr_assert_eq(PARSE(&cfg, err, "--normal-backing", "4k", "--prealloc", "guest.elf"), CLI_RUN,
		     "%s", err);
	cr_assert_eq(cfg.normal_backing, MM_NORMAL_4K);
	cr_assert(cfg.prealloc);
	cr_assert_eq(PARSE(&cfg, err, "--normal-backing=thp", "guest.elf"), CLI_RUN, "%s", err);
	cr_assert_eq(cfg.normal_backing, MM_NORMAL_THP);
	cr_assert_eq(cfg.compaction_proactiveness, 0, "off by default, as the sysctl's 0");
	cr_assert_eq(PARSE(&cfg, err, "--compaction-proactiveness", "20", "guest.elf"), CLI_RUN,
		     "%s", err);
	cr_assert_eq(cfg.compaction_proactiveness, 20);
	cr_assert_eq(PARSE(&cfg, err, "--compaction-proactiveness=100", "guest.elf"), CLI_RUN, "%s", err);
	cr_assert_eq(cfg.compaction_proactiveness, 100);
	cr_assert_eq(PARSE(&cfg, err, "--compaction-proactiveness", "0", "guest.elf"), CLI_RUN, "%s", err);
	cr_assert_eq(cfg.compaction_proactiveness, 0);
	cr_assert_eq(cfg.balloon_reporting, VM_SWITCH_UNSET, "unsaid: on with the balloon");
	cr_assert_eq(PARSE(&cfg, err, "--balloon-reporting", "off", "guest.elf"), CLI_RUN, "%s", err);
	cr_assert_eq(cfg.balloon_reporting, VM_SWITCH_OFF);
	cr_assert_eq(PARSE(&cfg, err, "--balloon-reporting=on", "guest.elf"), CLI_RUN, "%s", err);
	cr_assert_eq(cfg.balloon_reporting, VM_SWITCH_ON);
}

Test(cli, kvm_device_from_environment)
{
	struct vm_config cfg;
	char err[256];

	setenv("MEMVISOR_KVM_DEVICE", "/tmp/kvm", 1);
	cr_assert_eq(PARSE(&cfg, err, "guest.elf"), CLI_RUN);
	cr_assert_str_eq(cfg.kvm_device, "/tmp/kvm");
	cr_assert_eq(PARSE(&cfg, err, "--kvm-device", "/x", "guest.elf"), CLI_RUN);
	cr_assert_str_eq(cfg.kvm_device, "/x", "the option wins over the environment");
	unsetenv("MEMVISOR_KVM_DEVICE");
}

Test(cli, sizes)
{
	uint64_t b;

	cr_assert_eq(cli_parse_size("256M", &b), 0);
	cr_assert_eq(b, 256ULL << 20);
	cr_assert_eq(cli_parse_size("256", &b), 0);
	cr_assert_eq(b, 256ULL << 20, "a bare number is MiB");
	cr_assert_eq(cli_parse_size("4k", &b), 0);
	cr_assert_eq(b, 4096);
	cr_assert_eq(cli_parse_size("2G", &b), 0);
	cr_assert_eq(b, 2ULL << 30);
	cr_assert_eq(cli_parse_size("1T", &b), 0);
	cr_assert_eq(b, 1ULL << 40);
	cr_assert_eq(cli_parse_size("0", &b), -22);
	cr_assert_eq(cli_parse_size("12Q", &b), -22);
	cr_assert_eq(cli_parse_size("12MB", &b), -22);
	cr_assert_eq(cli_parse_size("-1M", &b), -22);
	cr_assert_eq(cli_parse_size("", &b), -22);
	cr_assert_eq(cli_parse_size(" 1M", &b), -22);
	cr_assert_eq(cli_parse_size("99999999999999999999", &b), -34);
	cr_assert_eq(cli_parse_size("17179869184G", &b), -34);
}

Test(cli, mem_rounds_up_to_2m)
{
	struct vm_config cfg;
	char err[256];

	cr_assert_eq(PARSE(&cfg, err, "-m", "1000K", "guest.elf"), CLI_RUN);
	cr_assert_eq(cfg.mem_bytes, 2ULL << 20);
	cr_assert_eq(PARSE(&cfg, err, "-m", "65M", "guest.elf"), CLI_RUN);
	cr_assert_eq(cfg.mem_bytes, 66ULL << 20);
}

Test(cli, bad_command_lines)
{
	ASSERT_ERROR("--mem 0: not a size", "--mem", "0", "x");
	ASSERT_ERROR("--mem 12Q: not a size", "--mem", "12Q", "x");
	ASSERT_ERROR("--mem 1T: more than this host's", "--mem", "1T", "x");
	ASSERT_ERROR("--mem 99999999999999999999: too large", "--mem", "99999999999999999999", "x");
	ASSERT_ERROR("--cpus 0: want a number", "--cpus", "0", "x");
	ASSERT_ERROR("--cpus two: want a number", "--cpus", "two", "x");
	ASSERT_ERROR("--cpus 99999: want a number", "--cpus", "99999", "x");
	ASSERT_ERROR("--hugepages maybe: want auto, on or off", "--hugepages", "maybe", "x");
	ASSERT_ERROR("--normal-backing 2m: want auto, thp or 4k", "--normal-backing", "2m", "x");
	ASSERT_ERROR("--slab magic: unknown policy", "--slab", "magic", "x");
	ASSERT_ERROR("--slab : unknown policy", "--slab", "", "x");
	ASSERT_ERROR("--slab SLUB: unknown policy", "--slab", "SLUB", "x");
	ASSERT_ERROR("--monitor : want a path of 1 to 107 bytes", "--monitor", "", "x");
	ASSERT_ERROR("want a path of 1 to 107 bytes (a Unix socket's limit)", "--monitor",
		     "/tmp/0123456789012345678901234567890123456789012345678901234567890123456789"
		     "01234567890123456789012345678901234567.sock", "x");
	ASSERT_ERROR("--compaction-proactiveness 101: want a number from 0 (off) to 100",
		     "--compaction-proactiveness", "101", "x");
	ASSERT_ERROR("--compaction-proactiveness -1: want a number", "--compaction-proactiveness", "-1",
		     "x");
	ASSERT_ERROR("--compaction-proactiveness high: want a number", "--compaction-proactiveness",
		     "high", "x");
	ASSERT_ERROR("--compaction-proactiveness : want a number", "--compaction-proactiveness", "",
		     "x");
	ASSERT_ERROR("--balloon-reporting yes: want on or off", "--balloon-reporting", "yes", "x");
	ASSERT_ERROR("--balloon-reporting ON: want on or off", "--balloon-reporting", "ON", "x");
	ASSERT_ERROR("--balloon-reporting : want on or off", "--balloon-reporting", "", "x");
	ASSERT_ERROR("--balloon-reporting: needs a value", "x", "--balloon-reporting");
	ASSERT_ERROR("--compaction-proactiveness 99999999999999999999: want a number",
		     "--compaction-proactiveness", "99999999999999999999", "x");
	ASSERT_ERROR("--compaction-proactiveness 2O: want a number", "--compaction-proactiveness",
		     "2O", "x");
	ASSERT_ERROR("--compaction-proactiveness: needs a value", "x", "--compaction-proactiveness");
	ASSERT_ERROR("--frobnicate: unknown option", "--frobnicate", "x");
	ASSERT_ERROR("-q: unknown option", "-q", "x");
	ASSERT_ERROR("--mem: needs a value", "x", "--mem");
	ASSERT_ERROR("IMAGE: missing", "--stats");
	ASSERT_ERROR("b.elf: one IMAGE only", "a.elf", "b.elf");
}

Test(cli, help_and_version)
{
	struct vm_config cfg;
	char err[256], buf[4096] = "";
	char *argv[] = { "memvisor", "--help", NULL };
	FILE *out = fmemopen(buf, sizeof(buf), "w");

	cr_assert_eq(cli_parse(2, argv, &cfg, out, err, sizeof(err)), CLI_DONE);
	fclose(out);
	cr_assert(strstr(buf, "usage: memvisor [options] IMAGE"));
	cr_assert(strstr(buf, "--monitor PATH"));
	cr_assert(strstr(buf, "serve QMP on a Unix socket"));
	argv[1] = "--version";
	memset(buf, 0, sizeof(buf));
	out = fmemopen(buf, sizeof(buf), "w");
	cr_assert_eq(cli_parse(2, argv, &cfg, out, err, sizeof(err)), CLI_DONE);
	fclose(out);
	cr_assert(strstr(buf, "memvisor " VMM_VERSION));
}
