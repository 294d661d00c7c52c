#!/usr/bin/env bash
# The last word of `make test` on skipped tests: how many, and why, from the
# reasons tools/run-suite.sh logged (one a line), with what to do about the
# commonest one, no access to /dev/kvm; a machine with no /dev/kvm at all is
# told apart from one that refuses us. A green run that skipped tests says
# so. Under CI=true a skip for want of KVM fails the run when the machine has
# /dev/kvm at all (CI runs where KVM works; a test_env.c skip there means
# something is broken, not absent).
#
# usage: tools/skip-summary.sh LOG
set -euo pipefail

log=${1:?usage: $0 LOG}
[[ -s $log ]] || exit 0

total=$(grep -c . "$log")
absent=$(grep -c '/dev/kvm, which this machine does not have' "$log" || true)
kvm=$(($(grep -c '/dev/kvm' "$log" || true) - absent))
other=$((total - kvm - absent))
if ((absent)); then
	echo "memvisor: $absent tests skipped: this machine has no /dev/kvm (no KVM in its kernel," \
	     "or no nested virtualization): no guest was booted" >&2
fi
if ((kvm)); then
	echo "memvisor: $kvm tests skipped: no access to /dev/kvm" \
	     "(add yourself to group kvm: sudo usermod -aG kvm \$USER, then log in again)" >&2
fi
if ((other)); then
	echo "memvisor: $other tests skipped for other reasons:" >&2
	grep -v '/dev/kvm' "$log" | sort | uniq -c | sed 's/^ */memvisor:     /' >&2
fi
if [[ ${CI-} == true ]] && ((kvm)) && [[ -e /dev/kvm ]]; then
	echo "memvisor: CI=true and this machine has /dev/kvm, yet $kvm tests could not use it:" \
	     "failing" >&2
	exit 1
fi
