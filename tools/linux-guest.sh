#!/usr/bin/env bash
# Builds the Linux test guest (tests/linux/guest/) from Debian's
# linux-source-6.12: the kernel as a PVH ELF (vmlinux) and as a bzImage,
# with a static init in a built-in initramfs, into OUT.
#
# A kernel takes about ten minutes on two cores, so the result is cached
# outside the tree, under a key that hashes every input (the files of
# tests/linux/guest/, this script, the source package's version and the
# compiler's): a changed input builds anew, an unchanged one is copied.
# The kernel's build tree is kept too, under a key of the kernel's own
# inputs (all but the init), so a changed init only relinks the images
# with the new initramfs, in a minute. The cache is $MEMVISOR_CACHE, else
# $XDG_CACHE_HOME/memvisor, else ~/.cache/memvisor: the images and the init
# per key, and the one build tree of the newest kernel key.
#
# usage: tools/linux-guest.sh OUT
set -euo pipefail
cd "$(dirname "$0")/.."

out=${1:?usage: $0 OUT}
src=tests/linux/guest
tarball=/usr/src/linux-source-6.12.tar.xz
[[ -f $tarball ]] || { echo "linux-guest: $tarball is missing (tools/deps.sh linux installs it)" >&2; exit 1; }

version=$(dpkg-query -W -f='${Version}' linux-source-6.12)
kernel_key=$( { cat "$0" "$src"/linux.config "$src"/patches/*.patch; echo "$version"; \
	gcc --version | head -n1; } | sha256sum | cut -c1-16)
key=$( { echo "$kernel_key"; cat "$src"/initramfs.list "$src"/init.c include/abi/memvisor.h; } |
	sha256sum | cut -c1-16)
root=${MEMVISOR_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/memvisor}
cache=$root/linux-$key
# The build tree: the initramfs list and the init sit at fixed places in it,
# where the kernel's config names them.
treedir=$root/linux-tree-$kernel_key
outputs=(vmlinux bzImage init)

have_cache() {
	local f
	for f in "${outputs[@]}"; do [[ -s $cache/$f ]] || return 1; done
}

kmake() { make -C "$treedir/linux-source-6.12" -j"$(nproc)" -s "$@"; }

# A fresh build tree for kernel_key: the source, the patches, the config.
new_tree() {
	local work=$treedir.work tree
	rm -rf "$work" "$treedir"
	mkdir -p "$work"
	trap 'rm -rf "$treedir.work"' EXIT
	tar -xf "$tarball" -C "$work"
	tree=$work/linux-source-6.12
	for p in "$src"/patches/*.patch; do
		patch -d "$tree" -p1 --quiet --forward <"$p" || { echo "linux-guest: $p does not apply" >&2; exit 1; }
	done
	make -C "$tree" -s tinyconfig
	cp "$src/linux.config" "$work/fragment.config"
	echo "CONFIG_INITRAMFS_SOURCE=\"$treedir/initramfs.list\"" >>"$work/fragment.config"
	(cd "$tree" && scripts/kconfig/merge_config.sh -m -O . .config "$work/fragment.config" >/dev/null)
	make -C "$tree" -s olddefconfig
	# Every line of the fragment must have taken: a dependency that Kconfig
	# dropped silently would make a guest that boots without its devices.
	local bad=0 line
	while IFS= read -r line; do
		[[ $line =~ ^CONFIG_ ]] || [[ $line =~ ^#\ CONFIG_.*\ is\ not\ set$ ]] || continue
		grep -qxF -- "$line" "$tree/.config" || { echo "linux-guest: '$line' did not take" >&2; bad=1; }
	done <"$src/linux.config"
	((bad == 0)) || exit 1
	# Older kernels' trees go: one tree is a couple of GiB.
	local d
	for d in "$root"/linux-tree-*; do [[ $d == "$work" ]] || rm -rf "$d"; done
	mv "$work" "$treedir"
	trap - EXIT
}

if ! have_cache; then
	start=$SECONDS
	mkdir -p "$root"
	if [[ -f $treedir/linux-source-6.12/.config ]]; then
		echo "linux-guest: relinking Linux $version with a new init (key $key)"
	else
		echo "linux-guest: building Linux $version (key $key); the first build takes about 10 minutes on 2 CPUs"
		new_tree
	fi
	# The init: static, so the initramfs needs nothing else.
	gcc -std=gnu11 -Wall -Wextra -Werror -Os -static -Iinclude -o "$treedir/init" "$src/init.c"
	sed "s|@INIT@|$treedir/init|" "$src/initramfs.list" >"$treedir/initramfs.list"
	kmake vmlinux bzImage

	rm -rf "$cache.new"
	mkdir -p "$cache.new"
	cp "$treedir/linux-source-6.12/vmlinux" "$cache.new/vmlinux"
	cp "$treedir/linux-source-6.12/arch/x86/boot/bzImage" "$cache.new/bzImage"
	cp "$treedir/init" "$cache.new/init"
	cp "$treedir/linux-source-6.12/.config" "$cache.new/config"
	rm -rf "$cache"
	mv "$cache.new" "$cache"
	echo "linux-guest: built in $((SECONDS - start)) s"
fi

mkdir -p "$out"
for f in "${outputs[@]}" config; do
	cp "$cache/$f" "$out/$f.tmp" && mv "$out/$f.tmp" "$out/$f"
done
echo "$key" >"$out/key"
