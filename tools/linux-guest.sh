#!/usr/bin/env bash
# Builds the Linux test guest (tests/linux/guest/) from Debian's
# linux-source-6.12: the kernel as a PVH ELF (vmlinux) and as a bzImage,
# with a static init in a built-in initramfs, into OUT.
#
# A kernel takes about ten minutes on two cores, so the result is cached
# outside the tree, under a key that hashes every input (the files of
# tests/linux/guest/, this script, the source package's version and the
# compiler's): a changed input builds anew, an unchanged one is copied.
# The cache is $MEMVISOR_CACHE, else $XDG_CACHE_HOME/memvisor, else
# ~/.cache/memvisor; only the two images and the init are kept there.
#
# usage: tools/linux-guest.sh OUT
set -euo pipefail
cd "$(dirname "$0")/.."

out=${1:?usage: $0 OUT}
src=tests/linux/guest
tarball=/usr/src/linux-source-6.12.tar.xz
[[ -f $tarball ]] || { echo "linux-guest: $tarball is missing (tools/deps.sh linux installs it)" >&2; exit 1; }

version=$(dpkg-query -W -f='${Version}' linux-source-6.12)
key=$( { cat "$0" "$src"/linux.config "$src"/initramfs.list "$src"/init.c include/abi/memvisor.h \
	"$src"/patches/*.patch; echo "$version"; gcc --version | head -n1; } | sha256sum | cut -c1-16)
cache=${MEMVISOR_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/memvisor}/linux-$key
outputs=(vmlinux bzImage init)

have_cache() {
	local f
	for f in "${outputs[@]}"; do [[ -s $cache/$f ]] || return 1; done
}

if ! have_cache; then
	echo "linux-guest: building Linux $version (key $key); the first build takes about 10 minutes on 2 CPUs"
	start=$SECONDS
	work=$cache.work
	rm -rf "$work" "$cache" "$cache.new"
	mkdir -p "$work"
	trap 'rm -rf "$work"' EXIT
	tar -xf "$tarball" -C "$work"
	tree=$(echo "$work"/linux-source-6.12)
	for p in "$src"/patches/*.patch; do
		patch -d "$tree" -p1 --quiet --forward <"$p" || { echo "linux-guest: $p does not apply" >&2; exit 1; }
	done

	# The init: static, so the initramfs needs nothing else.
	gcc -std=gnu11 -Wall -Wextra -Werror -Os -static -Iinclude -o "$work/init" "$src/init.c"
	sed "s|@INIT@|$work/init|" "$src/initramfs.list" >"$work/initramfs.list"

	kmake() { make -C "$tree" -j"$(nproc)" -s "$@"; }
	kmake tinyconfig
	cp "$src/linux.config" "$work/fragment.config"
	echo "CONFIG_INITRAMFS_SOURCE=\"$work/initramfs.list\"" >>"$work/fragment.config"
	(cd "$tree" && scripts/kconfig/merge_config.sh -m -O . .config "$work/fragment.config" >/dev/null)
	kmake olddefconfig
	# Every line of the fragment must have taken: a dependency that Kconfig
	# dropped silently would make a guest that boots without its devices.
	bad=0
	while IFS= read -r line; do
		[[ $line =~ ^CONFIG_ ]] || [[ $line =~ ^#\ CONFIG_.*\ is\ not\ set$ ]] || continue
		grep -qxF -- "$line" "$tree/.config" || { echo "linux-guest: '$line' did not take" >&2; bad=1; }
	done <"$src/linux.config"
	((bad == 0)) || exit 1
	kmake vmlinux bzImage

	mkdir -p "$cache.new"
	cp "$tree/vmlinux" "$cache.new/vmlinux"
	cp "$tree/arch/x86/boot/bzImage" "$cache.new/bzImage"
	cp "$work/init" "$cache.new/init"
	cp "$tree/.config" "$cache.new/config"
	mv "$cache.new" "$cache"
	echo "linux-guest: built in $((SECONDS - start)) s"
fi

mkdir -p "$out"
for f in "${outputs[@]}" config; do
	cp "$cache/$f" "$out/$f.tmp" && mv "$out/$f.tmp" "$out/$f"
done
echo "$key" >"$out/key"
