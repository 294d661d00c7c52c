/*
 * The monitor while nobody reads the VMM's stdout: a guest floods its
 * console into a pipe that is never read, and the monitor still answers.
 * stop parks the vCPUs and returns, a second client is greeted meanwhile,
 * x-query-output says what the console could not write, cont and quit
 * work, and the process ends.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "mon_client.h"

extern char **environ;

#define INT(o, key) ((uint64_t)json_integer_value(json_object_get(o, key)))

static json_t *ret_of(json_t *reply)
{
	cr_assert_not_null(reply, "no reply");
	json_t *r = json_object_get(reply, "return");
	cr_assert_not_null(r, "not a success: %s", json_dumps(reply, 0));
	return r;
}

Test(output_stall, the_monitor_answers_while_stdout_is_stalled)
{
	char dir[128], sock[160];
	int out[2];
	pid_t pid;
	posix_spawn_file_actions_t fa;

	test_need_kvm();
	test_temp_dir(dir, sizeof(dir), "output-stall");
	snprintf(sock, sizeof(sock), "%s/qmp.sock", dir);
	char *argv[] = { (char *)test_build_path("memvisor"), "-m", "64M", "--monitor", sock,
			 (char *)test_build_path("guest/flood.elf"), NULL };
	cr_assert_eq(pipe2(out, O_CLOEXEC), 0);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, out[1], STDOUT_FILENO);
	posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
	cr_assert_eq(posix_spawn(&pid, argv[0], &fa, NULL, argv, environ), 0);
	posix_spawn_file_actions_destroy(&fa);
	close(out[1]);

	struct mon_client a, b;
	cr_assert(mon_connect_greeted(&a, sock, 10.0), "no greeting");
	mon_send(&a, "{\"execute\": \"qmp_capabilities\"}");
	json_decref(mon_read(&a, 5.0));
	usleep(1000 * 1000);     /* the pipe and the console's buffer fill up */

	double t0 = test_now();
	json_t *r = mon_cmd(&a, "{\"execute\": \"stop\"}");
	ret_of(r);
	json_decref(r);
	cr_log_info("stop took %.3f s with stdout stalled\n", test_now() - t0);
	r = mon_cmd(&a, "{\"execute\": \"query-status\"}");
	cr_assert_str_eq(json_string_value(json_object_get(ret_of(r), "status")), "paused");
	json_decref(r);
	cr_assert(mon_connect_greeted(&b, sock, 5.0), "a second client is not greeted");
	mon_send(&b, "{\"execute\": \"qmp_capabilities\"}");
	json_decref(mon_read(&b, 5.0));

	r = mon_cmd(&b, "{\"execute\": \"x-query-output\"}");
	json_t *con = json_object_get(ret_of(r), "console");
	cr_assert_not_null(con);
	cr_assert_gt(INT(con, "dropped") + INT(con, "queued"), 0, "%s", json_dumps(r, 0));
	cr_assert_gt(INT(con, "written"), 0);
	json_decref(r);

	r = mon_cmd(&b, "{\"execute\": \"cont\"}");
	ret_of(r);
	json_decref(r);
	t0 = test_now();
	mon_send(&b, "{\"execute\": \"quit\"}");
	int st = 0;
	pid_t w = 0;
	while (test_now() - t0 < 5.0 && (w = waitpid(pid, &st, WNOHANG)) == 0)
		usleep(5000);
	if (w != pid) {
		kill(pid, SIGKILL);
		waitpid(pid, &st, 0);
		cr_assert_fail("quit did not end memvisor within 5 s with stdout stalled");
	}
	cr_log_info("quit ended memvisor in %.3f s\n", test_now() - t0);
	cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %#x", st);
	mon_close(&a);
	mon_close(&b);
	close(out[0]);
	unlink(sock);
	rmdir(dir);
}
