/*
 * The monitor's socket, against build/memvisor running the idle guest:
 * mode 0600 even under umask 0, nothing left beside it, a stale socket
 * replaced, a live socket and a regular file refused (and left alone), the
 * socket removed at exit (quit or signal), a path too long refused, and
 * the client past the limit turned away with a QMP error while the others
 * stay.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include "vmm/monitor/monitor.h"
#include "mon_proc.h"

static struct mon_proc vm;

static void start_idle(void)
{
	const char *args[] = { "-m", "32M", test_build_path("guest/idle.elf"), NULL };

	mon_proc_start(&vm, args);
}

/* A Unix socket bound at path: listening (live) or not (stale, once the
 * descriptor is closed). Returns the descriptor. */
static int bind_at(const char *path, bool listening)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	cr_assert_lt(strlen(path), sizeof(sa.sun_path));
	memcpy(sa.sun_path, path, strlen(path));
	cr_assert_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	if (listening)
		cr_assert_eq(listen(fd, 4), 0);
	return fd;
}

/* Runs memvisor, which must fail at once with status 1 and this message. */
static void expect_refused(const char *want)
{
	const char *args[] = { "-m", "32M", test_build_path("guest/idle.elf"), NULL };

	mon_proc_spawn(&vm, args);
	cr_assert(mon_proc_wait(&vm, 20), "memvisor kept running");
	char *err = mon_read_file(vm.err_path);
	cr_assert_eq(vm.status, 1, "status %d: %s", vm.status, err);
	cr_assert(strstr(err, want), "stderr: %s", err);
	free(err);
}

/* The private directory holds nothing but these names. */
static void expect_only(const char *const *names)
{
	DIR *d = opendir(vm.dir);
	struct dirent *e;

	while ((e = readdir(d))) {
		bool known = e->d_name[0] == '.' && (!e->d_name[1] || !strcmp(e->d_name, ".."));
		for (const char *const *n = names; *n && !known; n++)
			known = !strcmp(e->d_name, *n);
		cr_assert(known, "unexpected %s beside the socket", e->d_name);
	}
	closedir(d);
}

Test(socket, mode_0600_under_umask_0, .timeout = 60)
{
	struct stat st;

	test_need_kvm();
	mon_proc_init(&vm);
	mode_t old = umask(0);
	start_idle();
	umask(old);
	cr_assert_eq(lstat(vm.sock, &st), 0);
	cr_assert(S_ISSOCK(st.st_mode));
	cr_assert_eq(st.st_mode & 07777, 0600, "mode %o", st.st_mode & 07777);
	expect_only((const char *const[]){ "qmp.sock", "out", "err", NULL });
	struct mon_client c;
	cr_assert_eq(mon_connect(&c, vm.sock), 0);
	mon_negotiate(&c);
	json_decref(mon_cmd(&c, "{\"execute\": \"quit\"}"));
	cr_assert(mon_wait_eof(&c, 10), "the connection stayed open after quit");
	mon_close(&c);
	cr_assert(mon_proc_wait(&vm, 20));
	cr_assert_eq(vm.status, 0);
	cr_assert_neq(lstat(vm.sock, &st), 0, "the socket is still there after exit");
	mon_proc_finish(&vm);
}

Test(socket, stale_socket_replaced, .timeout = 60)
{
	struct stat before, after;

	test_need_kvm();
	mon_proc_init(&vm);
	close(bind_at(vm.sock, false));
	cr_assert_eq(lstat(vm.sock, &before), 0);
	start_idle();
	cr_assert_eq(lstat(vm.sock, &after), 0);
	cr_assert_neq(after.st_ino, before.st_ino, "the stale socket is still there");
	kill(vm.pid, SIGTERM);
	cr_assert(mon_proc_wait(&vm, 20));
	cr_assert_eq(vm.status, 128 + SIGTERM);
	cr_assert_neq(lstat(vm.sock, &after), 0, "the socket is still there after SIGTERM");
	mon_proc_finish(&vm);
}

Test(socket, live_socket_refused, .timeout = 60)
{
	struct stat before, after;
	struct mon_client c;

	test_need_kvm();
	mon_proc_init(&vm);
	int fd = bind_at(vm.sock, true);
	cr_assert_eq(lstat(vm.sock, &before), 0);
	expect_refused("another process is listening on this socket");
	cr_assert_eq(lstat(vm.sock, &after), 0);
	cr_assert_eq(after.st_ino, before.st_ino, "the live socket was replaced");
	cr_assert_eq(mon_connect(&c, vm.sock), 0, "the live socket no longer works");
	mon_close(&c);
	expect_only((const char *const[]){ "qmp.sock", "out", "err", NULL });
	close(fd);
	mon_proc_finish(&vm);
}

Test(socket, regular_file_refused, .timeout = 60)
{
	test_need_kvm();
	mon_proc_init(&vm);
	int fd = open(vm.sock, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	cr_assert_eq(write(fd, "keep", 4), 4);
	close(fd);
	expect_refused("exists and is not a socket");
	char *text = mon_read_file(vm.sock);
	cr_assert_str_eq(text, "keep");
	free(text);
	mon_proc_finish(&vm);
}

Test(socket, path_too_long)
{
	mon_proc_init(&vm);
	/* 108 bytes: one past what sun_path holds with its NUL. */
	memset(vm.sock, 'x', 108);
	vm.sock[0] = '/';
	vm.sock[108] = '\0';
	expect_refused("want a path of 1 to 107 bytes");
	snprintf(vm.sock, sizeof(vm.sock), "%s/qmp.sock", vm.dir);
	mon_proc_finish(&vm);
}

Test(socket, client_limit, .timeout = 60)
{
	struct mon_client c[MONITOR_MAX_CLIENTS + 1];

	test_need_kvm();
	mon_proc_init(&vm);
	start_idle();
	for (int i = 0; i < MONITOR_MAX_CLIENTS; i++) {
		cr_assert(mon_connect_greeted(&c[i], vm.sock, 10), "client %d", i);
		json_decref(mon_cmd(&c[i], "{\"execute\": \"qmp_capabilities\"}"));
	}
	struct mon_client extra;
	cr_assert_eq(mon_connect(&extra, vm.sock), 0);
	json_t *e = mon_read(&extra, 10);
	cr_assert_not_null(e, "no line for the client past the limit");
	char want[64];
	snprintf(want, sizeof(want), "Too many monitor clients (%d)", MONITOR_MAX_CLIENTS);
	cr_assert_str_eq(json_string_value(json_object_get(json_object_get(e, "error"), "desc")),
			 want);
	json_decref(e);
	cr_assert(mon_wait_eof(&extra, 10), "the client past the limit was kept");
	mon_close(&extra);
	/* Everyone else is still served; a slot freed is taken again. */
	for (int i = 0; i < MONITOR_MAX_CLIENTS; i++)
		json_decref(mon_cmd(&c[i], "{\"execute\": \"query-status\"}"));
	mon_close(&c[0]);
	cr_assert(mon_connect_greeted(&c[0], vm.sock, 10), "a freed slot was never given again");
	for (int i = 0; i < MONITOR_MAX_CLIENTS; i++)
		mon_close(&c[i]);
	mon_proc_finish(&vm);
}
