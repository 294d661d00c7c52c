#!/usr/bin/env bash
# Runs the memvisor benchmark binary and every peer build (one malloc each) in
# one go: their JSON lines stream to stdout as they come, then tables on
# stdout: each figure per memvisor slab policy (and SLUB without sheaves) and
# per peer side by side, the fastest policy's ratio to each peer and SLUB's
# to the best peer, then memvisor's own figures against their targets.
# JSON consumers keep the lines that start with '{'; no table line does.
#
# usage: tools/bench/run.sh DIR   (DIR holds memvisor-bench, peer-* and compact-bench)
set -euo pipefail

dir=${1:?usage: $0 DIR}
peers=(glibc jemalloc mimalloc tcmalloc)
out=$(mktemp)
trap 'rm -f "$out"' EXIT

# Several rounds, every binary once per round, so that a noisy moment on the
# machine hits memvisor and the peers alike; the table keeps each cell's best.
# Fragmentation (sizes, not times) and thread start-up (a mean over 20
# rounds already, and slow under glibc and jemalloc) run in the first round
# only, to keep the whole run near three minutes.
rounds=${BENCH_ROUNDS:-3}
failed=()
for ((round = 1; round <= rounds; round++)); do
	for bin in memvisor-bench "${peers[@]/#/peer-}"; do
		if ! BENCH_ONCE=$((round == 1)) "$dir/$bin" | tee -a "$out"; then
			echo "bench: $bin failed; its rows are missing below" >&2
			failed+=("$bin")
		fi
	done
done
# Compaction (vmm/bench/compact_bench.c) once: it builds and compacts a
# fragmented 1 GiB guest twice, half a minute, and has no peer to compare.
if [[ -x $dir/compact-bench ]] && ! "$dir/compact-bench" | tee -a "$out"; then
	echo "bench: compact-bench failed; its rows are missing below" >&2
	failed+=(compact-bench)
fi

# The lines are flat objects written by bench.h, so a key's value is what
# follows '"key": ' up to the next comma or brace.
awk -v peers="${peers[*]}" -v rounds="$rounds" '
function get(line, key,    i, v) {
	i = index(line, "\"" key "\": ")
	if (!i) return ""
	v = substr(line, i + length(key) + 4)
	sub(/[,}].*/, "", v)
	gsub(/"/, "", v)
	return v
}
function has(k, c) { return (k, c) in val }
function cell(k, c) { return has(k, c) ? sprintf("%10.2f", val[k, c]) : sprintf("%10s", "-") }
# One figure per column: memvisor policies first, then the peers.
function row(label, k,    s, i) {
	s = sprintf("%-40s", label)
	for (i = 1; i <= ncol; i++) s = s cell(k, col[i])
	print s
}
# The memvisor policy with the lowest figure of row k, or "".
function fastest(k,    i, f) {
	f = ""
	for (i = 1; i <= nmv; i++)
		if (has(k, mv[i]) && (f == "" || val[k, mv[i]] + 0 < val[k, f] + 0)) f = mv[i]
	return f
}
# The peer with the lowest figure of row k, or "".
function best_peer(k,    i, f) {
	f = ""
	for (i = 1; i <= np; i++)
		if (has(k, peer[i]) && (f == "" || val[k, peer[i]] + 0 < val[k, f] + 0)) f = peer[i]
	return f
}
# The fastest policy over each peer, then SLUB (with sheaves) over the best peer.
function ratio_row(label, k,    s, i, f, b, r, faster, known) {
	f = fastest(k)
	s = sprintf("%-40s%14s", label, f == "" ? "-" : short[f])
	faster = 1; known = 0
	for (i = 1; i <= np; i++) {
		if (f != "" && has(k, peer[i]) && val[k, peer[i]] > 0) {
			r = val[k, f] / val[k, peer[i]]
			s = s sprintf("%10.2f", r)
			known++
			if (r >= 1) faster = 0
		} else {
			s = s sprintf("%10s", "-")
			faster = 0
		}
	}
	b = best_peer(k)
	if (has(k, "slub") && b != "" && val[k, b] > 0)
		s = s sprintf("%8.2f %-10s", val[k, "slub"] / val[k, b], "(" b ")")
	else
		s = s sprintf("%8s %-10s", "-", "")
	if (k ~ /^pair/ && known == np) s = s (faster ? " faster than every peer" : " slower than some peer")
	sub(/ +$/, "", s)
	print s
}
# One memvisor figure (column c); limit, if given, is the target it should stay below.
function single(label, k, c, limit,    v, verdict, line) {
	v = sprintf("%12s", "-"); verdict = ""
	if (has(k, c)) {
		v = sprintf("%12.2f", val[k, c])
		if (limit != "") verdict = (val[k, c] + 0 < limit + 0) ? "ok" : "MISSED"
	}
	line = sprintf("%-46s%s   %-10s %s", label, v, (limit != "" ? "< " limit : ""), verdict)
	sub(/ +$/, "", line)
	print line
}
# A figure whose target is a floor: "ok" at or above limit.
function single_min(label, k, c, limit,    v, verdict, line) {
	v = sprintf("%12s", "-"); verdict = ""
	if (has(k, c)) {
		v = sprintf("%12.2f", val[k, c])
		if (limit != "") verdict = (val[k, c] + 0 >= limit + 0) ? "ok" : "MISSED"
	}
	line = sprintf("%-46s%s   %-10s %s", label, v, (limit != "" ? ">= " limit : ""), verdict)
	sub(/ +$/, "", line)
	print line
}
# The best (lowest) figure of all rounds.
function keep(k, c, v) { if (v != "" && (!has(k, c) || v + 0 < val[k, c] + 0)) val[k, c] = v }
/^\{/ {
	b = get($0, "bench"); c = get($0, "impl"); ns = get($0, "ns_per_op")
	# memvisor slab rows name their policy: one column each.
	if (c == "memvisor" && get($0, "policy") != "") { c = get($0, "policy"); seen[c] = 1 }
	if (b == "alloc_free_pair")   keep("pair " get($0, "size") " " get($0, "pattern"), c, ns)
	if (b == "mixed_pair")        keep("mixed " get($0, "pattern"), c, ns)
	if (b == "producer_consumer") keep("pc", c, get($0, "ns_per_object"))
	if (b == "thread_startup")    keep("startup", c, get($0, "ms_per_round"))
	if (b == "buddy_pair")        keep("buddy " get($0, "order"), c, ns)
	if (b == "kvmalloc_pair")     keep("kv " get($0, "flags"), c, ns)
	if (b == "compact_move_rate") {
		val["compact rate", c] = get($0, "gib_s"); val["compact memcpy", c] = get($0, "memcpy_gib_s")
		val["compact mib", c] = get($0, "guest_mib")
	}
	if (b == "compact_leaves") {
		val["leaves before", c] = get($0, "before_percent"); val["leaves after", c] = get($0, "after_percent")
	}
	if (b == "compact_pause") {
		val["pause p50", c] = get($0, "p50_us") / 1000; val["pause p99", c] = get($0, "p99_us") / 1000
		val["pause leaves", c] = get($0, "after_percent")
	}
	if (b == "compact_guest_view") {
		val["view touch", c] = get($0, "touch_ratio"); val["view read", c] = get($0, "read_ratio")
	}
	if (b == "compact_hash") val["compact bad", c] = get($0, "mismatches")
	if (b == "fragmentation") {
		keep("frag ratio", c, get($0, "held_per_live"))
		keep("frag mib", c, get($0, "held_bytes") / 1048576)
		if (get($0, "fewer_objects_because") != "")
			fewer[c] = get($0, "objects") " objects: " get($0, "fewer_objects_because")
	}
	if (b == "metadata_overhead") {
		if (get($0, "what") == "buddy") { val["buddy meta", c] = get($0, "percent"); next }
		val["meta bytes", c] = get($0, "bytes_per_object")
		val["meta percent", c] = get($0, "percent")
	}
	if (reps == "" && get($0, "reps") != "") reps = get($0, "reps")
}
END {
	np = split(peers, peer, " ")
	# Policies in a fixed order, those that ran (SLAB may not be built in).
	split("slub slub-nosheaves slab slob", order, " ")
	nmv = 0
	for (i = 1; i in order; i++) if (order[i] in seen) mv[++nmv] = order[i]
	ncol = 0
	for (i = 1; i <= nmv; i++) col[++ncol] = mv[i]
	for (i = 1; i <= np; i++) col[++ncol] = peer[i]
	for (i = 1; i <= ncol; i++) short[col[i]] = col[i]
	short["slub-nosheaves"] = "slub-nosh"
	head = sprintf("%-40s", "")
	for (i = 1; i <= ncol; i++) head = head sprintf("%10s", short[col[i]])
	rhead = sprintf("%-40s%14s", "", "fastest")
	for (i = 1; i <= np; i++) rhead = rhead sprintf("%10s", peer[i])
	rhead = rhead "  slub / best peer"

	print ""
	print "memvisor per slab policy beside each malloc (lower is better everywhere); best of " reps
	print "runs (SLOB: 3) in each of " rounds " rounds; thread start-up and after-freeing: first round only;"
	print "slub-nosh: SLUB caches made with SLAB_F_NO_SHEAVES"
	print head
	print "alloc+free pairs, ns per pair"
	row("  slab vs malloc, 64 B, single", "pair 64 single")
	row("  slab vs malloc, 64 B, batch of 1000", "pair 64 batch")
	row("  slab vs malloc, 256 B, single", "pair 256 single")
	row("  slab vs malloc, 256 B, batch of 1000", "pair 256 batch")
	row("  kmalloc vs malloc, 8..8192 B, single", "mixed single")
	row("  kmalloc vs malloc, 8..8192 B, batch", "mixed batch")
	print "threads"
	row("  producer->consumer 64 B, ns/object", "pc")
	row("  8 threads x 10000 8..8192 B, ms", "startup")
	print "memory (memvisor: slab counters; peers: RSS growth)"
	row("  metadata per live 64 B object, B", "meta bytes")
	row("  after freeing 90 %: MiB held", "frag mib")
	row("  after freeing 90 %: held / live", "frag ratio")
	for (i = 1; i <= ncol; i++)
		if (col[i] in fewer) print "  (" short[col[i]] ": " fewer[col[i]] "; compare held / live)"

	print ""
	print "fastest (or leanest) memvisor policy / each peer, and SLUB / the best peer (below 1.00: memvisor is better)"
	print rhead
	ratio_row("slab vs malloc, 64 B, single", "pair 64 single")
	ratio_row("slab vs malloc, 64 B, batch of 1000", "pair 64 batch")
	ratio_row("slab vs malloc, 256 B, single", "pair 256 single")
	ratio_row("slab vs malloc, 256 B, batch of 1000", "pair 256 batch")
	ratio_row("kmalloc vs malloc, 8..8192 B, single", "mixed single")
	ratio_row("kmalloc vs malloc, 8..8192 B, batch", "mixed batch")
	ratio_row("producer->consumer 64 B", "pc")
	ratio_row("thread start-up, 8 x 10000", "startup")
	ratio_row("metadata per live 64 B object", "meta bytes")
	ratio_row("after freeing 90 %: held / live", "frag ratio")

	print ""
	printf "%-46s%12s   %s\n", "memvisor alone", "value", "target"
	single("buddy order-0 pair (per-thread cache), ns", "buddy 0", "memvisor", 15)
	single("buddy order-9 pair (zone lock), ns", "buddy 9", "memvisor", "")
	single("kvmalloc 1 MiB contiguous pair, ns", "kv 0", "memvisor", "")
	single("kvmalloc 1 MiB KV_NO_CONTIG pair, ns", "kv KV_NO_CONTIG", "memvisor", "")
	single("slab metadata, 64 B objects, SLUB, %", "meta percent", "slub", 2)
	single("buddy metadata per frame, %", "buddy meta", "memvisor", "")
	print "(kvmalloc pairs do not touch the memory)"
	if (has("compact rate", "memvisor")) {
		print "compaction of a fragmented " val["compact mib", "memvisor"] " MiB guest (compact-bench)"
		single_min("  copy+hash+remap, GiB/s", "compact rate", "memvisor", 1)
		single("  the same, host RAM never touched before (a fresh VM), GiB/s", "compact rate", "memvisor-cold-host", "")
		single("  host memcpy in the same run, GiB/s", "compact memcpy", "memvisor", "")
		single("  RAM in 2 MiB leaves before, %", "leaves before", "memvisor", "")
		single_min("  RAM in 2 MiB leaves after a full run, %", "leaves after", "memvisor", 90)
		single("  pause per budgeted call p50, ms", "pause p50", "memvisor", "")
		single("  pause per budgeted call p99, ms", "pause p99", "memvisor", 1)
		single("  RAM in 2 MiB leaves after budgeted calls, %", "pause leaves", "memvisor", "")
		single("  first touch after / before", "view touch", "memvisor", "")
		single("  read throughput after / before", "view read", "memvisor", "")
		single("  hash mismatches", "compact bad", "memvisor", 1)
	}
}' "$out"

if ((${#failed[@]})); then
	echo "bench: failed: ${failed[*]}" >&2
	exit 1
fi
