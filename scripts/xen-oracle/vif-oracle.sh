#!/bin/sh
# libxl's hotplug script for the oracle's vif: the backend interface up, no bridge (nothing is
# received, as on the emulator), hotplug-status for libxl.
[ "$1" = online ] || [ "$1" = add ] || exit 0
ip link set "$vif" up 2>/dev/null
xenstore-write "$XENBUS_PATH/hotplug-status" connected
