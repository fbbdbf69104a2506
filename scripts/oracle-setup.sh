#!/usr/bin/env bash
# Installs what the real-kernel oracle needs, from Debian's packages only:
#   qemu-system-x86, busybox-static, gcc and libc6-dev (the guest runner is compiled
#   statically), cpio, e2fsprogs (mke2fs makes the disk of page-cache scenarios), xz-utils;
#   and the kernel of Debian's linux-image-amd64, fetched with `apt-get download` and
#   unpacked into .cache/oracle/kernel/ (ignored by git): vmlinuz, and in modules/ the
#   modules a disk needs (virtio PCI and block, ext4, crc32c, and what they depend on),
#   with modules.order listing them in the order they are inserted and modules.cpio.xz,
#   the initramfs segment that carries them (xz: with the busybox and runner segment it
#   must fit the 2 MiB the initrd is padded to).
set -euo pipefail
cd "$(dirname "$0")/.."
cache="${CDMSIM_ORACLE_CACHE:-$PWD/.cache/oracle}"

sudo_cmd=()
if [ "$(id -u)" != 0 ]; then
  if command -v sudo >/dev/null 2>&1; then sudo_cmd=(sudo); else
    echo "oracle:setup needs root (or sudo) to install Debian packages" >&2
    exit 1
  fi
fi

has_mke2fs() { command -v mke2fs >/dev/null 2>&1 || [ -x /sbin/mke2fs ]; }

need=()
for p in qemu-system-x86 busybox-static gcc libc6-dev cpio xz-utils; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need+=("$p")
done
has_mke2fs || need+=(e2fsprogs)
if [ ${#need[@]} -gt 0 ]; then
  echo "oracle:setup: installing ${need[*]}"
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# the kernel linux-image-amd64 depends on (e.g. linux-image-6.1.0-56-amd64)
pkg=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/ { print $2; exit }')
if [ -z "$pkg" ]; then
  "${sudo_cmd[@]}" apt-get update -qq
  pkg=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-[0-9]/ { print $2; exit }')
fi
if [ -z "$pkg" ]; then echo "oracle:setup: cannot find the package linux-image-amd64 depends on" >&2; exit 1; fi
dest="$cache/kernel/$pkg"

# The modules a disk needs: the roots and, depth first, what each depends on (the
# "depends=" of its .modinfo section, as `modinfo -F depends` prints it). ext4 and jbd2
# name crypto-crc32c as a soft dependency (ext4 mounts only with a "crc32c" shash), which
# crc32c_generic provides. modules.order lists dependencies first, as insmod needs them.
extract_modules() { # <unpacked package> <kernel release>
  local root="$1/lib/modules/$2/kernel" out="$dest/modules.tmp" f m
  rm -rf "$out" && mkdir -p "$out"
  declare -gA ko_path=() ko_seen=()
  ko_order=()
  while IFS= read -r f; do ko_path[$(basename "$f" .ko | tr - _)]="$f"; done < <(find "$root" -name '*.ko')
  for m in crc32c_generic virtio virtio_ring virtio_pci virtio_blk ext4; do visit_module "$m"; done
  for m in "${ko_order[@]}"; do
    cp "${ko_path[$m]}" "$out/$m.ko"
    echo "$m"
  done > "$out/modules.order"
  rm -rf "$dest/modules" && mv "$out" "$dest/modules"
}
visit_module() {
  local m="$1" deps d
  [ -n "${ko_seen[$m]:-}" ] && return 0
  ko_seen[$m]=1
  if [ -z "${ko_path[$m]:-}" ]; then echo "oracle:setup: module $m is not in $pkg" >&2; exit 1; fi
  if command -v modinfo >/dev/null 2>&1; then
    deps=$(modinfo -F depends "${ko_path[$m]}")
  else
    deps=$(tr '\0' '\n' < "${ko_path[$m]}" | sed -n 's/^depends=//p' | head -n 1)
  fi
  for d in ${deps//,/ }; do visit_module "$(echo "$d" | tr - _)"; done
  ko_order+=("$m")
}

# fetched again when an older setup left the kernel without its modules
if [ ! -s "$dest/vmlinuz" ] || [ ! -s "$dest/modules/modules.order" ]; then
  tmp=$(mktemp -d)
  (cd "$tmp" && apt-get download "$pkg" >/dev/null 2>&1 || "${sudo_cmd[@]}" apt-get download "$pkg" >/dev/null)
  deb=$(ls "$tmp"/*.deb)
  dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$tmp" ./boot ./lib/modules
  mkdir -p "$dest"
  cp "$tmp"/boot/vmlinuz-* "$dest/vmlinuz"
  extract_modules "$tmp" "$(ls "$tmp/lib/modules")"
  dpkg-deb -f "$deb" Version > "$dest/VERSION"
  rm -rf "$tmp"
fi
# the modules as an initramfs segment of their own (/modules/NAME.ko); the kernel's
# unpacker takes xz with CRC32 checks only, and allocates the dictionary whole while it
# unpacks (decompress_unxz(), XZ_DYNALLOC): 1 MiB, as Documentation/driver-api/early-userspace asks
if [ ! -s "$dest/modules/modules.cpio.xz" ]; then
  (cd "$dest" && { echo modules; sed 's|.*|modules/&.ko|' modules/modules.order; } |
    cpio --quiet -o -H newc -R 0:0 | xz --check=crc32 --lzma2=preset=9e,dict=1MiB > modules/modules.cpio.xz.tmp)
  mv "$dest/modules/modules.cpio.xz.tmp" "$dest/modules/modules.cpio.xz"
fi
echo "oracle:setup: kernel $pkg ($(cat "$dest/VERSION")) in $dest"
echo "oracle:setup: modules $(tr '\n' ' ' < "$dest/modules/modules.order")"
for t in qemu-system-x86_64 gcc; do command -v "$t" >/dev/null || { echo "oracle:setup: $t is missing" >&2; exit 1; }; done
[ -x /bin/busybox ] || { echo "oracle:setup: /bin/busybox is missing" >&2; exit 1; }
has_mke2fs || { echo "oracle:setup: mke2fs is missing" >&2; exit 1; }
echo "oracle:setup: ready"
