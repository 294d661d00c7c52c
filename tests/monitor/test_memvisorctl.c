/*
 * build/memvisorctl against a running memvisor (the idle guest, with
 * --monitor): each command's output and exit status, --json output that
 * parses, `top --once` with its three panels, and the errors for a socket
 * that is missing, not a socket, not listened on, or not a QMP monitor
 * (those need no VM).
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <jansson.h>
#include "vm_proc.h"

#define CTL_TIMEOUT_S 20.0

static struct vm_proc vm;

static void start_vm(void)
{
	test_need_kvm();
	vm_proc_start_memvisor(&vm, NULL);
}

static void stop_vm(void)
{
	vm_proc_finish(&vm);
}

/* memvisorctl SOCK args... with the VM's socket; fails the test on a
 * status other than want. */
static void ctl(struct ctl_run *r, int want, const char *const *args)
{
	const char *argv[16] = { vm.sock };
	size_t n = 1;

	for (; *args && n < 15; args++)
		argv[n++] = *args;
	argv[n] = NULL;
	ctl_run(r, CTL_TIMEOUT_S, argv);
	cr_assert_eq(r->status, want, "memvisorctl %s %s: status %d, want %d\nstdout:\n%s\nstderr:\n%s", argv[1],
		     argv[2] ? argv[2] : "", r->status, want, r->out, r->err);
}

#define CTL(r, want, ...) ctl((r), (want), (const char *const[]){ __VA_ARGS__, NULL })

static void expect_in(const char *text, const char *needle, const char *what)
{
	cr_expect_not_null(strstr(text, needle), "%s: no \"%s\" in:\n%s", what, needle, text);
}

TestSuite(memvisorctl, .init = start_vm, .fini = stop_vm, .timeout = 60);

Test(memvisorctl, status_stop_cont)
{
	struct ctl_run r;

	CTL(&r, 0, "status");
	cr_expect_str_eq(r.out, "VM status: running\n");
	ctl_run_free(&r);
	CTL(&r, 0, "stop");
	cr_expect_str_eq(r.out, "");
	ctl_run_free(&r);
	CTL(&r, 0, "status");
	cr_expect_str_eq(r.out, "VM status: paused\n");
	ctl_run_free(&r);
	CTL(&r, 0, "cont");
	ctl_run_free(&r);
	CTL(&r, 0, "status");
	cr_expect_str_eq(r.out, "VM status: running\n");
	ctl_run_free(&r);
}

Test(memvisorctl, info_text_in_the_kernel_formats)
{
	struct ctl_run r;

	CTL(&r, 0, "info", "buddyinfo");
	expect_in(r.out, "Node 0, zone   Normal", "info buddyinfo");
	ctl_run_free(&r);
	CTL(&r, 0, "info", "pagetypeinfo");
	expect_in(r.out, "Page block order: 9", "info pagetypeinfo");
	expect_in(r.out, "Number of blocks type", "info pagetypeinfo");
	ctl_run_free(&r);
	CTL(&r, 0, "info", "slabinfo");
	expect_in(r.out, "slabinfo - version: 2.1", "info slabinfo");
	ctl_run_free(&r);
	CTL(&r, 0, "info", "p2m");
	cr_expect_gt(strlen(r.out), 0, "info p2m printed nothing");
	ctl_run_free(&r);
}

Test(memvisorctl, info_tables)
{
	struct ctl_run r;

	CTL(&r, 0, "info", "frames");
	expect_in(r.out, "ZONE", "info frames");
	expect_in(r.out, "BALLOONED", "info frames");
	expect_in(r.out, "Normal", "info frames");
	expect_in(r.out, "  ok\n", "info frames");
	cr_expect_null(strstr(r.out, "MISMATCH"), "info frames:\n%s", r.out);
	ctl_run_free(&r);
	CTL(&r, 0, "info", "regions");
	expect_in(r.out, "GPA RANGE", "info regions");
	expect_in(r.out, "0x0000000000000000-", "info regions");
	expect_in(r.out, "of guest RAM", "info regions");
	ctl_run_free(&r);
}

/* --json prints one JSON value, holding key when key is not NULL. */
static void expect_json(const char *what, const char *key, const char *const *args)
{
	struct ctl_run r;
	json_error_t err;

	ctl(&r, 0, args);
	json_t *v = json_loads(r.out, 0, &err);
	cr_expect_not_null(v, "%s --json: not JSON (%s):\n%s", what, err.text, r.out);
	if (v && key)
		cr_expect_not_null(json_object_get(v, key), "%s --json: no \"%s\" in %s", what, key, r.out);
	json_decref(v);
	ctl_run_free(&r);
}

#define EXPECT_JSON(what, key, ...) expect_json((what), (key), (const char *const[]){ __VA_ARGS__, NULL })

Test(memvisorctl, json_output_parses)
{
	EXPECT_JSON("status", "status", "--json", "status");
	EXPECT_JSON("info buddyinfo", "zones", "--json", "info", "buddyinfo");
	EXPECT_JSON("info pagetypeinfo", "zones", "--json", "info", "pagetypeinfo");
	EXPECT_JSON("info slabinfo", "caches", "--json", "info", "slabinfo");
	EXPECT_JSON("info p2m", NULL, "--json", "info", "p2m");
	EXPECT_JSON("info frames", "zones", "--json", "info", "frames");
	EXPECT_JSON("info regions", "regions", "--json", "info", "regions");
	EXPECT_JSON("stop", NULL, "--json", "stop");
	EXPECT_JSON("cont", NULL, "--json", "cont");
}

Test(memvisorctl, raw)
{
	struct ctl_run r;

	CTL(&r, 0, "raw", "{\"execute\": \"query-status\", \"id\": \"t1\"}");
	json_t *v = json_loads(r.out, 0, NULL);
	cr_assert_not_null(v, "raw: not JSON:\n%s", r.out);
	cr_expect_str_eq(json_string_value(json_object_get(v, "id")), "t1");
	cr_expect(json_is_object(json_object_get(v, "return")), "raw: %s", r.out);
	json_decref(v);
	ctl_run_free(&r);

	/* A QMP error is printed too, and the status says it failed. */
	CTL(&r, 1, "raw", "{\"execute\": \"no-such-command\"}");
	expect_in(r.out, "\"error\"", "raw with an unknown command");
	ctl_run_free(&r);
	CTL(&r, 2, "raw", "{\"execute\": ");
	expect_in(r.err, "memvisorctl: raw: invalid JSON", "raw with bad JSON");
	ctl_run_free(&r);
}

Test(memvisorctl, top_once_prints_three_panels)
{
	struct ctl_run r;

	CTL(&r, 0, "top", "--once");
	expect_in(r.out, "memvisor top", "top --once");
	expect_in(r.out, "Frame states", "top --once");
	expect_in(r.out, "Buddy free blocks per order", "top --once");
	expect_in(r.out, "2 MiB blocks: extfrag index ", "top --once");
	expect_in(r.out, "Slab caches (", "top --once");
	expect_in(r.out, "), busiest by active objects", "top --once");
	expect_in(r.out, "VM running", "top --once");
	/* stdout is not a terminal: plain text, no escape sequences. */
	cr_expect_null(strchr(r.out, '\x1b'), "top --once wrote escape sequences");
	ctl_run_free(&r);
}

Test(memvisorctl, top_refreshes_n_times_and_sorts_by_slow_path)
{
	struct ctl_run r;

	CTL(&r, 0, "top", "-n", "2", "--sort", "slow");
	char *second = strstr(r.out, "memvisor top");
	cr_assert_not_null(second);
	cr_expect_not_null(strstr(second + 1, "memvisor top"), "top -n 2 printed one screen:\n%s", r.out);
	expect_in(r.out, "busiest by slow-path events", "top --sort slow");
	ctl_run_free(&r);
}

Test(memvisorctl, compact_prints_what_it_did)
{
	struct ctl_run r;

	CTL(&r, 0, "compact");
	expect_in(r.out, "zone Normal: moved ", "compact");
	expect_in(r.out, "hash mismatches 0\n", "compact");
	expect_in(r.out, "ranges to 2 MiB leaves", "compact");
	expect_in(r.out, "vCPUs paused ", "compact");
	ctl_run_free(&r);
	CTL(&r, 0, "compact", "--order", "3", "--budget-ms", "50");
	expect_in(r.out, "stopped: ", "compact --order 3");
	ctl_run_free(&r);
	EXPECT_JSON("compact", "moved", "--json", "compact", "--budget-ms", "0");
	/* The monitor knows the zone's largest order; the client does not. */
	CTL(&r, 1, "compact", "--order", "40");
	expect_in(r.err, "memvisorctl: compact: ", "compact --order 40");
	expect_in(r.err, "'order'", "compact --order 40");
	ctl_run_free(&r);
}

/* The picture at path: an SVG with one cell per pageblock at least. */
static void expect_svg(const char *path)
{
	FILE *f = fopen(path, "r");
	char buf[4096] = "";

	cr_assert_not_null(f, "%s was not written", path);
	cr_assert_gt(fread(buf, 1, sizeof(buf) - 1, f), 0);
	fclose(f);
	expect_in(buf, "<?xml", path);
	expect_in(buf, "<svg xmlns=\"http://www.w3.org/2000/svg\"", path);
	expect_in(buf, "zone Normal: ", path);
	expect_in(buf, "<rect class=\"pb ", path);
}

Test(memvisorctl, frames_svg_before_and_after_compact)
{
	char dir[64], before[128], after[128], tmp[140];
	struct ctl_run r;

	test_temp_dir(dir, sizeof(dir), "frames-svg");
	snprintf(before, sizeof(before), "%s/before.svg", dir);
	snprintf(after, sizeof(after), "%s/after.svg", dir);
	CTL(&r, 0, "frames", "--svg", before);
	expect_in(r.out, "pageblocks in ", "frames --svg");
	ctl_run_free(&r);
	CTL(&r, 0, "compact");
	ctl_run_free(&r);
	CTL(&r, 0, "frames", "--svg", after);
	ctl_run_free(&r);
	expect_svg(before);
	expect_svg(after);
	snprintf(tmp, sizeof(tmp), "%s.tmp", after);
	cr_expect_neq(access(tmp, F_OK), 0, "the temporary file was left behind");
	EXPECT_JSON("frames", "zones", "--json", "frames");
	/* A directory that is not there: status 1, nothing half written. */
	snprintf(tmp, sizeof(tmp), "%s/no/such.svg", dir);
	CTL(&r, 1, "frames", "--svg", tmp);
	expect_in(r.err, "memvisorctl: ", "frames --svg in a missing directory");
	ctl_run_free(&r);
	unlink(before);
	unlink(after);
	rmdir(dir);
}

Test(memvisorctl, quit_ends_the_vm)
{
	struct ctl_run r;

	CTL(&r, 0, "quit");
	ctl_run_free(&r);
	cr_assert(vm_proc_wait(&vm, 5), "memvisor still runs 5 s after quit");
	cr_expect_eq(vm.status, 0, "memvisor's status after quit: %d", vm.status);
	char *out = vm_proc_read(vm.out_path);
	expect_in(out, "idle: sleeping on the halt port", "the idle guest's output");
	free(out);
}

Test(memvisorctl, bad_command_lines)
{
	struct ctl_run r;

	CTL(&r, 2, "info", "nothing");
	expect_in(r.err, "memvisorctl: info nothing: unknown", "info nothing");
	ctl_run_free(&r);
	CTL(&r, 2, "frobnicate");
	expect_in(r.err, "memvisorctl: frobnicate: unknown command", "an unknown command");
	ctl_run_free(&r);
	CTL(&r, 2, "status", "--once");
	expect_in(r.err, "are for top", "a top option elsewhere");
	ctl_run_free(&r);
}

/* ---- errors without a VM ---------------------------------------------------- */

/* The client's run, expecting status 1 and "memvisorctl: SOCK: why". */
static void expect_socket_error(const char *sock, const char *why)
{
	struct ctl_run r;
	char want[256];

	ctl_run(&r, CTL_TIMEOUT_S, (const char *const[]){ "--timeout", "1", sock, "status", NULL });
	snprintf(want, sizeof(want), "memvisorctl: %s: %s", sock, why);
	cr_expect_eq(r.status, 1, "status %d for %s", r.status, why);
	cr_expect_not_null(strstr(r.err, want), "no \"%s\" in:\n%s", want, r.err);
	cr_expect_str_eq(r.out, "");
	ctl_run_free(&r);
}

static int bound_socket(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	cr_assert_lt(strlen(path), sizeof(sa.sun_path));
	memcpy(sa.sun_path, path, strlen(path) + 1);
	cr_assert(fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	return fd;
}

static char tmpdir[64];

static void make_tmpdir(void)
{
	test_temp_dir(tmpdir, sizeof(tmpdir), "memvisorctl");
}

static const char *in_tmpdir(const char *name)
{
	static char path[4][128];
	static int next;
	char *p = path[next++ % 4];
	snprintf(p, sizeof(path[0]), "%s/%s", tmpdir, name);
	return p;
}

static void remove_tmpdir(void)
{
	const char *names[] = { "file", "stale", "silent", "chatty" };
	for (size_t i = 0; i < sizeof(names) / sizeof(*names); i++)
		unlink(in_tmpdir(names[i]));
	rmdir(tmpdir);
}

TestSuite(memvisorctl_errors, .init = make_tmpdir, .fini = remove_tmpdir, .timeout = 60);

/* Refused with status 2 before any connection (the socket is not there). */
static void expect_usage(const char *want, const char *const *args)
{
	const char *argv[16];
	size_t n = 0;
	struct ctl_run r;

	for (; *args && n < 15; args++)
		argv[n++] = *args;
	argv[n] = NULL;
	ctl_run(&r, CTL_TIMEOUT_S, argv);
	cr_expect_eq(r.status, 2, "status %d for %s", r.status, want);
	cr_expect_not_null(strstr(r.err, want), "no \"%s\" in:\n%s", want, r.err);
	ctl_run_free(&r);
}

#define EXPECT_USAGE(want, ...) expect_usage((want), (const char *const[]){ __VA_ARGS__, NULL })

Test(memvisorctl_errors, compact_and_frames_command_lines)
{
	const char *sock = in_tmpdir("nothing-here");

	EXPECT_USAGE("--order x: use a block order", sock, "compact", "--order", "x");
	EXPECT_USAGE("--order -1: use a block order", sock, "compact", "--order", "-1");
	EXPECT_USAGE("--order 64: use a block order", sock, "compact", "--order", "64");
	EXPECT_USAGE("--order 99999999999999999999: use", sock, "compact", "--order",
		     "99999999999999999999");
	EXPECT_USAGE("--budget-ms soon: not a whole number", sock, "compact", "--budget-ms", "soon");
	EXPECT_USAGE("--budget-ms -5: not a whole number", sock, "compact", "--budget-ms", "-5");
	EXPECT_USAGE("--budget-ms 9223372036855: not", sock, "compact", "--budget-ms",
		     "9223372036855");
	EXPECT_USAGE("compact: takes no arguments", sock, "compact", "9");
	EXPECT_USAGE("status: --order and --budget-ms are for compact", sock, "status", "--order", "3");
	EXPECT_USAGE("frames: needs --svg FILE", sock, "frames");
	EXPECT_USAGE("--svg: needs a file name", sock, "frames", "--svg", "");
	EXPECT_USAGE("compact: --svg is for frames", sock, "compact", "--svg", "x.svg");
}

Test(memvisorctl_errors, missing_socket)
{
	expect_socket_error(in_tmpdir("nothing-here"), "no such socket");
}

Test(memvisorctl_errors, not_a_socket)
{
	const char *file = in_tmpdir("file");
	FILE *f = fopen(file, "w");
	cr_assert_not_null(f);
	fclose(f);
	expect_socket_error(file, "not a socket");
}

Test(memvisorctl_errors, nobody_listens)
{
	const char *path = in_tmpdir("stale");
	close(bound_socket(path));      /* what a crashed server leaves behind */
	expect_socket_error(path, "connection refused");
}

Test(memvisorctl_errors, silent_socket_is_not_qmp)
{
	const char *path = in_tmpdir("silent");
	int fd = bound_socket(path);
	cr_assert_eq(listen(fd, 4), 0);   /* connections queue; nobody ever talks */
	expect_socket_error(path, "not a QMP monitor");
	close(fd);
}

/* Accepts one client and greets it in another protocol. */
static void *chatty_server(void *arg)
{
	int c = accept(*(int *)arg, NULL, NULL);
	static const char banner[] = "SSH-2.0-server\r\n";
	if (c >= 0) {
		if (write(c, banner, sizeof(banner) - 1) < 0)
			perror("chatty server");
		char buf[256];
		while (read(c, buf, sizeof(buf)) > 0)
			;
		close(c);
	}
	return NULL;
}

Test(memvisorctl_errors, other_protocol_is_not_qmp)
{
	const char *path = in_tmpdir("chatty");
	int fd = bound_socket(path);
	pthread_t t;
	cr_assert_eq(listen(fd, 4), 0);
	cr_assert_eq(pthread_create(&t, NULL, chatty_server, &fd), 0);
	expect_socket_error(path, "not a QMP monitor");
	pthread_join(t, NULL);
	close(fd);
}
