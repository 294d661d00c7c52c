/*
 * memvisorctl SOCKET COMMAND: a command-line client for memvisor's QMP
 * monitor. This file reads the command line, opens the session and hands
 * over to the command; the commands live in commands.c and top.c, the
 * protocol in qmp_client.c.
 *
 * Exit status: 0 done, 1 the monitor could not be reached or refused the
 * command (one line on stderr says why), 2 a bad command line.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include "ctl.h"

#define DEFAULT_TIMEOUT_MS 5000

static void usage(FILE *f)
{
	fprintf(f,
		"usage: memvisorctl [OPTIONS] SOCKET COMMAND\n"
		"Talks to the QMP monitor of a memvisor started with --monitor SOCKET.\n"
		"\n"
		"commands:\n"
		"  info %s\n"
		"                      allocator state in the kernel's text formats;\n"
		"                      frames and regions as tables\n"
		"  status              whether the vCPUs run or are paused\n"
		"  stop | cont         pause / resume the vCPUs\n"
		"  quit                end the VM\n"
		"  compact [--order N|full] [--budget-ms N]\n"
		"                      compact zone Normal (default: full, no time limit)\n"
		"                      with the vCPUs paused; prints what moved\n"
		"  frames --svg FILE   draw each zone's pageblocks (state, migrate type, 2 MiB\n"
		"                      leaves) as an SVG picture, e.g. before and after compact\n"
		"  balloon SIZE        aim the guest at a logical size of SIZE (MiB, or with\n"
		"                      a suffix B, K, M, G, T); info balloon shows progress\n"
		"  raw JSON            send one QMP command exactly as given, print the reply\n"
		"  top                 live view of the busiest slab caches, the buddy's free\n"
		"                      blocks per order and the frame states, every second;\n"
		"                      keys: q or Ctrl-C quit, a / s sort the caches by active\n"
		"                      objects / slow-path events\n"
		"\n"
		"options:\n"
		"  --json              print the reply's \"return\" value as JSON\n"
		"  --timeout SECONDS   how long to wait for the monitor (default %d)\n"
		"  --once | -n N       top: refresh once / N times, then exit\n"
		"  --sort active|slow  top: the slab caches' order (default active)\n"
		"  --order N|full      compact: stop once a free block of order N exists\n"
		"  --budget-ms N       compact: stop after N ms (0: one step)\n"
		"  --svg FILE          frames: where the picture goes\n"
		"  -h, --help          this text\n",
		ctl_info_names, DEFAULT_TIMEOUT_MS / 1000);
}

__attribute__((format(printf, 1, 2)))
static int bad_usage(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("memvisorctl: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputs(" (memvisorctl --help)\n", stderr);
	va_end(ap);
	return CTL_EXIT_USAGE;
}

static bool parse_positive(const char *s, long max, long *out)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || end == s || *end || v <= 0 || v > max)
		return false;
	*out = v;
	return true;
}

enum { OPT_JSON = 256, OPT_TIMEOUT, OPT_ONCE, OPT_SORT, OPT_ORDER, OPT_BUDGET, OPT_SVG };

static const struct option options[] = {
	{ "json", no_argument, NULL, OPT_JSON },
	{ "timeout", required_argument, NULL, OPT_TIMEOUT },
	{ "once", no_argument, NULL, OPT_ONCE },
	{ "sort", required_argument, NULL, OPT_SORT },
	{ "order", required_argument, NULL, OPT_ORDER },
	{ "budget-ms", required_argument, NULL, OPT_BUDGET },
	{ "svg", required_argument, NULL, OPT_SVG },
	{ "help", no_argument, NULL, 'h' },
	{ 0 },
};

static int run_info(struct ctl *ctl, char **args) { return ctl_info(ctl, args[0]); }
static int run_raw(struct ctl *ctl, char **args) { return ctl_raw(ctl, args[0]); }
static int run_status(struct ctl *ctl, char **args) { (void)args; return ctl_status(ctl); }
static int run_stop(struct ctl *ctl, char **args) { (void)args; return ctl_simple(ctl, "stop"); }
static int run_cont(struct ctl *ctl, char **args) { (void)args; return ctl_simple(ctl, "cont"); }
static int run_quit(struct ctl *ctl, char **args) { (void)args; return ctl_simple(ctl, "quit"); }
static int run_top(struct ctl *ctl, char **args) { (void)args; return ctl_top(ctl); }
static int run_balloon(struct ctl *ctl, char **args) { return ctl_balloon(ctl, args[0]); }
static int run_compact(struct ctl *ctl, char **args) { (void)args; return ctl_compact(ctl); }
static int run_frames(struct ctl *ctl, char **args) { (void)args; return ctl_frames(ctl); }

static const struct command {
	const char *name;
	int nargs;
	int (*run)(struct ctl *ctl, char **args);
} commands[] = {
	{ "info", 1, run_info },
	{ "raw", 1, run_raw },
	{ "status", 0, run_status },
	{ "stop", 0, run_stop },
	{ "cont", 0, run_cont },
	{ "quit", 0, run_quit },
	{ "top", 0, run_top },
	{ "balloon", 1, run_balloon },
	{ "compact", 0, run_compact },
	{ "frames", 0, run_frames },
};

static const struct command *find_command(const char *name)
{
	for (size_t i = 0; i < sizeof(commands) / sizeof(*commands); i++)
		if (!strcmp(commands[i].name, name))
			return &commands[i];
	return NULL;
}

int main(int argc, char **argv)
{
	struct ctl ctl = { .timeout_ms = DEFAULT_TIMEOUT_MS, .compact_order = -1, .budget_ms = -1 };
	bool top_option = false, compact_option = false;
	long v;
	int opt;

	while ((opt = getopt_long(argc, argv, "hn:", options, NULL)) != -1) {
		switch (opt) {
		case OPT_JSON:
			ctl.json = true;
			break;
		case OPT_TIMEOUT:
			if (!parse_positive(optarg, INT_MAX / 1000, &v))
				return bad_usage("--timeout %s: not a whole number of seconds", optarg);
			ctl.timeout_ms = (int)v * 1000;
			break;
		case OPT_ONCE:
			ctl.refreshes = 1;
			top_option = true;
			break;
		case 'n':
			if (!parse_positive(optarg, INT_MAX, &v))
				return bad_usage("-n %s: not a positive number of refreshes", optarg);
			ctl.refreshes = (int)v;
			top_option = true;
			break;
		case OPT_SORT:
			if (strcmp(optarg, "active") && strcmp(optarg, "slow"))
				return bad_usage("--sort %s: use active or slow", optarg);
			ctl.sort_slow = !strcmp(optarg, "slow");
			top_option = true;
			break;
		case OPT_ORDER:
			if (!ctl_parse_order(optarg, &ctl.compact_order))
				return bad_usage("--order %s: use a block order (0, 1, ... 10) or full", optarg);
			compact_option = true;
			break;
		case OPT_BUDGET:
			if (!ctl_parse_budget_ms(optarg, &ctl.budget_ms))
				return bad_usage("--budget-ms %s: not a whole number of milliseconds", optarg);
			compact_option = true;
			break;
		case OPT_SVG:
			if (!*optarg)
				return bad_usage("--svg: needs a file name");
			ctl.svg = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			return CTL_EXIT_USAGE;   /* getopt has said what */
		}
	}
	if (argc - optind < 2)
		return bad_usage("%s", argc - optind ? "no COMMAND given" : "no SOCKET and COMMAND given");
	ctl.socket = argv[optind];
	const char *name = argv[optind + 1];
	char **args = argv + optind + 2;
	int nargs = argc - optind - 2;
	const struct command *cmd = find_command(name);
	if (!cmd)
		return bad_usage("%s: unknown command", name);
	if (nargs != cmd->nargs)
		return bad_usage(cmd->nargs ? "%s: needs one argument" : "%s: takes no arguments", name);
	if (cmd->run == run_info && !ctl_info_known(args[0]))
		return bad_usage("info %s: unknown; see --help for what info shows", args[0]);
	uint64_t size;
	if (cmd->run == run_balloon && !ctl_parse_size(args[0], &size))
		return bad_usage("balloon %s: not a size (MiB, or a number with B, K, M, G or T)",
				 args[0]);
	if (top_option && cmd->run != run_top)
		return bad_usage("%s: --once, -n and --sort are for top", name);
	if (compact_option && cmd->run != run_compact)
		return bad_usage("%s: --order and --budget-ms are for compact", name);
	if (ctl.svg && cmd->run != run_frames)
		return bad_usage("%s: --svg is for frames", name);
	if (cmd->run == run_frames && !ctl.svg && !ctl.json)
		return bad_usage("frames: needs --svg FILE (or --json for the data)");
	if (ctl.json && cmd->run == run_top)
		return bad_usage("%s: top is a live view; info --json gives the same data", name);

	if (qmp_connect(&ctl.qmp, ctl.socket, ctl.timeout_ms)) {
		int rc = ctl_fail(&ctl, ctl.socket);
		qmp_close(&ctl.qmp);
		return rc;
	}
	int rc = cmd->run(&ctl, args);
	qmp_close(&ctl.qmp);
	return rc;
}
