#!/usr/bin/env bash
# Checks that skipped tests are said out loud: tools/run-suite.sh counts a
# suite's skips by reason from its TAP report, and tools/skip-summary.sh sums
# them up with the way to /dev/kvm, and fails under CI=true on a machine that
# has /dev/kvm. A stand-in suite writes the TAP that Criterion would.
# `make test` runs it.
set -euo pipefail
cd "$(dirname "$0")/.."

dir=$(mktemp -d "${TMPDIR:-/tmp}/memvisor-skip-check.XXXXXX")
trap 'rm -rf "$dir"' EXIT
cat >"$dir/fake.test" <<'SUITE'
#!/bin/sh
# Criterion's --tap=FILE, as Criterion 2.4 writes it.
for a; do case $a in --tap=*) tap=${a#--tap=} ;; esac; done
cat >"$tap" <<TAP
TAP version 13
1..5
ok - a::runs
ok - a::on_no_kvm  # SKIP skipped: needs /dev/kvm, which this machine does not have (No such file or directory)
ok - a::boots  # SKIP skipped: needs /dev/kvm (Permission denied)
ok - a::boots_too  # SKIP skipped: needs /dev/kvm (Permission denied)
ok - a::filtered_out  # SKIP test was skipped
TAP
SUITE
chmod +x "$dir/fake.test"

fail=0
expect() {   # expect WHAT FILE PATTERN
	if ! grep -qF -- "$3" "$2"; then
		echo "check-skip-report: $1 does not say '$3':" >&2
		sed 's/^/    /' "$2" >&2
		fail=1
	fi
}
MEMVISOR_SKIP_LOG=$dir/log tools/run-suite.sh 30 "$dir/fake.test" >"$dir/suite.out" 2>&1
expect "run-suite" "$dir/suite.out" "fake.test: 3 tests skipped:"
expect "run-suite" "$dir/suite.out" "2 skipped: needs /dev/kvm (Permission denied)"
if grep -q 'test was skipped' "$dir/log"; then
	echo "check-skip-report: a test left out by --filter was counted as skipped" >&2
	fail=1
fi
CI='' tools/skip-summary.sh "$dir/log" >"$dir/summary.out" 2>&1
expect "skip-summary" "$dir/summary.out" \
	"memvisor: 2 tests skipped: no access to /dev/kvm (add yourself to group kvm: sudo usermod -aG kvm \$USER"
expect "skip-summary" "$dir/summary.out" "memvisor: 1 tests skipped: this machine has no /dev/kvm"
# A machine with no /dev/kvm at all skips, also under CI.
grep 'does not have' "$dir/log" >"$dir/absent.log"
if ! CI=true tools/skip-summary.sh "$dir/absent.log" >/dev/null 2>&1; then
	echo "check-skip-report: under CI=true, a machine with no /dev/kvm failed its skips" >&2
	fail=1
fi
if [[ -e /dev/kvm ]] && CI=true tools/skip-summary.sh "$dir/log" >/dev/null 2>&1; then
	echo "check-skip-report: under CI=true with /dev/kvm present, KVM skips did not fail" >&2
	fail=1
fi

((fail == 0)) && echo "check-skip-report: ok"
exit "$fail"
