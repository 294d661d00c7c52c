/*
 * balloon, query-balloon and x-query-balloon. The first two speak QEMU's
 * language: sizes are the logical VM size (RAM minus the balloon), and a
 * VM without a balloon device gets QEMU's DeviceNotActive error. The third
 * adds what memvisor knows and QEMU does not: the target, the frames back
 * in the buddy, the host memory released as measured, the pending frames,
 * the bogus PFNs refused, and the guest's latest stats.
 */
#include <errno.h>
#include "vmm/memory/balloon_mem.h"
#include "vmm/memory/balloon_report.h"
#include "vmm/monitor/qmp/balloon_ref.h"
#include "vmm/monitor/qmp/cmd_balloon.h"

const struct qmp_param qmp_balloon_params[] = {
	{ "value", JSON_INTEGER, false },
	{ NULL, 0, false },
};

#define NO_BALLOON "No balloon device has been activated"

/* Stats tags as QEMU names them in guest-stats (virtio 1.x 5.5.6.3). */
static const char *const stat_names[VIRTIO_BALLOON_S_NR] = {
	"stat-swap-in", "stat-swap-out", "stat-major-faults", "stat-minor-faults",
	"stat-free-memory", "stat-total-memory", "stat-available-memory",
	"stat-disk-caches", "stat-htlb-pgalloc", "stat-htlb-pgfail", "stat-oom-kills",
	"stat-alloc-stalls", "stat-async-scans", "stat-direct-scans",
	"stat-async-reclaims", "stat-direct-reclaims",
};

json_t *qmp_cmd_balloon(struct qmp_session *s, json_t *args, struct qmp_error *err)
{
	json_int_t value = json_integer_value(json_object_get(args, "value"));
	struct balloon_ref r;

	if (!balloon_ref_get(s->env->target, &r))
		return qmp_fail(err, "DeviceNotActive", NO_BALLOON);
	if (value <= 0) {
		balloon_ref_put(&r);
		return qmp_fail(err, "GenericError", "Parameter 'target' expects a size");
	}
	virtio_balloon_set_target(r.b, balloon_pages_for(r.ram_bytes, (uint64_t)value));
	balloon_ref_put(&r);
	return json_object();
}

json_t *qmp_cmd_query_balloon(struct qmp_session *s, json_t *args, struct qmp_error *err)
{
	struct virtio_balloon_info info;
	struct balloon_ref r;

	(void)args;
	if (!balloon_ref_get(s->env->target, &r))
		return qmp_fail(err, "DeviceNotActive", NO_BALLOON);
	virtio_balloon_get_info(r.b, &info);
	uint64_t actual = balloon_logical_bytes(r.ram_bytes, info.actual);
	balloon_ref_put(&r);
	return json_pack("{s:I}", "actual", (json_int_t)actual);
}

static json_t *bl_stats(const struct virtio_balloon_info *info)
{
	json_t *o = json_object();

	for (unsigned t = 0; o && t < VIRTIO_BALLOON_S_NR; t++) {
		if (!(info->stats_valid & (1U << t)))
			continue;
		if (json_object_set_new(o, stat_names[t], json_integer((json_int_t)info->guest_stats[t]))) {
			json_decref(o);
			return NULL;
		}
	}
	return o;
}

/* The features the driver negotiated, by name. */
static json_t *bl_features(uint64_t features)
{
	static const struct {
		unsigned bit;
		const char *name;
	} names[] = {
		{ VIRTIO_BALLOON_F_MUST_TELL_HOST, "must-tell-host" },
		{ VIRTIO_BALLOON_F_STATS_VQ, "stats-vq" },
		{ VIRTIO_BALLOON_F_DEFLATE_ON_OOM, "deflate-on-oom" },
		{ VIRTIO_BALLOON_F_REPORTING, "reporting" },
		{ VIRTIO_F_VERSION_1, "version-1" },
	};
	json_t *a = json_array();

	for (size_t i = 0; a && i < sizeof(names) / sizeof(names[0]); i++) {
		if ((features >> names[i].bit & 1) && json_array_append_new(a, json_string(names[i].name))) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

/* Free page reporting's figures, added to o (README "The monitor"). */
static json_t *bl_reporting(json_t *o, const struct virtio_balloon_info *info,
			    const struct balloon_report_stats *rs)
{
	json_t *rep = json_pack("{s:b,s:b,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}",
				"reporting", (info->features >> VIRTIO_BALLOON_F_REPORTING & 1) != 0,
				"reporting-offered", info->reporting_offered,
				"reported-ranges", (json_int_t)rs->ranges,
				"reported-bytes", (json_int_t)rs->bytes,
				"reporting-released-bytes", (json_int_t)rs->released,
				"reporting-rejected", (json_int_t)rs->rejected,
				"reporting-failed", (json_int_t)rs->failed,
				"reporting-kept", (json_int_t)rs->kept_ranges,
				"reporting-kept-bytes", (json_int_t)rs->kept_bytes,
				"reported-frames", (json_int_t)(rs->reported_frames[ZONE_NORMAL] +
								rs->reported_frames[ZONE_HUGE]),
				"last-report-ms", (json_int_t)rs->last_ms);

	if (!o || !rep || json_object_update(o, rep)) {
		json_decref(o);
		o = NULL;
	}
	json_decref(rep);
	return o;
}

json_t *qmp_cmd_x_query_balloon(struct qmp_session *s, json_t *args, struct qmp_error *err)
{
	const struct vm_control *t = s->env->target;
	struct virtio_balloon_info info;
	struct balloon_mem_stats ms;
	struct balloon_report_stats rs;
	struct balloon_ref r;

	(void)args;
	if (!balloon_ref_get(t, &r))
		return qmp_fail(err, "DeviceNotActive", NO_BALLOON);
	virtio_balloon_get_info(r.b, &info);
	balloon_mem_stats(t->guest_mem(t->ctx), &ms);
	balloon_report_stats(t->guest_mem(t->ctx), &rs);
	/* Fresh figures for the next query (the driver answers on its own
	 * time; this one shows what came last, and when). */
	virtio_balloon_request_stats(r.b);
	uint64_t target = balloon_logical_bytes(r.ram_bytes, info.num_pages);
	uint64_t actual = balloon_logical_bytes(r.ram_bytes, info.actual);
	balloon_ref_put(&r);
	json_t *o = json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:b,s:o,s:o,s:I}",
			 "target", (json_int_t)target,
			 "actual", (json_int_t)actual,
			 "ballooned-pages", (json_int_t)ms.ballooned_pages,
			 "frames-returned", (json_int_t)ms.frames_returned,
			 "host-bytes-released", (json_int_t)ms.host_bytes_released,
			 "placeholder-resident-bytes", (json_int_t)ms.placeholder_resident,
			 "pending", (json_int_t)ms.pending,
			 "rejected", (json_int_t)ms.rejected,
			 "failed", (json_int_t)info.failed_pfns,
			 "bad-buffers", (json_int_t)info.bad_buffers,
			 "broken-rings", (json_int_t)info.broken_rings,
			 "driver-ok", info.driver_ok,
			 "features", bl_features(info.features),
			 "stats", bl_stats(&info),
			 "stats-last-update", (json_int_t)info.stats_last_update);
	return bl_reporting(o, &info, &rs);
}

json_t *qmp_balloon_change_data(uint64_t actual_bytes)
{
	return json_pack("{s:I}", "actual", (json_int_t)actual_bytes);
}
