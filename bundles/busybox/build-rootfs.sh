#!/bin/sh
# Builds a minimal rootfs from Debian's busybox-static: one static binary and its applet
# links, plus the directories a container's mounts land on.
#   usage: build-rootfs.sh [DEST]   (default: rootfs next to this script)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
dest=${1:-$here/rootfs}
busybox=$(command -v busybox || true)
if [ -z "$busybox" ] || ! file -L "$busybox" 2>/dev/null | grep -q 'statically linked'; then
  [ -x /bin/busybox ] && busybox=/bin/busybox
fi
if [ -z "$busybox" ]; then
  echo "build-rootfs: busybox not found; install it with: apt-get install -y busybox-static" >&2
  exit 1
fi
if ldd "$busybox" >/dev/null 2>&1; then
  echo "build-rootfs: $busybox is dynamically linked; install busybox-static" >&2
  exit 1
fi
tmp="$dest.tmp.$$"
rm -rf "$tmp"
mkdir -p "$tmp/bin" "$tmp/sbin" "$tmp/usr/bin" "$tmp/usr/sbin" "$tmp/etc" "$tmp/root" \
  "$tmp/proc" "$tmp/sys" "$tmp/dev" "$tmp/tmp" "$tmp/run" "$tmp/var" "$tmp/home"
chmod 1777 "$tmp/tmp"
cp "$busybox" "$tmp/bin/busybox"
for applet in $("$busybox" --list-full); do
  [ -e "$tmp/$applet" ] || ln -s /bin/busybox "$tmp/$applet"
done
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' > "$tmp/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' > "$tmp/etc/group"
rm -rf "$dest"
mv "$tmp" "$dest"
echo "rootfs ready: $dest"
