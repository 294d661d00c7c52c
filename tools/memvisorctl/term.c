/*
 * top's terminal handling. Keys come in non-canonical mode without echo
 * and without ISIG, so Ctrl-C arrives as byte 3 and top leaves through its
 * normal path, restoring the terminal; output processing stays on, so "\n"
 * still starts a new line. Stop signals only set a flag: poll returns
 * EINTR and the view ends the same way.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>
#include "term.h"

#define ALT_SCREEN_ON  "\x1b[?1049h\x1b[?25l"   /* and hide the cursor */
#define ALT_SCREEN_OFF "\x1b[?25h\x1b[?1049l"

static struct termios saved;
static bool raw_on, screen_on, keys_on, atexit_done;
static volatile sig_atomic_t stop_signal;

static void on_stop_signal(int sig)
{
	stop_signal = sig;
}

void term_end(void)
{
	if (raw_on)
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved);
	if (screen_on) {
		fputs(ALT_SCREEN_OFF, stdout);
		fflush(stdout);
	}
	raw_on = screen_on = false;
}

void term_begin(bool keys, bool screen)
{
	/* No SA_RESTART: the wait for a key must return at once. */
	struct sigaction sa = { .sa_handler = on_stop_signal };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	if (!atexit_done) {
		atexit(term_end);
		atexit_done = true;
	}
	keys_on = keys;
	if (keys && tcgetattr(STDIN_FILENO, &saved) == 0) {
		struct termios t = saved;
		t.c_lflag &= ~(tcflag_t)(ICANON | ECHO | ISIG);
		t.c_cc[VMIN] = 1;
		t.c_cc[VTIME] = 0;
		raw_on = tcsetattr(STDIN_FILENO, TCSAFLUSH, &t) == 0;
	}
	if (screen) {
		fputs(ALT_SCREEN_ON, stdout);
		fflush(stdout);
		screen_on = true;
	}
}

int term_key(int timeout_ms)
{
	struct pollfd p = { .fd = keys_on ? STDIN_FILENO : -1, .events = POLLIN };

	if (stop_signal)
		return TERM_KEY_STOP;
	int n = poll(&p, 1, timeout_ms);
	if (stop_signal || (n < 0 && errno == EINTR))
		return stop_signal ? TERM_KEY_STOP : TERM_KEY_NONE;
	if (n <= 0)
		return TERM_KEY_NONE;
	unsigned char c;
	if (read(STDIN_FILENO, &c, 1) != 1) {
		keys_on = false;                /* end of input: keep refreshing */
		return TERM_KEY_NONE;
	}
	return c;
}

void term_size(int *cols, int *rows)
{
	struct winsize ws;

	*cols = 80;
	*rows = 24;
	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col && ws.ws_row) {
		*cols = ws.ws_col;
		*rows = ws.ws_row;
	}
}
