#!/usr/bin/env bash
# Runs one Criterion suite with a time limit, so a hung test fails the run
# instead of stalling it. Criterion's own --timeout only applies to tests that
# set .timeout, and its workers run in sessions of their own, so timeout(1)
# alone stops the runner and leaves a hung worker behind. Every process of
# this run carries a token in its environment; whatever still carries it when
# the suite has failed or timed out is stopped.
#
# Skips are said out loud: Criterion names them only with --verbose, so the
# suite also writes a TAP report (SUITE without .test, plus .tap), and every
# test skipped with a reason is counted here, by reason, and appended to
# MEMVISOR_SKIP_LOG (one reason a line) when that is set, for the summary at
# the end of `make test` (tools/skip-summary.sh).
#
# usage: tools/run-suite.sh SECONDS SUITE [CRITERION OPTIONS...]
set -uo pipefail

limit=${1:?usage: $0 SECONDS SUITE [OPTIONS...]}
suite=${2:?usage: $0 SECONDS SUITE [OPTIONS...]}
shift

export MEMVISOR_SUITE_RUN="$suite:$$:$RANDOM"
tap=${suite%.test}.tap
rm -f "$tap"
status=0
timeout --foreground --kill-after=5 "$limit" "$@" --tap="$tap" || status=$?

# "ok - suite::name  # SKIP reason"; a test left out by --filter says only
# "test was skipped", which is the user's choice, not a skip to report.
if [[ -f $tap ]]; then
	reasons=$(sed -n 's/^ok .*  # SKIP //p' "$tap" | grep -vxF 'test was skipped' || true)
	if [[ -n $reasons ]]; then
		echo "run-suite: $suite: $(grep -c . <<<"$reasons") tests skipped:" >&2
		sort <<<"$reasons" | uniq -c | sed 's/^ */run-suite:     /' >&2
		if [[ -n ${MEMVISOR_SKIP_LOG-} ]]; then
			echo "$reasons" >>"$MEMVISOR_SKIP_LOG"
		fi
	fi
fi

if ((status == 124 || status == 137)); then
	echo "run-suite: $suite still running after ${limit}s; stopped" \
	     "(run it with --verbose to see which test hangs)" >&2
fi
if ((status != 0)); then
	token=$MEMVISOR_SUITE_RUN
	unset MEMVISOR_SUITE_RUN   # so the greps below do not carry it
	for env in /proc/[0-9]*/environ; do
		pid=${env//[!0-9]/}
		((pid != $$)) || continue
		if grep -qzxF "MEMVISOR_SUITE_RUN=$token" "$env" 2>/dev/null; then
			kill -KILL "$pid" 2>/dev/null
		fi
	done
fi
exit "$status"
