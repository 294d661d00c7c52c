#!/usr/bin/env bash
# Owns the host's hugetlb pool as far as the test suites and benchmarks need
# it: makes sure at least PAGES 2 MiB pages are free for zone Huge, raising
# vm.nr_hugepages as root (never lowering it) and saying what it did. Without
# root, or when the kernel cannot find the memory, it says so and succeeds:
# arenas then run without zone Huge (MM_HUGE_AUTO), and the tests that need it
# say why it is absent.
#
# usage: tools/hugepages.sh [PAGES]   (default 256 pages = 512 MiB)
set -euo pipefail

want=${1:-256}
pool=/sys/kernel/mm/hugepages/hugepages-2048kB

if [[ ! -d $pool ]]; then
	echo "hugepages: this kernel has no 2 MiB hugetlb pages; zone Huge is unavailable"
	exit 0
fi

total=$(<"$pool/nr_hugepages")
free=$(<"$pool/free_hugepages")
if ((free >= want)); then
	echo "hugepages: $free of $total 2 MiB pages free ($want wanted): nothing to do"
	exit 0
fi

target=$((total + want - free))
if ((EUID != 0)); then
	echo "hugepages: $free of $total 2 MiB pages free, $want wanted; not root, so zone Huge" \
	     "tests run without them. As root: echo $target > /proc/sys/vm/nr_hugepages"
	exit 0
fi

if ! echo "$target" >"$pool/nr_hugepages" 2>/dev/null; then
	echo "hugepages: cannot write $pool/nr_hugepages (read-only in this container?);" \
	     "$free of $total pages free, zone Huge tests run without more"
	exit 0
fi

now=$(<"$pool/nr_hugepages")
free=$(<"$pool/free_hugepages")
echo "hugepages: raised vm.nr_hugepages from $total to $now (2 MiB pages); $free free, $want wanted"
if ((now < target)); then
	echo "hugepages: the kernel found only $((now - total)) of $((target - total)) more pages" \
	     "(memory in use or fragmented); zone Huge tests get what there is"
fi
