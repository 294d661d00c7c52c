/*
 * The command line. Every check that needs only the arguments and the host's
 * size happens here, so a bad command line fails before anything is built;
 * what needs KVM (the vCPU limit) is checked when the VM is created.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "abi/memvisor.h"
#include "mm/slab.h"
#include "vmm/config/cli/cli.h"
#include "vmm/config/domain/domain.h"

/* Far above any KVM's limit; KVM_CAP_MAX_VCPUS decides later. */
#define CLI_CPUS_MAX 65536
#define CLI_SOCKET_PATH_MAX 107

enum {
	OPT_CPUS = 0x100, OPT_HUGEPAGES, OPT_CMDLINE, OPT_INITRD, OPT_MONITOR, OPT_SLAB,
	OPT_STATS, OPT_KVM_DEVICE, OPT_VERSION, OPT_DOMAIN, OPT_NORMAL_BACKING, OPT_PREALLOC,
	OPT_PROACTIVENESS, OPT_BALLOON_REPORTING,
};

static const struct option cli_options[] = {
	{ "mem", required_argument, NULL, 'm' },
	{ "cpus", required_argument, NULL, OPT_CPUS },
	{ "hugepages", required_argument, NULL, OPT_HUGEPAGES },
	{ "normal-backing", required_argument, NULL, OPT_NORMAL_BACKING },
	{ "prealloc", no_argument, NULL, OPT_PREALLOC },
	{ "cmdline", required_argument, NULL, OPT_CMDLINE },
	{ "initrd", required_argument, NULL, OPT_INITRD },
	{ "monitor", required_argument, NULL, OPT_MONITOR },
	{ "slab", required_argument, NULL, OPT_SLAB },
	{ "stats", no_argument, NULL, OPT_STATS },
	{ "compaction-proactiveness", required_argument, NULL, OPT_PROACTIVENESS },
	{ "balloon-reporting", required_argument, NULL, OPT_BALLOON_REPORTING },
	{ "kvm-device", required_argument, NULL, OPT_KVM_DEVICE },
	{ "domain", required_argument, NULL, OPT_DOMAIN },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ NULL, 0, NULL, 0 },
};

static const char cli_help[] =
	"usage: memvisor [options] IMAGE\n"
	"       memvisor --domain FILE [options] [IMAGE]\n"
	"Boots IMAGE (a PVH ELF, an ELF64 with a long-mode entry, or a Linux bzImage)\n"
	"in a KVM virtual machine whose RAM comes from memvisor's memory manager.\n"
	"\n"
	"  -m, --mem SIZE        guest RAM (default 256M); K, M, G, T suffixes, a bare\n"
	"                        number is MiB; rounded up to 2 MiB\n"
	"      --cpus N          vCPUs (default 1)\n"
	"      --hugepages MODE  auto (default: zone Huge when the hugetlb pool has room),\n"
	"                        on (fail when it has not), off\n"
	"      --normal-backing MODE  zone Normal's host pages: auto (default: 2 MiB\n"
	"                        transparent huge pages when the host allows), thp (fail\n"
	"                        when it does not), 4k\n"
	"      --prealloc        back all guest RAM before the guest starts\n"
	"      --cmdline STRING  the guest's command line\n"
	"      --initrd FILE     initial ramdisk (bzImage) or PVH module\n"
	"      --monitor PATH    serve QMP on a Unix socket at PATH (mode 0600)\n"
	"      --slab POLICY     slab allocator for the VMM's metadata: slub (default),\n"
	"                        slab or slob\n"
	"      --stats           print buddyinfo and slabinfo in full at exit\n"
	"      --compaction-proactiveness N  compact zone Normal in the background,\n"
	"                        0 (default: off) to 100, as Linux's sysctl; at most\n"
	"                        N/10 % of one CPU\n"
	"      --balloon-reporting on|off  free page reporting on the balloon: the\n"
	"                        guest gives back the memory it frees (default on)\n"
	"      --kvm-device PATH KVM device (default /dev/kvm, or $MEMVISOR_KVM_DEVICE)\n"
	"      --domain FILE     the guest from a libvirt domain XML (needs libvirt);\n"
	"                        the other flags and IMAGE override its values\n"
	"  -h, --help            this text\n"
	"      --version         the version\n"
	"\n"
	"Exit status: the guest's (0 for a clean exit, value*2+1 for port 0xf4),\n"
	"1 when memvisor itself fails, 2 when the guest crashes (report on stderr).\n";

__attribute__((format(printf, 3, 4)))
static int cli_fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

int cli_parse_size(const char *s, uint64_t *bytes)
{
	uint64_t v = 0;
	const char *p = s;

	if (!s || *s < '0' || *s > '9')
		return -EINVAL;
	for (; *p >= '0' && *p <= '9'; p++) {
		unsigned d = (unsigned)(*p - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -ERANGE;
		v = v * 10 + d;
	}
	unsigned shift = 20;
	if (*p) {
		const char *units = "KMGT";
		const char *u = strchr(units, *p >= 'a' ? *p - 'a' + 'A' : *p);
		if (!u || p[1])
			return -EINVAL;
		shift = 10 * (unsigned)(u - units + 1);
	}
	if (v == 0)
		return -EINVAL;
	if (v > UINT64_MAX >> shift)
		return -ERANGE;
	*bytes = v << shift;
	return 0;
}

static int cli_mem(const char *arg, struct vm_config *cfg, char *err, size_t errlen)
{
	uint64_t bytes;
	int rc = cli_parse_size(arg, &bytes);

	if (rc == -ERANGE)
		return cli_fail(err, errlen, "--mem %s: too large", arg);
	if (rc)
		return cli_fail(err, errlen, "--mem %s: not a size (want e.g. 256M, 2G; at least 2M)", arg);
	if (bytes > UINT64_MAX - (VMM_MEM_ALIGN - 1))
		return cli_fail(err, errlen, "--mem %s: too large", arg);
	bytes = (bytes + VMM_MEM_ALIGN - 1) & ~(VMM_MEM_ALIGN - 1);
	/* Guest RAM is reserved lazily, so only the host's size is a hard limit. */
	long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
	if (pages > 0 && page > 0 && bytes > (uint64_t)pages * (uint64_t)page)
		return cli_fail(err, errlen, "--mem %s: more than this host's %llu MiB of RAM", arg,
				(unsigned long long)pages * (unsigned long long)page >> 20);
	cfg->mem_bytes = bytes;
	return 0;
}

static int cli_cpus(const char *arg, struct vm_config *cfg, char *err, size_t errlen)
{
	char *end;

	errno = 0;
	long n = strtol(arg, &end, 10);
	if (errno || end == arg || *end || *arg < '0' || *arg > '9' || n < 1 || n > CLI_CPUS_MAX)
		return cli_fail(err, errlen, "--cpus %s: want a number from 1 to %d", arg, CLI_CPUS_MAX);
	cfg->cpus = (unsigned)n;
	return 0;
}

/* Which of names arg is, or -1. */
static int cli_pick(const char *arg, const char *const *names, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		if (!strcmp(arg, names[i]))
			return (int)i;
	return -1;
}

static int cli_hugepages(const char *arg, struct vm_config *cfg, char *err, size_t errlen)
{
	static const char *const modes[] = { [MM_HUGE_AUTO] = "auto", [MM_HUGE_ON] = "on",
					     [MM_HUGE_OFF] = "off" };
	int i = cli_pick(arg, modes, sizeof(modes) / sizeof(modes[0]));

	if (i < 0)
		return cli_fail(err, errlen, "--hugepages %s: want auto, on or off", arg);
	cfg->hugepages = (enum mm_huge_mode)i;
	return 0;
}

static int cli_normal_backing(const char *arg, struct vm_config *cfg, char *err, size_t errlen)
{
	static const char *const modes[] = { [MM_NORMAL_AUTO] = "auto", [MM_NORMAL_THP] = "thp",
					     [MM_NORMAL_4K] = "4k" };
	int i = cli_pick(arg, modes, sizeof(modes) / sizeof(modes[0]));

	if (i < 0)
		return cli_fail(err, errlen, "--normal-backing %s: want auto, thp or 4k", arg);
	cfg->normal_backing = (enum mm_normal_backing)i;
	return 0;
}

static int cli_slab(struct vm_config *cfg, const char *arg, char *err, size_t errlen)
{
	int p = slab_policy_parse(arg);

	if (p < 0)
		return cli_fail(err, errlen, "--slab %s: unknown policy (want slub, slab or slob)", arg);
	cfg->slab_policy = (enum mm_slab_policy)p;
	return 0;
}

#define CLI_PROACTIVENESS_MAX 100

static int cli_proactiveness(const char *arg, struct vm_config *cfg, char *err, size_t errlen)
{
	char *end;

	errno = 0;
	long n = strtol(arg, &end, 10);
	if (errno || end == arg || *end || *arg < '0' || *arg > '9' || n > CLI_PROACTIVENESS_MAX)
		return cli_fail(err, errlen, "--compaction-proactiveness %s: want a number from 0 "
				"(off) to %d", arg, CLI_PROACTIVENESS_MAX);
	cfg->compaction_proactiveness = (unsigned)n;
	return 0;
}

static int cli_balloon_reporting(const char *arg, struct vm_config *cfg, char *err, size_t errlen)
{
	static const char *const modes[] = { [VM_SWITCH_ON] = "on", [VM_SWITCH_OFF] = "off" };
	int i = cli_pick(arg, modes + VM_SWITCH_ON, 2);

	if (i < 0)
		return cli_fail(err, errlen, "--balloon-reporting %s: want on or off", arg);
	cfg->balloon_reporting = (enum vm_switch)(i + VM_SWITCH_ON);
	return 0;
}

/* getopt's own complaint, reworded into one line of ours. */
static int cli_bad_option(int c, int argc, char **argv, char *err, size_t errlen)
{
	const char *opt = optind > 0 && optind <= argc ? argv[optind - 1] : "?";

	if (c == ':')
		return cli_fail(err, errlen, "%s: needs a value (see --help)", opt);
	return cli_fail(err, errlen, "%s: unknown option (see --help)", opt);
}

static int cli_option(int c, const char *arg, struct vm_config *cfg, char *err, size_t errlen)
{
	switch (c) {
	case 'm':
		return cli_mem(arg, cfg, err, errlen);
	case OPT_CPUS:
		return cli_cpus(arg, cfg, err, errlen);
	case OPT_HUGEPAGES:
		return cli_hugepages(arg, cfg, err, errlen);
	case OPT_NORMAL_BACKING:
		return cli_normal_backing(arg, cfg, err, errlen);
	case OPT_PREALLOC:
		cfg->prealloc = true;
		return 0;
	case OPT_CMDLINE:
		if (strlen(arg) >= ABI_CMDLINE_MAX)
			return cli_fail(err, errlen, "--cmdline: %zu bytes, at most %d", strlen(arg),
					ABI_CMDLINE_MAX - 1);
		cfg->cmdline = arg;
		return 0;
	case OPT_INITRD:
		cfg->initrd = arg;
		return 0;
	case OPT_MONITOR:
		/* The socket's address holds sun_path's 108 bytes, NUL included. */
		if (!*arg || strlen(arg) > CLI_SOCKET_PATH_MAX)
			return cli_fail(err, errlen, "--monitor %s: want a path of 1 to %d bytes "
					"(a Unix socket's limit)", arg, CLI_SOCKET_PATH_MAX);
		cfg->monitor = arg;
		return 0;
	case OPT_SLAB:
		return cli_slab(cfg, arg, err, errlen);
	case OPT_STATS:
		cfg->stats = true;
		return 0;
	case OPT_PROACTIVENESS:
		return cli_proactiveness(arg, cfg, err, errlen);
	case OPT_BALLOON_REPORTING:
		return cli_balloon_reporting(arg, cfg, err, errlen);
	case OPT_KVM_DEVICE:
		cfg->kvm_device = arg;
		return 0;
	case OPT_DOMAIN:
		return 0;       /* read by cli_domain, before the other options */
	}
	return cli_fail(err, errlen, "option %d: not handled", c);
}

/*
 * --domain first: the XML's values are defaults that the other flags
 * override, and it is told which ones they give, so that it neither takes
 * nor checks those. A command line asking for help or holding a bad option
 * is left to the main pass, without loading libvirt.
 */
static int cli_domain(int argc, char **argv, struct vm_config *cfg, char *err, size_t errlen)
{
	struct domain_given given = { .image = false };
	const char *file = NULL;
	int c;

	while ((c = getopt_long(argc, argv, ":m:h", cli_options, NULL)) != -1) {
		if (c == 'h' || c == OPT_VERSION || c == '?' || c == ':') {
			file = NULL;
			break;
		}
		given.mem |= c == 'm';
		given.cpus |= c == OPT_CPUS;
		given.hugepages |= c == OPT_HUGEPAGES;
		given.prealloc |= c == OPT_PREALLOC;
		given.cmdline |= c == OPT_CMDLINE;
		given.initrd |= c == OPT_INITRD;
		given.balloon_reporting |= c == OPT_BALLOON_REPORTING;
		if (c == OPT_DOMAIN)
			file = optarg;
	}
	given.image = optind < argc;
	optind = 0;
	return file ? domain_load(file, &given, cfg, err, errlen) : 0;
}

void vm_config_init(struct vm_config *cfg)
{
	*cfg = (struct vm_config){
		.mem_bytes = VMM_DEFAULT_MEM,
		.cpus = 1,
		.hugepages = MM_HUGE_AUTO,
		.kvm_device = VMM_DEFAULT_KVM_DEVICE,
		.out_fd = 1,
	};
}

int cli_parse(int argc, char **argv, struct vm_config *cfg, FILE *out, char *err, size_t errlen)
{
	int c;

	vm_config_init(cfg);
	const char *env_dev = getenv(VMM_KVM_DEVICE_ENV);
	if (env_dev && *env_dev)
		cfg->kvm_device = env_dev;
	/* Checked here, once, in the command line's words; --slab overrides. */
	const char *env_slab = getenv(SLAB_POLICY_ENV);
	if (env_slab && *env_slab) {
		int p = slab_policy_parse(env_slab);
		if (p < 0)
			return cli_fail(err, errlen, "%s=%s: unknown slab policy (want slub, slab or slob)",
					SLAB_POLICY_ENV, env_slab);
		cfg->slab_policy = (enum mm_slab_policy)p;
	}
	optind = 0;     /* full reset: tests parse many command lines */
	opterr = 0;
	int drc = cli_domain(argc, argv, cfg, err, errlen);
	if (drc)
		return drc;
	/* Leading ':' makes a missing value ':' rather than '?'. */
	while ((c = getopt_long(argc, argv, ":m:h", cli_options, NULL)) != -1) {
		if (c == 'h') {
			fputs(cli_help, out);
			return CLI_DONE;
		}
		if (c == OPT_VERSION) {
			fprintf(out, "memvisor %s\n", VMM_VERSION);
			return CLI_DONE;
		}
		if (c == '?' || c == ':')
			return cli_bad_option(c, argc, argv, err, errlen);
		int rc = cli_option(c, optarg, cfg, err, errlen);
		if (rc)
			return rc;
	}
	if (cfg->balloon == VM_BALLOON_NONE && cfg->balloon_reporting == VM_SWITCH_ON)
		return cli_fail(err, errlen, "--balloon-reporting on: the domain has no balloon "
				"(<memballoon model='none'>)");
	if (optind >= argc && cfg->domain)
		return CLI_RUN;         /* IMAGE is the domain's <kernel> */
	if (optind >= argc)
		return cli_fail(err, errlen, "IMAGE: missing (usage: memvisor [options] IMAGE)");
	if (optind + 1 < argc)
		return cli_fail(err, errlen, "%s: one IMAGE only, this is a second one", argv[optind + 1]);
	cfg->image = argv[optind];
	return CLI_RUN;
}
