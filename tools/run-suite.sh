#!/usr/bin/env bash
# Runs one Criterion suite with a time limit, so a hung test fails the run
# instead of stalling it. Criterion's own --timeout only applies to tests that
# set .timeout, and its workers run in sessions of their own, so timeout(1)
# alone would stop the runner and leave a hung worker behind: on expiry this
# kills the runner's whole process tree, found by parent pid.
#
# usage: tools/run-suite.sh SECONDS SUITE [CRITERION OPTIONS...]
set -uo pipefail

limit=${1:?usage: $0 SECONDS SUITE [OPTIONS...]}
suite=${2:?usage: $0 SECONDS SUITE [OPTIONS...]}
shift

"$@" &
pid=$!

# Waits for the suite to end, up to the limit.
if timeout "$limit" tail --pid="$pid" -s 0.2 -f /dev/null; then
	wait "$pid"
	exit
fi

# Pids of every descendant of $1, deepest first (read from /proc: no ps needed).
descendants() {
	local f stat fields kids=()
	for f in /proc/[0-9]*/stat; do
		stat=$(<"$f") 2>/dev/null || continue
		read -ra fields <<<"${stat##*) }"   # state ppid ...
		[[ ${fields[1]} == "$1" ]] && kids+=("${f//[!0-9]/}")
	done
	for f in "${kids[@]}"; do
		descendants "$f"
		echo "$f"
	done
}

echo "run-suite: $suite still running after ${limit}s; stopped" \
     "(run it with --verbose to see which test hangs)" >&2
mapfile -t tree < <(descendants "$pid")
kill -KILL "${tree[@]}" "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
exit 124
