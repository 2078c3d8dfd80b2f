#!/bin/sh
# libxl's hotplug script for the oracle's disk: what Xen's own `block` script writes for a phy
# device (physical-device as major:minor in hex, its path, hotplug-status), without its locking
# and sharing checks (the dom0 has one disk and one domU).
[ "$1" = add ] || exit 0
dev=$(xenstore-read "$XENBUS_PATH/params")
xenstore-write "$XENBUS_PATH/physical-device" "$(stat -L -c %t:%T "$dev")" \
  "$XENBUS_PATH/physical-device-path" "$dev" "$XENBUS_PATH/hotplug-status" connected
