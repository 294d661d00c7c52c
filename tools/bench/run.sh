#!/usr/bin/env bash
# Runs the memvisor benchmark binary and every peer build (one malloc each) in
# one go: their JSON lines stream to stdout as they come, then a table with the
# figures side by side, memvisor/peer ratios and the targets, also on stdout.
# JSON consumers keep the lines that start with '{'; no table line does.
#
# usage: tools/bench/run.sh DIR   (DIR holds memvisor-bench and peer-*)
set -euo pipefail

dir=${1:?usage: $0 DIR}
peers=(glibc jemalloc mimalloc tcmalloc)
out=$(mktemp)
trap 'rm -f "$out"' EXIT

# Several rounds, every binary once per round, so that a noisy moment on the
# machine hits memvisor and the peers alike; the table keeps each cell's best.
rounds=${BENCH_ROUNDS:-3}
failed=()
for ((round = 1; round <= rounds; round++)); do
	for bin in memvisor-bench "${peers[@]/#/peer-}"; do
		if ! "$dir/$bin" | tee -a "$out"; then
			echo "bench: $bin failed; its rows are missing below" >&2
			failed+=("$bin")
		fi
	done
done

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
function cell(k, impl) { return ((k, impl) in val) ? sprintf("%10.2f", val[k, impl]) : sprintf("%10s", "-") }
function row(label, k,    s, i) {
	s = sprintf("%-36s%s", label, cell(k, "memvisor"))
	for (i = 1; i <= np; i++) s = s cell(k, peer[i])
	print s
}
function ratio_row(label, k,    s, i, r, faster, known) {
	s = sprintf("%-36s%10s", label, "")
	faster = 1; known = 0
	for (i = 1; i <= np; i++) {
		if (((k, "memvisor") in val) && ((k, peer[i]) in val) && val[k, peer[i]] > 0) {
			r = val[k, "memvisor"] / val[k, peer[i]]
			s = s sprintf("%10.2f", r)
			known++
			if (r >= 1) faster = 0
		} else {
			s = s sprintf("%10s", "-")
			faster = 0
		}
	}
	if (k ~ /^pair/ && known == np) s = s "   " (faster ? "faster than every peer" : "slower than some peer")
	print s
}
# One memvisor figure; limit, if given, is the target it should stay below.
function single(label, k, limit,    v, verdict, line) {
	v = sprintf("%12s", "-"); verdict = ""
	if ((k, "memvisor") in val) {
		v = sprintf("%12.2f", val[k, "memvisor"])
		if (limit != "") verdict = (val[k, "memvisor"] + 0 < limit + 0) ? "ok" : "MISSED"
	}
	line = sprintf("%-46s%s   %-10s %s", label, v, (limit != "" ? "< " limit : ""), verdict)
	sub(/ +$/, "", line)
	print line
}
# The best (lowest) figure of all rounds.
function keep(k, impl, v) { if (!((k, impl) in val) || v + 0 < val[k, impl] + 0) val[k, impl] = v }
/^\{/ {
	b = get($0, "bench"); impl = get($0, "impl"); ns = get($0, "ns_per_op")
	if (b == "alloc_free_pair")   keep("pair " get($0, "size") " " get($0, "pattern"), impl, ns)
	if (b == "mixed_pair")        keep("mixed " get($0, "pattern"), impl, ns)
	if (b == "buddy_pair")        keep("buddy " get($0, "order"), impl, ns)
	if (b == "kvmalloc_pair")     keep("kv " get($0, "flags"), impl, ns)
	if (b == "metadata_overhead") {
		if (get($0, "what") == "buddy") { val["buddy meta", impl] = get($0, "percent"); next }
		val["meta bytes", impl] = get($0, "bytes_per_object")
		val["meta percent", impl] = get($0, "percent")
	}
	if (reps == "" && get($0, "reps") != "") reps = get($0, "reps")
}
END {
	np = split(peers, peer, " ")
	head = sprintf("%-36s%10s", "", "memvisor")
	rhead = sprintf("%-36s%10s", "", "")
	for (i = 1; i <= np; i++) {
		head = head sprintf("%10s", peer[i])
		rhead = rhead sprintf("%10s", peer[i])
	}

	print ""
	print "alloc+free pairs, ns per pair, best of " reps " runs in each of " rounds " rounds (lower is better)"
	print head
	row("slab vs malloc, 64 B, single", "pair 64 single")
	row("slab vs malloc, 64 B, batch of 1000", "pair 64 batch")
	row("slab vs malloc, 256 B, single", "pair 256 single")
	row("slab vs malloc, 256 B, batch of 1000", "pair 256 batch")
	row("kmalloc vs malloc, 8..8192 B, single", "mixed single")
	row("kmalloc vs malloc, 8..8192 B, batch", "mixed batch")

	print ""
	print "memvisor time / peer time (below 1.00: memvisor is faster)"
	print rhead
	ratio_row("slab vs malloc, 64 B, single", "pair 64 single")
	ratio_row("slab vs malloc, 64 B, batch of 1000", "pair 64 batch")
	ratio_row("slab vs malloc, 256 B, single", "pair 256 single")
	ratio_row("slab vs malloc, 256 B, batch of 1000", "pair 256 batch")
	ratio_row("kmalloc vs malloc, 8..8192 B, single", "mixed single")
	ratio_row("kmalloc vs malloc, 8..8192 B, batch", "mixed batch")

	print ""
	print "metadata per live 64 B object (memvisor: slab counters; peers: RSS growth)"
	print head
	row("bytes per object", "meta bytes")
	row("percent of the object", "meta percent")

	print ""
	printf "%-46s%12s   %s\n", "memvisor alone", "value", "target"
	single("buddy order-0 pair (per-thread cache), ns", "buddy 0", 15)
	single("buddy order-9 pair (zone lock), ns", "buddy 9", "")
	single("kvmalloc 1 MiB contiguous pair, ns", "kv 0", "")
	single("kvmalloc 1 MiB KV_NO_CONTIG pair, ns", "kv KV_NO_CONTIG", "")
	single("slab metadata, 64 B objects, %", "meta percent", 2)
	single("buddy metadata per frame, %", "buddy meta", "")
	print "(kvmalloc pairs do not touch the memory)"
}' "$out"

if ((${#failed[@]})); then
	echo "bench: failed: ${failed[*]}" >&2
	exit 1
fi
