#!/usr/bin/env bash
# The house's arrows, checked from the code (README "The house"): which file
# uses which, by `#include "..."` lines and by the symbols each object file
# takes from another (nm), over mm/, vmm/, guest/, include/ and tools/.
# It fails when
#   - files use each other in a circle (includes or calls, any length);
#   - folders of vmm/ use each other in a circle;
#   - a tree reaches where it may not: vmm/ and tools/ never include guest/,
#     guest/ never vmm/, tools/ never vmm/ (the socket is its interface),
#     mm/ nothing outside mm/, include/abi/ nothing of the project.
# With --graph it also prints the arrows between folders.
#   tools/check-arrows.sh [--graph] [BUILD]     (after `make all`)
set -euo pipefail
cd "$(dirname "$0")/.."

graph=0
if [[ ${1:-} == --graph ]]; then
	graph=1
	shift
fi
build=${1:-build}
[[ -f $build/memvisor ]] || { echo "check-arrows: $build/memvisor is missing: run make first" >&2; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Object file -> the source it was built from.
source_of() {
	local o=$1 stem
	case $o in
	"$build"/freestanding/*) stem=mm/${o#"$build"/freestanding/} ;;
	"$build"/guest/obj/*) stem=guest/${o#"$build"/guest/obj/} ;;
	*) stem=${o#"$build"/} ;;
	esac
	stem=${stem%.o}
	if [[ -f $stem.c ]]; then echo "$stem.c"; elif [[ -f $stem.S ]]; then echo "$stem.S"; fi
}

# Calls: within each program (the objects linked together), an edge from
# the file that takes a symbol to every file that defines it.
calls() {
	local unit=$1
	shift
	local o
	for o in "$@"; do
		[[ -f $o ]] || continue
		local src
		src=$(source_of "$o")
		[[ -n $src ]] || continue
		nm "$o" | awk -v f="$src" -v u="$unit" '
			NF == 2 && $1 == "U" { print "U", u, f, $2 }
			NF == 3 && $2 ~ /^[TDBRVWCGS]$/ { print "D", u, f, $3 }'
	done
}
{
	calls vmm "$build"/mm/*.o "$build"/mm/slab/*.o $(find "$build/vmm" -name '*.o')
	calls ctl "$build"/tools/memvisorctl/*.o
	calls bench "$build"/tools/bench/memvisor.o "$build"/mm/*.o "$build"/mm/slab/*.o
	calls guest "$build"/guest/obj/*.o "$build"/freestanding/*.o
} >"$tmp/symbols"
awk '$1 == "D" { def[$2 SUBSEP $4] = def[$2 SUBSEP $4] " " $3 }
     $1 == "U" { use[++n] = $2 SUBSEP $4 SUBSEP $3 }
     END {
	for (i = 1; i <= n; i++) {
		split(use[i], p, SUBSEP)
		k = p[1] SUBSEP p[2]
		if (!(k in def)) continue
		m = split(def[k], d, " ")
		for (j = 1; j <= m; j++) if (d[j] != p[3]) print p[3], d[j], "calls", p[2]
	}
     }' "$tmp/symbols" | sort -u >"$tmp/edges"

# Includes: "x.h" is looked up beside the file, then from the top and in
# include/ (the -I options of the Makefiles).
git ls-files --cached --others --exclude-standard mm vmm guest include tools | grep -E '\.(c|h|S)$' | while read -r f; do
	sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$f" | while read -r inc; do
		for cand in "$(dirname "$f")/$inc" "$inc" "include/$inc"; do
			if [[ -f $cand ]]; then
				echo "$f $(realpath --relative-to=. "$cand") includes $inc"
				break
			fi
		done
	done
done >>"$tmp/edges"

failed=0
fail() {
	echo "check-arrows: $*" >&2
	failed=1
}

# A circle of files: tsort names the files of each loop it meets.
if ! awk '{ print $1, $2 }' "$tmp/edges" | tsort >/dev/null 2>"$tmp/loops"; then
	fail "files that use each other in a circle:"
	grep -v 'input contains a loop' "$tmp/loops" | sed 's/^tsort: /    /' >&2
	echo "  the arrows among them:" >&2
	loopfiles=$(grep -v 'input contains a loop' "$tmp/loops" | sed 's/^tsort: //')
	awk -v list="$loopfiles" 'BEGIN { n = split(list, l, "\n"); for (i = 1; i <= n; i++) in_loop[l[i]] = 1 }
		($1 in in_loop) && ($2 in in_loop) { print "    " $0 }' "$tmp/edges" >&2
fi

# Where each tree may reach.
while read -r from to how what; do
	case $from in
	vmm/* | tools/*) [[ $to == guest/* ]] && fail "$from $how $what from guest/" ;;
	esac
	case $from in
	guest/*) [[ $to == vmm/* || $to == tools/* ]] && fail "$from $how $what from $to" ;;
	tools/*) [[ $to == vmm/* ]] && fail "$from $how $what from vmm/ (tools use the monitor socket)" ;;
	mm/*) [[ $to == mm/* ]] || fail "$from $how $what from $to, outside mm/" ;;
	include/*) [[ $to == include/* ]] || fail "$from $how $what from $to" ;;
	esac
done <"$tmp/edges"

# Folders of vmm/: vmm/core/vm.c is in vmm/core; a file of vmm/ itself
# (main.c) is in vmm.
awk '$1 ~ /^vmm\// && $2 ~ /^(vmm|mm|include)\// {
	a = $1; sub(/\/[^\/]*$/, "", a); b = $2; sub(/\/[^\/]*$/, "", b)
	if (b ~ /^mm/) b = "mm"; if (b ~ /^include/) b = "include/abi"
	if (a != b) print a, b }' "$tmp/edges" | sort -u >"$tmp/folders"
if ! tsort "$tmp/folders" >/dev/null 2>"$tmp/floops"; then
	fail "folders of vmm/ that use each other in a circle:"
	grep -v 'input contains a loop' "$tmp/floops" | sed 's/^tsort: /    /' >&2
	echo "  the files behind those arrows:" >&2
	floop=$(grep -v 'input contains a loop' "$tmp/floops" | sed 's/^tsort: //')
	awk -v list="$floop" 'BEGIN { n = split(list, l, "\n"); for (i = 1; i <= n; i++) in_loop[l[i]] = 1 }
		$1 ~ /^vmm\// { a = $1; sub(/\/[^\/]*$/, "", a); b = $2; sub(/\/[^\/]*$/, "", b)
			if (a != b && (a in in_loop) && (b in in_loop)) print "    " $0 }' "$tmp/edges" >&2
fi

if ((graph)); then
	echo "arrows between the folders of vmm/ (folder: what it uses):"
	awk '{ u[$1] = u[$1] " " $2 } END { for (f in u) print "  " f ":" u[f] }' "$tmp/folders" | sort
fi
if ((failed)); then
	exit 1
fi
echo "check-arrows: $(wc -l <"$tmp/edges") arrows between files, no circles, every tree within its bounds"
