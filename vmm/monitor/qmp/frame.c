/*
 * Finding where each QMP message ends in a client's byte stream.
 *
 * jansson decodes a complete buffer but cannot be fed a stream piece by
 * piece, and handing it the buffer again after every read would make a
 * client that trickles a 64 KiB message in one-byte writes cost the monitor
 * quadratic time. So, as QEMU's JSON streamer does, messages are delimited
 * here by counting braces and brackets outside strings, in one pass over
 * each byte; decoding and every check of the JSON itself is jansson's
 * (monitor/qmp/session.c). A message that does not start with '{' or '[' (a bare
 * word, a number, binary junk) has no brace to end it and ends at its line's
 * end instead.
 *
 * The framer owns its QMP_MAX_MESSAGE buffer, taken from the session's arena
 * with kvmalloc: 64 KiB is past kmalloc's 8 KiB, and kvmalloc still serves
 * it from scattered frames when the zone has no free 64 KiB block.
 */
#include <errno.h>
#include <string.h>
#include "mm/kmalloc.h"
#include "vmm/monitor/qmp/internal.h"

int qmp_framer_init(struct qmp_framer *f, struct mm_arena *a)
{
	*f = (struct qmp_framer){ .mode = FRAME_IDLE };
	f->buf = kvmalloc(a, QMP_MAX_MESSAGE);
	return f->buf ? 0 : -ENOMEM;
}

void qmp_framer_destroy(struct qmp_framer *f, struct mm_arena *a)
{
	kvfree(a, f->buf);      /* NULL is ignored */
	f->buf = NULL;
}

static bool frame_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Looks at byte i; true when it ends the current message (which then spans
 * [start, *end)). */
static bool frame_step(struct qmp_framer *f, size_t i, size_t *end)
{
	char c = f->buf[i];

	switch (f->mode) {
	case FRAME_IDLE:
		if (frame_space(c)) {
			f->start = i + 1;
			return false;
		}
		f->start = i;
		if (c == '{' || c == '[') {
			f->mode = FRAME_NESTED;
			f->depth = 1;
		} else {
			f->mode = FRAME_LINE;
		}
		return false;
	case FRAME_LINE:
		if (c != '\n')
			return false;
		*end = i;
		return true;
	case FRAME_NESTED:
		break;
	}
	if (f->in_string) {
		if (f->escape)
			f->escape = false;
		else if (c == '\\')
			f->escape = true;
		else if (c == '"')
			f->in_string = false;
		return false;
	}
	if (c == '"') {
		f->in_string = true;
	} else if (c == '{' || c == '[') {
		f->depth++;
	} else if (c == '}' || c == ']') {
		/* A mismatched closer ("{]") still ends the message: jansson
		 * then reports the mismatch. */
		if (--f->depth == 0) {
			*end = i + 1;
			return true;
		}
	}
	return false;
}

/* Drops the delivered bytes, keeping the message in progress at offset 0. */
static void frame_compact(struct qmp_framer *f)
{
	size_t keep = f->mode == FRAME_IDLE ? 0 : f->len - f->start;

	if (keep && f->start)
		memmove(f->buf, f->buf + f->start, keep);
	f->scanned -= f->len - keep;
	f->len = keep;
	f->start = 0;
}

long qmp_framer_push(struct qmp_framer *f, const char *data, size_t len,
		     void (*fn)(void *arg, const char *msg, size_t len), void *arg)
{
	size_t take = QMP_MAX_MESSAGE - f->len;

	if (take > len)
		take = len;
	memcpy(f->buf + f->len, data, take);
	f->len += take;
	for (; f->scanned < f->len; f->scanned++) {
		size_t end;
		if (!frame_step(f, f->scanned, &end))
			continue;
		size_t start = f->start;
		f->mode = FRAME_IDLE;
		f->in_string = f->escape = false;
		f->start = f->scanned + 1;
		fn(arg, f->buf + start, end - start);
	}
	frame_compact(f);
	if (f->len == QMP_MAX_MESSAGE)
		return -EMSGSIZE;
	return (long)take;
}
