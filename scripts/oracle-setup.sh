#!/usr/bin/env bash
# Installs what the real-kernel oracle needs, from Debian's packages only:
#   qemu-system-x86, busybox-static, gcc and libc6-dev (the guest runner is compiled
#   statically), cpio; and the kernel of Debian's linux-image-amd64, fetched with
#   `apt-get download` and unpacked into .cache/oracle/kernel/ (ignored by git).
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

need=()
for p in qemu-system-x86 busybox-static gcc libc6-dev cpio; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need+=("$p")
done
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
if [ ! -s "$dest/vmlinuz" ]; then
  tmp=$(mktemp -d)
  (cd "$tmp" && apt-get download "$pkg" >/dev/null 2>&1 || "${sudo_cmd[@]}" apt-get download "$pkg" >/dev/null)
  deb=$(ls "$tmp"/*.deb)
  dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$tmp" ./boot
  mkdir -p "$dest"
  cp "$tmp"/boot/vmlinuz-* "$dest/vmlinuz"
  dpkg-deb -f "$deb" Version > "$dest/VERSION"
  rm -rf "$tmp"
fi
echo "oracle:setup: kernel $pkg ($(cat "$dest/VERSION")) in $dest"
for t in qemu-system-x86_64 gcc; do command -v "$t" >/dev/null || { echo "oracle:setup: $t is missing" >&2; exit 1; }; done
[ -x /bin/busybox ] || { echo "oracle:setup: /bin/busybox is missing" >&2; exit 1; }
echo "oracle:setup: ready"
