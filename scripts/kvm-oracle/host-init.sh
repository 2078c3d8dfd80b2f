#!/bin/busybox sh
# /init of the nested KVM host (scripts/kvm-oracle/run.sh builds the initramfs; docs/kvm-oracle.md).
# Enables the kvm trace events, runs the guest under real KVM with Debian's arm64 QEMU
# (-accel kvm -cpu host), then writes what it saw as a tar archive to the NVMe disk and powers off:
#   trace.txt        /sys/kernel/tracing/trace (events/kvm only)
#   console.txt      the guest's serial output, byte for byte
#   guest.dtb        the DT the guest got (QEMU's dumpdtb with the same machine options)
#   kvm-formats.txt  every kvm:* event's format file of this host kernel
#   stats.txt        the ring buffer's per-CPU statistics (overruns must be 0)
#   host.txt         uname, qemu's exit code, the kvm lines of the host's kernel log
# Parameters come from /oracle.env (SMP, MEM, APPEND, GUEST_TIMEOUT).
/bin/busybox --install -s /bin
export PATH=/bin:/usr/bin LD_LIBRARY_PATH=/usr/lib/aarch64-linux-gnu
. /oracle.env
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tracefs tracefs /sys/kernel/tracing
T=/sys/kernel/tracing
mkdir -p /out /tmp

# Enough ring buffer that a boot never overwrites itself (stats.txt says if it did).
echo 0 >$T/tracing_on
echo "$BUFFER_KB" >$T/buffer_size_kb
echo 1 >$T/events/kvm/enable
for e in $T/events/kvm/*/; do
  echo "== $(basename "$e")"
  cat "$e/format"
done >/out/kvm-formats.txt

# The DT the guest gets: the same machine options, QEMU dumps it and exits.
/usr/bin/qemu-system-aarch64 -M virt,gic-version=3,dumpdtb=/out/guest.dtb -accel kvm -cpu host -smp "$SMP" -m "$MEM" \
  -display none -monitor none -nic none -kernel /guest/Image -initrd /guest/initrd -append "$APPEND" >/out/dumpdtb.txt 2>&1 </dev/null

echo KVMORACLE-HOST-READY
# The guest's serial port is a pipe pair: its output is copied to console.txt, and one line of input
# is sent once the guest's /init printed its marker (UART input arrives while the guest waits).
mkfifo /tmp/con.in /tmp/con.out
cat /tmp/con.out >/out/console.txt &
reader=$!
(
  while ! grep -q KVMORACLE-GUEST-UP /out/console.txt 2>/dev/null; do sleep 0.05; done
  cat /guest/input.txt >/tmp/con.in
) &
sender=$!
: >$T/trace
echo 1 >$T/tracing_on
# debug-threads=on names the vCPU threads "CPU <n>/KVM": the trace's comm says which vCPU it is.
timeout "$GUEST_TIMEOUT" /usr/bin/qemu-system-aarch64 -M virt,gic-version=3 -accel kvm -cpu host -smp "$SMP" -m "$MEM" \
  -name guest=oracle,debug-threads=on -display none -monitor none -nic none -no-reboot \
  -kernel /guest/Image -initrd /guest/initrd -append "$APPEND" -serial pipe:/tmp/con 2>/out/qemu.stderr </dev/null
rc=$?
echo 0 >$T/tracing_on
kill "$sender" 2>/dev/null
sleep 0.2
kill "$reader" 2>/dev/null
echo "KVMORACLE-QEMU-EXIT $rc"

cat $T/trace >/out/trace.txt
for c in $T/per_cpu/cpu*; do
  echo "== $(basename "$c")"
  cat "$c/stats"
done >/out/stats.txt
{
  echo "uname $(uname -r)"
  echo "qemu-exit $rc"
  dmesg | grep 'kvm \['
} >/out/host.txt
(cd /out && tar -cf /dev/nvme0n1 .)
sync
echo KVMORACLE-HOST-DONE
poweroff -f
