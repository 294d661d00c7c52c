/*
 * human-monitor-command: the `info` views as text, byte for byte what mm/'s
 * formatters print (the kernel's formats), so what a user reads through the
 * monitor is what --stats and the tests read. Lines end in "\n", not in
 * QEMU's HMP "\r\n": the text stays identical to /proc's.
 *
 * The text is printed on the stack, or when longer than that holds into a
 * scratch buffer from the session's arena (kvmalloc), freed as soon as
 * jansson has copied it into the reply string; never libc's heap.
 */
#include <stdio.h>
#include <string.h>
#include "mm/compaction.h"
#include "mm/extfrag.h"
#include "mm/kmalloc.h"
#include "mm/slab.h"
#include "vmm/core/vm_proactive.h"
#include "vmm/monitor/qmp/internal.h"
#include "vmm/memory/balloon_report.h"
#include "vmm/monitor/qmp/balloon_ref.h"

typedef size_t (*hmp_format_fn)(void *obj, char *buf, size_t len);

static size_t hmp_buddyinfo(void *a, char *buf, size_t len)
{
	return mm_format_buddyinfo(a, buf, len);
}

static size_t hmp_pagetypeinfo(void *a, char *buf, size_t len)
{
	return mm_format_pagetypeinfo(a, buf, len);
}

static size_t hmp_slabinfo(void *a, char *buf, size_t len)
{
	return slab_format_slabinfo(a, buf, len);
}

static size_t hmp_frames(void *a, char *buf, size_t len)
{
	return mm_format_frames(a, buf, len);
}

static size_t hmp_compaction(void *a, char *buf, size_t len)
{
	return mm_format_compaction(a, buf, len);
}

static size_t hmp_extfrag(void *a, char *buf, size_t len)
{
	return mm_format_extfrag_index(a, buf, len);
}

static size_t hmp_unusable(void *a, char *buf, size_t len)
{
	return mm_format_unusable_index(a, buf, len);
}

static size_t hmp_p2m(void *gm, char *buf, size_t len)
{
	return guest_mem_format_p2m(gm, buf, len);
}

static const struct hmp_info {
	const char *name;
	hmp_format_fn fn;
	bool on_guest_mem;          /* else on the arena */
	const char *help;
} hmp_infos[] = {
	{ "buddyinfo", hmp_buddyinfo, false, "free blocks per zone and order (/proc/buddyinfo)" },
	{ "pagetypeinfo", hmp_pagetypeinfo, false, "free blocks per migrate type (/proc/pagetypeinfo)" },
	{ "slabinfo", hmp_slabinfo, false, "the slab caches (/proc/slabinfo 2.1)" },
	{ "frames", hmp_frames, false, "frame states per zone (invariant I1)" },
	{ "compaction", hmp_compaction, false, "compaction counters (/proc/vmstat compact_*; kcompactd is the proactive thread)" },
	{ "extfrag", hmp_extfrag, false, "fragmentation index per zone and order (extfrag_index)" },
	{ "unusable", hmp_unusable, false, "unusable free space index per zone and order (unusable_index)" },
	{ "p2m", hmp_p2m, true, "guest regions and their p2m leaves" },
	{ "status", NULL, false, "the VM status (running|paused)" },
	{ "balloon", NULL, false, "the logical VM size the balloon leaves (as QEMU's)" },
};
#define HMP_NR_INFOS (sizeof(hmp_infos) / sizeof(hmp_infos[0]))

/*
 * The formatter's text as a JSON string.
 *
 * Most views describe the arena the monitor allocates from, so a scratch
 * buffer taken from it while printing would show up in the text (a slab
 * object in slabinfo, a new slab or block in buddyinfo and frames), and
 * the text would no longer be what the formatter prints for the VM alone.
 * So a text that fits is printed on the stack; only a longer one takes a
 * kvmalloc buffer, which is then past kmalloc's sizes and made of whole
 * frames (never a slab object).
 *
 * The state may grow between sizing and printing (the vCPUs run, and the
 * buffer itself comes from the arena), so the buffer has room to spare and
 * the print is retried with the new size when it did not fit.
 */
static json_t *hmp_text(struct mm_arena *a, hmp_format_fn fn, void *obj)
{
	char small[KMALLOC_MAX_SIZE];
	size_t need = fn(obj, small, sizeof(small));

	if (need < sizeof(small))
		return json_stringn(small, need);
	size_t cap = need + 1;
	for (int tries = 0; tries < 4; tries++) {
		cap += cap / 4 + 256;
		char *buf = kvmalloc(a, cap);
		if (!buf)
			return NULL;
		need = fn(obj, buf, cap);
		if (need < cap) {
			json_t *v = json_stringn(buf, need);
			kvfree(a, buf);
			return v;
		}
		kvfree(a, buf);
		cap = need + 1;
	}
	return json_string("(the state changed too fast to print)\n");
}

/* Free page reporting, when the device offers it: negotiated or not, and
 * what the guest's reports did (x-query-balloon's figures). */
static void hmp_reporting_line(const struct vm_control *t, const struct virtio_balloon_info *info,
			       char *buf, size_t len)
{
	struct balloon_report_stats st;

	if (!info->reporting_offered) {
		snprintf(buf, len, "free page reporting: off\n");
		return;
	}
	balloon_report_stats(t->guest_mem(t->ctx), &st);
	snprintf(buf, len, "free page reporting: %s ranges=%llu reported=%llu released=%llu "
		 "rejected=%llu kept=%llu last-report-ms=%llu\n",
		 info->features >> VIRTIO_BALLOON_F_REPORTING & 1 ? "on" : "offered",
		 (unsigned long long)st.ranges, (unsigned long long)st.bytes,
		 (unsigned long long)st.released, (unsigned long long)st.rejected,
		 (unsigned long long)st.kept_ranges, (unsigned long long)st.last_ms);
}

/* /proc/vmstat's compaction lines: the zones' counters, then kcompactd's,
 * which here are the proactive thread's (all 0 when it is off, as the
 * kernel prints them whatever happened). */
static json_t *hmp_compaction_text(struct qmp_session *s, const struct vm_control *t)
{
	struct vm_proactive_stats p;
	json_t *zones = hmp_text(s->arena, hmp_compaction, t->arena(t->ctx));
	char daemon[160];

	if (!zones)
		return NULL;
	qmp_proactive_stats(t, &p);
	snprintf(daemon, sizeof(daemon),
		 "compact_daemon_wake %llu\ncompact_daemon_migrate_scanned %llu\n"
		 "compact_daemon_free_scanned %llu\n", (unsigned long long)p.wakes,
		 (unsigned long long)p.migrate_scanned, (unsigned long long)p.free_scanned);
	json_t *text = json_sprintf("%s%s", json_string_value(zones), daemon);
	json_decref(zones);
	return text;
}

static json_t *hmp_info(struct qmp_session *s, const char *what)
{
	const struct vm_control *t = s->env->target;
	char line[128];

	for (size_t i = 0; i < HMP_NR_INFOS; i++) {
		const struct hmp_info *h = &hmp_infos[i];
		if (strcmp(h->name, what))
			continue;
		if (!h->fn && !strcmp(h->name, "balloon")) {
			struct virtio_balloon_info info;
			struct balloon_ref r;
			if (!balloon_ref_get(t, &r))
				return json_string("No balloon device has been activated\n");
			virtio_balloon_get_info(r.b, &info);
			uint64_t actual = balloon_logical_bytes(r.ram_bytes, info.actual);
			balloon_ref_put(&r);
			/* QEMU's words and unit (MiB), so scripts for it work;
			 * reporting on a line of its own after it. */
			char text[384];
			int n = snprintf(text, sizeof(text), "balloon: actual=%llu\n",
					 (unsigned long long)(actual >> 20));
			hmp_reporting_line(t, &info, text + n, sizeof(text) - (size_t)n);
			return json_string(text);
		}
		if (h->fn == hmp_compaction)
			return hmp_compaction_text(s, t);
		if (!h->fn) {
			snprintf(line, sizeof(line), "VM status: %s\n",
				 qmp_run_state_name(t->status(t->ctx)));
			return json_string(line);
		}
		void *obj = h->on_guest_mem ? (void *)t->guest_mem(t->ctx) : (void *)t->arena(t->ctx);
		return hmp_text(s->arena, h->fn, obj);
	}
	return NULL;
}

static json_t *hmp_info_list(void)
{
	char text[1024];
	size_t pos = 0;

	for (size_t i = 0; i < HMP_NR_INFOS && pos < sizeof(text); i++)
		pos += (size_t)snprintf(text + pos, sizeof(text) - pos, "info %-13s -- %s\n",
					hmp_infos[i].name, hmp_infos[i].help);
	return json_string(text);
}

/* The next word of *p (spaces and tabs separate words); its length. */
static size_t hmp_word(const char **p, const char **word)
{
	while (**p == ' ' || **p == '\t')
		(*p)++;
	*word = *p;
	while (**p && **p != ' ' && **p != '\t')
		(*p)++;
	return (size_t)(*p - *word);
}

json_t *qmp_cmd_hmp(struct qmp_session *s, json_t *args, struct qmp_error *err)
{
	const char *line = json_string_value(json_object_get(args, "command-line"));
	const char *p = line, *cmd, *what, *rest;
	size_t cmd_len = hmp_word(&p, &cmd);
	size_t what_len = hmp_word(&p, &what);
	char name[32];

	(void)err;
	if (cmd_len == 0)
		return json_string("");
	if (cmd_len == 4 && !strncmp(cmd, "info", 4) && hmp_word(&p, &rest) == 0) {
		if (what_len == 0)
			return hmp_info_list();
		if (what_len < sizeof(name)) {
			memcpy(name, what, what_len);
			name[what_len] = '\0';
			json_t *v = hmp_info(s, name);
			if (v)
				return v;
		}
	}
	/* As QEMU's HMP: an unknown command is text, not a QMP error. */
	json_t *v = json_sprintf("unknown command: '%s'\n", line);
	return v ? v : json_string("unknown command\n");
}
