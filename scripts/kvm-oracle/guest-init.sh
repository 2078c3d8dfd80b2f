#!/bin/sh
# /init of the guest the KVM oracle runs (scripts/kvm-oracle/run.sh), under real KVM and on
# bootscope's kvm machine alike: print a marker, read one line from the console (the host sends it
# once it sees the marker: UART input), echo it back, power off (PSCI SYSTEM_OFF).
/bin/busybox mount -t proc proc /proc
echo KVMORACLE-GUEST-UP
if read -t 20 line; then echo "KVMORACLE-GUEST-READ:$line"; else echo KVMORACLE-GUEST-NOINPUT; fi
/bin/busybox poweroff -f
