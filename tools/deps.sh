#!/usr/bin/env bash
# Owns the list of Debian packages memvisor needs, by group, and installs the
# missing ones: as root with apt-get; otherwise it prints the exact command and
# fails. Does nothing (and calls no apt) when everything is there.
#
# usage: tools/deps.sh [--stamp FILE] GROUP...
#   groups: build  compilers and libraries for `make` and `make run`
#           test   what only the tests (and benchmarks) run: QEMU, for the
#                  cross-checks; `make test` installs it, `make` does not
#           bench  the peer allocators `make bench` compares against
#           linux  the Linux test guest (make linux-guest): Debian's kernel
#                  source 6.12 and what building a kernel needs
#           clang  optional: clang for `make check-clang` and the fuzz
#                  targets, and llvm-symbolizer (llvm-14, which clang only
#                  recommends), so a sanitizer's report names functions and lines
#   --stamp FILE   touched once every package of the groups is installed
# MEMVISOR_DEPS_DRY_RUN=1: say what would be installed, install nothing (the
# wrapper's test uses it).
set -euo pipefail

# libvirt-dev brings libvirt0 (loaded by --domain) and libxml2-dev the headers
# the domain reader builds with; neither virsh nor xmllint is used.
declare -A packages=(
	[build]="gcc make pkg-config libcriterion-dev libxxhash-dev libjansson-dev libvirt-dev libxml2-dev"
	[test]="qemu-system-x86"
	[bench]="libjemalloc-dev libmimalloc-dev libgoogle-perftools-dev"
	[clang]="clang libclang-rt-14-dev llvm-14"
	[linux]="linux-source-6.12 bc bison flex libelf-dev cpio xz-utils patch libc6-dev"
)

stamp=
if [[ ${1-} == --stamp ]]; then
	stamp=${2:?--stamp needs a file}
	shift 2
fi
(($#)) || { echo "usage: $0 [--stamp FILE] build|test|bench|clang|linux..." >&2; exit 2; }

wanted=()
for g in "$@"; do
	[[ -v packages[$g] ]] || { echo "deps: unknown group '$g' (build, test, bench, clang, linux)" >&2; exit 2; }
	read -ra list <<<"${packages[$g]}"
	wanted+=("${list[@]}")
done

if ! command -v dpkg-query >/dev/null; then
	echo "deps: not a Debian system (no dpkg-query); make sure these are installed: ${wanted[*]}" >&2
	exit 1
fi

missing() {
	local p
	for p in "${wanted[@]}"; do
		[[ $(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null) == ii* ]] || echo "$p"
	done
}

mapfile -t absent < <(missing)
if ((${#absent[@]})); then
	# One command that is right both as root and through sudo (sudo before a
	# plain `a && b` would cover only a).
	cmd="sudo sh -c 'apt-get update && apt-get install -y --no-install-recommends ${absent[*]}'"
	if [[ ${MEMVISOR_DEPS_DRY_RUN-} == 1 ]]; then
		echo "deps: missing Debian packages: ${absent[*]}" >&2
		echo "deps: dry run, would install them:  $cmd" >&2
		exit 1
	fi
	if ((EUID != 0)); then
		echo "deps: missing Debian packages: ${absent[*]}" >&2
		echo "deps: run as root (without sudo when you are root):  $cmd" >&2
		exit 1
	fi
	# make -j runs several of us at once, and apt-get takes its lock
	# without waiting: one at a time, then ask dpkg again, since the one
	# before may have installed what we lack.
	exec 9>/var/lock/memvisor-deps.lock
	flock 9
	mapfile -t absent < <(missing)
	if ((${#absent[@]})); then
		echo "deps: installing ${absent[*]}"
		export DEBIAN_FRONTEND=noninteractive
		apt-get update
		apt-get install -y --no-install-recommends "${absent[@]}"
		mapfile -t absent < <(missing)
	fi
	if ((${#absent[@]})); then
		echo "deps: still missing after apt-get: ${absent[*]}" >&2
		exit 1
	fi
fi

if [[ -n $stamp ]]; then
	mkdir -p "$(dirname "$stamp")"
	touch "$stamp"
fi
