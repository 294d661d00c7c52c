#!/usr/bin/env bash
# Checks ./memvisor-dev, the README's first two commands, as a fresh machine
# would see it: PATH holds only a shell and the few tools the wrapper and
# tools/deps.sh use (no make, no gcc), and a stand-in dpkg-query says nothing
# is installed. The wrapper must get to the install (dry run:
# MEMVISOR_DEPS_DRY_RUN=1, so nothing is installed) instead of a "command not
# found", ask for the right groups, and print a command that works as root and
# with sudo. `make test` runs it.
set -euo pipefail
cd "$(dirname "$0")/.."

bin=$(mktemp -d "${TMPDIR:-/tmp}/memvisor-dev-check.XXXXXX")
trap 'rm -rf "$bin"' EXIT
for tool in sh bash env dirname; do
	ln -s "$(command -v "$tool")" "$bin/$tool"
done
fail=0
check() {   # check NAME EXPECTED-STATUS OUTPUT-FILE GREP-PATTERN [! PATTERN]...
	local name=$1 want=$2 out=$3 got
	got=$(<"$out.rc")
	shift 3
	if [[ $want == nonzero ]] && ((got == 0)) || [[ $want != nonzero && $got != "$want" ]]; then
		echo "check-dev-wrapper: $name: exit status $got, wanted $want" >&2
		fail=1
	fi
	while (($#)); do
		if [[ $1 == '!' ]]; then
			if grep -qF -- "$2" "$out"; then
				echo "check-dev-wrapper: $name: says '$2'" >&2
				fail=1
			fi
			shift 2
		else
			if ! grep -qF -- "$1" "$out"; then
				echo "check-dev-wrapper: $name: does not say '$1'" >&2
				fail=1
			fi
			shift
		fi
	done
	if ((fail)); then
		sed 's/^/    /' "$out" >&2
	fi
}
run() {   # run OUT COMMAND...: stripped PATH, output and status into OUT
	local out=$1
	shift
	local rc=0
	env -i PATH="$bin" HOME=/nonexistent MEMVISOR_DEPS_DRY_RUN=1 "$@" >"$out" 2>&1 || rc=$?
	echo "$rc" >"$out.rc"
}

# Nothing installed.
printf '#!/bin/sh\nexit 1\n' >"$bin/dpkg-query"
chmod +x "$bin/dpkg-query"
run "$bin/run.out" ./memvisor-dev run
check "run on a fresh machine" nonzero "$bin/run.out" \
	"sudo sh -c 'apt-get update && apt-get install -y --no-install-recommends " \
	" make" " gcc" ! "qemu-system-x86" ! "not found"
run "$bin/test.out" ./memvisor-dev test
check "test on a fresh machine" nonzero "$bin/test.out" \
	"apt-get install -y --no-install-recommends " " make" " qemu-system-x86" ! "not found"

# Everything installed as dpkg sees it, yet no make on PATH: a clear word,
# not the shell's.
printf '#!/bin/sh\nprintf ii\n' >"$bin/dpkg-query"
run "$bin/path.out" ./memvisor-dev run
check "installed but not on PATH" nonzero "$bin/path.out" "'make' is installed but not on PATH" \
	! "not found"

run "$bin/usage.out" ./memvisor-dev
check "no command" 2 "$bin/usage.out" "usage:"

((fail == 0)) && echo "check-dev-wrapper: ok"
exit "$fail"
