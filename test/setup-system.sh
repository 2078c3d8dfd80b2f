#!/usr/bin/env bash
# Installs the Debian packages the test suite needs (real QEMU, dtc, the aarch64 cross toolchain,
# tmux, chromium, …): the "tool" lines of guests/inputs.lock, each at its pinned version
# (`apt-get install PKG=VERSION`). Quiet when every pinned version is installed.
# Drift is said, not fatal, so that a test never fails because the archive moved:
#   - a package installed at another version: one line naming both (the package is left alone);
#   - a pinned version apt cannot install any more: the archive's current one, with one line.
# Move the pins on purpose with scripts/fetch-guests.sh --newest (docs/inputs.md).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
inputs="$root/guests/inputs.lock"
say() { echo "bootscope: $*" >&2; }

# "PKG VERSION" for each tool pin, and what dpkg has installed ("PKG VERSION", none when absent).
pins="$(awk '$1 == "tool" { print $3, $4 }' "$inputs")"
installed="$(dpkg-query -W -f '${Package} ${db:Status-Status} ${Version}\n' $(cut -d' ' -f1 <<<"$pins") 2>/dev/null | awk '$2 == "installed" { print $1, $3 }' || true)"

need=()
while read -r pkg ver; do
  have="$(awk -v p="$pkg" '$1 == p { print $2 }' <<<"$installed")"
  if [ -z "$have" ]; then
    need+=("$pkg=$ver")
  elif [ "$have" != "$ver" ]; then
    say "$pkg $have is installed; guests/inputs.lock pins $ver (the tests use the installed one; scripts/fetch-guests.sh --newest compares)"
  fi
done <<<"$pins"

if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    say "the tests need these Debian packages: ${need[*]} (run as root to install them)"
    exit 1
  fi
  say "installing Debian packages: ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt=(apt-get -y -qq --no-install-recommends -o DPkg::Lock::Timeout=600)
  apt-get update -qq >/dev/null
  log="$(mktemp)"
  trap 'rm -f "$log"' EXIT
  apt_error() { grep '^E:' "$log" | tail -n1 | sed 's/^E: //'; }
  if ! "${apt[@]}" install "${need[@]}" >/dev/null 2>"$log"; then
    # A pinned version the archive no longer has (or that conflicts with what is installed):
    # take the archive's current ones rather than fail the tests, and say which.
    say "apt could not install the pinned versions ($(apt_error)); installing the archive's current ones: ${need[*]%%=*}"
    "${apt[@]}" install "${need[@]%%=*}" >/dev/null 2>"$log" || { say "apt-get install ${need[*]%%=*} failed: $(apt_error)"; exit 1; }
    for p in "${need[@]}"; do
      got="$(dpkg-query -W -f '${Version}' "${p%%=*}")"
      [ "$got" = "${p#*=}" ] || say "${p%%=*} $got installed; guests/inputs.lock pins ${p#*=}"
    done
  fi
fi
# arm64 packages (kernel, U-Boot, busybox, Xen) are fetched with `apt-get download` by
# scripts/fetch-guests.sh, which needs apt's arm64 lists.
if ! dpkg --print-foreign-architectures | grep -qx arm64; then
  [ "$(id -u)" = 0 ] && { dpkg --add-architecture arm64; apt-get update -qq >/dev/null; }
fi
# The pinned guests, fetched here, before vitest starts (a second of checks when they are
# cached): the tests' own calls then find them unpacked, and a fresh machine's downloads (~55 MB)
# do not block a test worker for minutes, which starves vitest's RPC. A failure is said once and
# is not fatal here: every test that needs a guest fails with the same one-line reason, the
# others still run.
"$root/scripts/fetch-guests.sh" >/dev/null || true
exit 0
