/*
 * The terminal for `memvisorctl top` (term.c): keys read one at a time,
 * the alternate screen while the view is live, and everything put back as
 * it was when top ends, whatever way it ends.
 */
#ifndef MEMVISORCTL_TERM_H
#define MEMVISORCTL_TERM_H

#include <stdbool.h>

/* Key codes term_key returns besides characters. */
#define TERM_KEY_NONE  0                /* the time ran out */
#define TERM_KEY_STOP  (-1)             /* SIGINT, SIGTERM or SIGHUP arrived */

/*
 * Starts top's terminal: SIGINT, SIGTERM and SIGHUP end the view instead of
 * the process; with keys, stdin (a terminal) gives keys without Enter and
 * Ctrl-C as a key; with screen, stdout (a terminal) switches to the
 * alternate screen without a cursor.
 */
void term_begin(bool keys, bool screen);
/* Puts the terminal back (also run at exit; harmless twice). */
void term_end(void);
/* Waits up to timeout_ms for a key; a character, or a TERM_KEY_* code. */
int term_key(int timeout_ms);
/* stdout's size, or 80 x 24 when it is not a terminal. */
void term_size(int *cols, int *rows);

#endif
