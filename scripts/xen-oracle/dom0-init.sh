#!/bin/busybox sh
# The xen oracle's dom0 (scripts/xen-oracle/run-xl.sh): Debian's kernel and Xen 4.17 toolstack in
# an initramfs (make-dom0.ts). It loads the kernel's own Xen modules (privcmd, evtchn, gntdev,
# gntalloc, xenfs, blkback, netback) and loop, starts xenstored, xen-init-dom0 and xenconsoled,
# puts the domU's disk image on /dev/loop0 and runs `xl create /etc/xen/domU.cfg`. Once both
# backends are Connected it prints the domU's xenstore tree and dom0's backend directories
# ("XS: " lines, the domU paused meanwhile); once the domU is gone (it powers off), the domU's console as xenconsoled logged it
# ("DOMU: " lines), then "DOM0: end" and powers off.
/bin/busybox --install -s /bin
export PATH=/bin:/usr/bin:/usr/lib/xen-4.17/bin LD_LIBRARY_PATH=/usr/lib/aarch64-linux-gnu
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mount -t tmpfs run /run
mkdir -p /run/xen /run/xenstored /var/log/xen/console /dev/pts
mount -t devpts devpts /dev/pts
for m in xen-privcmd xen-evtchn xen-gntdev xen-gntalloc xenfs xen-blkback xen-netback loop; do
  insmod /lib/modules/$m.ko || echo "DOM0: insmod $m failed"
done
mount -t xenfs xenfs /proc/xen
xenstored --pid-file /run/xenstored.pid || echo "DOM0: xenstored failed"
xen-init-dom0 || echo "DOM0: xen-init-dom0 failed"
xenconsoled --log=guest --log-dir=/var/log/xen/console || echo "DOM0: xenconsoled failed"
losetup /dev/loop0 /domU/disk.img || echo "DOM0: losetup failed"
echo "DOM0: xl create"
xl create /etc/xen/domU.cfg
echo "DOM0: xl create exit $?"
# The domain's progress from xenstore (xl list is slow under TCG), polled every 0.2 s. Once both
# backends are Connected the domU is paused while its tree is read: its disk's init powers off a
# few seconds later, and libxl removes the tree with the domain.
state() { xenstore-read "/local/domain/0/backend/$1/state" 2>/dev/null; }
n=0
until [ "$(state vbd/1/51712)" = 4 ] && [ "$(state vif/1/0)" = 4 ] || [ $n -ge 4500 ]; do usleep 200000; n=$((n + 1)); done
if [ $n -lt 4500 ]; then
  xl pause domU
  echo "DOM0: backends connected after $((n / 5))s"
  xenstore-ls -fp /local/domain/1 | sed 's/^/XS: /'
  xenstore-ls -fp /local/domain/0/backend | sed 's/^/XS: /'
  xl unpause domU
else
  echo "DOM0: backends not connected after $((n / 5))s"
fi
n=0
while xenstore-read /local/domain/1/name >/dev/null 2>&1 && [ $n -lt 900 ]; do sleep 1; n=$((n + 1)); done
echo "DOM0: domU gone after ${n}s"
sed 's/^/DOMU: /' /var/log/xen/console/guest-domU.log
echo "DOM0: end"
poweroff -f
