#!/usr/bin/env bash
# Fetches the real guests bootscope's tests, demo and benchmarks boot: exactly the Debian packages
# pinned in guests/inputs.lock (package, version, sha256 of the .deb; docs/inputs.md).
#
#   scripts/fetch-guests.sh [--progress] [ROLE...]
#       Downloads each pinned .deb (`apt-get download PKG=VERSION`; when apt's lists no longer name
#       that version, the same file from the archive's pool with apt-helper), checks its sha256
#       against the pin, unpacks it with dpkg-deb into .cache/guests/PKG_VERSION_ARCH/ (a directory
#       per version; BOOTSCOPE_GUESTS=DIR moves the cache) and prints one line per role:
#       "<role> <absolute path>" (kernel, kernel-6.12, u-boot, busybox, xen, edk2; all by default).
#       The KVM oracle's packages (kind oracle, roles kvm-host/<package>: Debian's arm64 QEMU and
#       its libraries, docs/kvm-oracle.md) come only when asked for, by group: `fetch-guests.sh
#       kvm-host` prints one "kvm-host/<package> <path>" line per package.
#       Idempotent: what is unpacked is not fetched again. A .deb whose sha256 differs from the pin
#       is deleted and the run fails; nothing is left half unpacked. --progress writes
#       "progress <role> <download|verify|unpack> <percent>" lines to stderr (cli/inputs.ts reads them).
#   scripts/fetch-guests.sh --newest [--write] [ROLE...]
#       The one place that looks for newer inputs: prints, for each pinned input (guests, Node, the
#       tests' Debian tools), the pinned and the newest version apt or npm offers. --write moves the
#       pins of the newer ones in guests/inputs.lock (versions, sizes, hashes from apt's signed
#       lists or the npm registry); then run the goldens with UPDATE_GOLDEN=1 (docs/inputs.md).
#
# BOOTSCOPE_INPUTS=FILE reads another manifest (the tests use it).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
inputs="${BOOTSCOPE_INPUTS:-$root/guests/inputs.lock}"
cache="${BOOTSCOPE_GUESTS:-$root/.cache/guests}"
PATH="$PATH:/usr/lib/apt" # apt-helper

die() { echo "fetch-guests: $*" >&2; exit 1; }
is_root() { [ "$(id -u)" = 0 ]; }
have() { command -v "$1" >/dev/null 2>&1; }
arm64_enabled() { dpkg --print-foreign-architectures 2>/dev/null | grep -qx arm64 || [ "$(dpkg --print-architecture 2>/dev/null)" = arm64 ]; }

[ -r "$inputs" ] || die "$inputs: manifest not found"

newest=0 write=0 progress=0 roles=()
for a in "$@"; do
  case "$a" in
    --newest) newest=1 ;;
    --write) write=1 ;;
    --progress) progress=1 ;;
    -h | --help) sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    -*) die "unknown option $a (see --help)" ;;
    *) roles+=("$a") ;;
  esac
done
[ "$write" = 0 ] || [ "$newest" = 1 ] || die "--write goes with --newest"

# The manifest's lines of one kind ("guest", "node", "tool"), comments and blank lines dropped.
pins() { awk -v k="$1" '$1 == k' "$inputs"; }

# Keep only the lines whose role was asked for (all when none was); unknown roles are an error.
select_roles() {
  local kind="$1" lines role found
  lines="$(pins "$kind")"
  [ ${#roles[@]} -eq 0 ] && { printf '%s\n' "$lines"; return; }
  for role in "${roles[@]}"; do
    # A role names its own line, or a group: "kvm-host" is every "kvm-host/<package>" line.
    found="$(awk -v r="$role" '$2 == r || index($2, r "/") == 1' <<<"$lines")"
    if [ -n "$found" ]; then printf '%s\n' "$found"; fi
  done
}
check_roles() { # KIND-REGEX: every role asked for is on a line of such a kind (or names a group)
  local role known
  known="$(awk -v k="$1" '$1 ~ k { sub("/.*", "", $2); if (!seen[$2]++) printf "%s ", $2 }' "$inputs")"
  for role in "${roles[@]}"; do
    awk -v k="$1" -v r="$role" '$1 ~ k && ($2 == r || index($2, r "/") == 1) { f = 1 } END { exit !f }' "$inputs" \
      || die "unknown role '$role' (guests/inputs.lock has: ${known% })"
  done
}
if [ "$newest" = 1 ]; then check_roles '^(guest|oracle|node|tool)$'; else check_roles '^(guest|oracle)$'; fi

# ---------------------------------------------------------------------------------------------
# Fetch mode
# ---------------------------------------------------------------------------------------------

# step ROLE STEP PERCENT [WHAT]: progress for cli/inputs.ts, or on a terminal one line for each
# step that names WHAT (its start).
step() {
  if [ "$progress" = 1 ]; then
    echo "progress $1 $2 $3" >&2
  elif [ -t 2 ] && [ -n "${4:-}" ]; then
    echo "fetch-guests: $1: $2 $4" >&2
  fi
}

sha256_of() { sha256sum "$1" | cut -d' ' -f1; }

updated=0
apt_update() {
  [ "$updated" = 1 ] && return 1
  updated=1
  is_root || return 1
  apt-get update -qq >/dev/null 2>&1 || true
}

# download ROLE PKG VERSION ARCH POOL DEST: the pinned .deb into DEST (not yet verified). Tries
# apt-get download (what apt's lists name), then the pool path on the machine's apt sources. On
# failure, sets $why to one line saying what was tried and returns 1.
why=""
download() {
  local role="$1" pkg="$2" ver="$3" arch="$4" pool="$5" dest="$6" spec="$2" dir log uri uris got
  dir="$(dirname "$dest")"
  log="$dir/apt.log"
  have apt-get || { why="apt-get is not available (bootscope fetches its guests from Debian's archive with apt)"; return 1; }
  [ "$arch" = all ] || spec="$pkg:$arch"
  local apt_why=""
  if [ "$arch" = arm64 ] && ! arm64_enabled; then
    if is_root; then
      dpkg --add-architecture arm64
      apt_update || true
    else
      apt_why="the arm64 architecture is not enabled for apt (as root: dpkg --add-architecture arm64 && apt-get update)"
    fi
  fi
  if [ -z "$apt_why" ]; then
    local try
    for try in 1 2; do
      # Status-Fd 3 reports "dlstatus:N:PERCENT:TEXT"; the download's percentage goes to step().
      if (cd "$dir" && apt-get download -q -o APT::Status-Fd=3 "$spec=$ver" 3>&1 >/dev/null 2>"$log") \
        | while IFS=: read -r kind _ pct _; do if [ "$kind" = dlstatus ]; then step "$role" download "${pct%.*}" ""; fi; done; then
        got="$(ls -1 "$dir"/*.deb 2>/dev/null | head -n1 || true)"
        [ -n "$got" ] && { mv -f "$got" "$dest"; return 0; }
      fi
      # Lists older than the pin: refresh once (as root) and try again.
      [ "$try" = 1 ] && apt_update || break
    done
    apt_why="apt-get download $spec=$ver failed ($(grep -v '^W:' "$log" | tail -n1 | sed 's/^E: //'))"
    is_root || apt_why="$apt_why; as root, apt-get update may help"
  fi
  # apt's lists no longer name the version (or cannot be used): the archive keeps the file in its
  # pool for a while after; fetch it by path from the sources apt is configured with.
  uris="$(apt-get indextargets --format '$(REPO_URI)' 2>/dev/null | sort -u || true)"
  if have apt-helper && [ "$pool" != - ]; then
    for uri in $uris; do
      if apt-helper download-file "$uri$pool" "$dest" >"$log" 2>&1; then return 0; fi
    done
  fi
  why="$apt_why; $pool is not on ${uris:-any configured apt source}"
  why="${why//$'\n'/ }"
  return 1
}

# fetch_one ROLE PKG VERSION ARCH SHA FILE POOL SIZE: unpack the pinned package (once); add its
# "<role> <path>" line to $out. Runs in the main shell, so die's exit runs the clean-up trap.
fetch_one() {
  local role="$1" pkg="$2" ver="$3" arch="$4" sha="${5#sha256:}" file="$6" pool="$7"
  local key="${pkg}_${ver#*:}_${arch}" what="$pkg $ver"
  local dir="$cache/$key" deb="$cache/debs/$key.deb"
  if [ ! -f "$dir/.done" ]; then
    work="$(mktemp -d "$cache/.partial.$key.XXXXXX")"
    if [ ! -f "$deb" ]; then
      step "$role" download 0 "$what ($(awk -v b="${8:-0}" 'BEGIN { printf "%.1f", b / 1048576 }') MiB)"
      download "$role" "$pkg" "$ver" "$arch" "$pool" "$work/new.deb" \
        || die "cannot fetch $what ($role): $why. If the archive dropped it, move the pin on purpose: docs/inputs.md"
      step "$role" download 100 ""
      step "$role" verify 0 "$what"
      local got
      got="$(sha256_of "$work/new.deb")"
      [ "$got" = "$sha" ] || die "$what ($role): the downloaded .deb's sha256 is $got, guests/inputs.lock pins $sha; deleted it, nothing unpacked"
      mkdir -p "$cache/debs"
      mv -f "$work/new.deb" "$deb"
    else
      step "$role" verify 0 "$what"
      local got
      got="$(sha256_of "$deb")"
      if [ "$got" != "$sha" ]; then
        rm -f "$deb"
        die "$deb: sha256 $got, but guests/inputs.lock pins $sha for $what ($role); deleted it (the next run downloads it again), nothing unpacked"
      fi
    fi
    step "$role" verify 100 ""
    step "$role" unpack 0 "$what"
    dpkg-deb -x "$deb" "$work/root" || die "$deb: dpkg-deb could not unpack it; nothing unpacked"
    [ -f "$work/root/$file" ] || die "$what ($role): the package has no $file (guests/inputs.lock's file field); nothing unpacked"
    touch "$work/root/.done"
    rm -rf "$dir"
    mv -T "$work/root" "$dir"
    rm -rf "$work"
    work=""
    step "$role" unpack 100 ""
  fi
  out+="$role $dir/$file"$'\n'
}

fetch_all() {
  mkdir -p "$cache"
  # One fetch at a time per cache: parallel test workers all ask on a fresh machine.
  exec 9>"$cache/.lock"
  have flock && flock 9
  work=""
  trap 'if [ -n "$work" ]; then rm -rf "$work"; fi' EXIT
  rm -rf "$cache"/.partial.* # left by a run that was killed
  out=""
  local kind role pkg ver arch size sha file pool
  while read -r kind role pkg ver arch size sha file pool; do
    [ -n "$kind" ] || continue
    fetch_one "$role" "$pkg" "$ver" "$arch" "$sha" "$file" "$pool" "$size"
  # oracle packages (the nested KVM host's, scripts/kvm-oracle/) only when their role is asked for.
  done < <(select_roles guest; [ ${#roles[@]} -eq 0 ] || select_roles oracle)
  printf '%s' "$out"
}

# ---------------------------------------------------------------------------------------------
# --newest mode: compare the pins with what apt and npm offer now
# ---------------------------------------------------------------------------------------------

# apt-cache is slow (seconds a call on a busy machine): ask once for every name at hand.
# policy_candidates NAME...: "NAME CANDIDATE" for each name apt can install.
policy_candidates() {
  [ $# -gt 0 ] || return 0
  apt-cache policy "$@" 2>/dev/null | awk '/^[^ ].*:$/ { name = substr($0, 1, length($0) - 1) }
    /^  Candidate: / && $2 != "(none)" { print name, $2 }'
}

# Kernel packages come in series: "linux-image-6.1.0-56-cloud-arm64" is ABI 56 of
# 6.1.0-N-cloud-arm64, "linux-image-6.12.118+deb12-cloud-arm64" upload 118 of 6.12.N+deb12-cloud-arm64.
# series_members PKG: every package name apt knows in PKG's series, highest number first.
series_members() {
  local pkg="$1" prefix suffix n
  [[ "$pkg" =~ ^(.*[.-])([0-9]+)((\+deb[0-9]+)?-[a-z0-9-]+)$ ]] || { echo "$pkg"; return; }
  prefix="${BASH_REMATCH[1]}" suffix="${BASH_REMATCH[3]}"
  apt-cache pkgnames "$prefix" 2>/dev/null | while read -r n; do
    n="${n%"$suffix"}"
    n="${n#"$prefix"}"
    if [[ "$n" =~ ^[0-9]+$ ]]; then echo "$n"; fi
  done | sort -rn | sed "s/.*/$prefix&$suffix/"
}

npm_newest() { # PKG MAJOR: the newest version of that major on the npm registry
  npm view "$1@$2" version 2>/dev/null | tr -d "'" | awk '{ print $NF }' | sort -V | tail -n1
}

status_of() { # PINNED NEWEST
  if [ -z "$2" ]; then echo unavailable
  elif [ "$1" = "$2" ]; then echo pinned
  elif dpkg --compare-versions "$2" gt "$1"; then echo newer
  else echo older
  fi
}

# One manifest line in the file's column layout.
fmt_line() {
  printf '%-6s %-11s %-39s %-32s %-5s %-8s %-71s %-43s %s\n' "$@" | sed 's/ *$//'
}

newest_mode() {
  is_root && { apt-get update -qq >/dev/null 2>&1 || echo "fetch-guests: apt-get update failed; comparing with apt's lists as they are" >&2; }
  [ -x "$root/.cache/node/bin/npm" ] && PATH="$root/.cache/node/bin:$PATH"
  local rows kind role pkg ver arch size sha file pool q npkg nver st newer=0 total=0 moved=() names=() cands
  local -A series=()
  rows="$(for k in guest oracle node tool; do select_roles "$k"; done)"
  if grep -Eq '^(guest|oracle) .* arm64 ' <<<"$rows" && ! arm64_enabled; then
    die "the arm64 architecture is not enabled for apt (as root: dpkg --add-architecture arm64 && apt-get update)"
  fi
  # Every apt name to ask about: the pinned packages and, for kernels, every member of the series.
  while read -r kind role pkg ver arch size sha file pool; do
    q=""; [ "$arch" = arm64 ] && q=":arm64"
    case "$kind" in
      guest | oracle)
        if [[ "$role" == kernel* ]]; then
          series[$role]="$(series_members "$pkg")"
          names+=($(sed "s/\$/$q/" <<<"${series[$role]}"))
        else
          names+=("$pkg$q")
        fi ;;
      tool) names+=("$pkg") ;;
    esac
  done <<<"$rows"
  cands="$(policy_candidates "${names[@]}")"
  printf '%-6s %-12s %-62s %-62s %s\n' kind role pinned newest status
  while read -r kind role pkg ver arch size sha file pool; do
    [ -n "$kind" ] || continue
    total=$((total + 1))
    npkg="$pkg" nver=""
    q=""; [ "$arch" = arm64 ] && q=":arm64"
    case "$kind" in
      guest | oracle)
        if [[ "$role" == kernel* ]]; then
          # The highest-numbered member of the series that apt can fetch.
          for npkg in ${series[$role]} "$pkg"; do
            nver="$(awk -v n="$npkg$q" '$1 == n { print $2 }' <<<"$cands")"
            [ -n "$nver" ] && break
          done
        else
          nver="$(awk -v n="$pkg$q" '$1 == n { print $2 }' <<<"$cands")"
        fi ;;
      tool) nver="$(awk -v n="$pkg" '$1 == n { print $2 }' <<<"$cands")" ;;
      node) nver="$(have npm && npm_newest "$pkg" "${ver%%.*}" || true)" ;;
    esac
    st="$(status_of "$ver" "$nver")"
    if [ "$kind" = node ]; then
      printf '%-6s %-12s %-62s %-62s %s\n' "$kind" "$role" "$pkg@$ver" "${nver:+$npkg@$nver}" "$st"
    else
      printf '%-6s %-12s %-62s %-62s %s\n' "$kind" "$role" "$pkg=$ver" "${nver:+$npkg=$nver}" "$st"
    fi
    [ "$st" = newer ] || continue
    newer=$((newer + 1))
    moved+=("$kind $role $npkg $nver")
  done <<<"$rows"
  if [ "$write" = 0 ]; then
    echo "fetch-guests: $newer of $total pinned inputs have a newer version$([ "$newer" = 0 ] || echo '; scripts/fetch-guests.sh --newest --write moves those pins, then see docs/inputs.md')" >&2
    return
  fi
  local m
  for m in "${moved[@]}"; do move_pin $m; done
  echo "fetch-guests: moved ${#moved[@]} pins in $inputs; next: scripts/fetch-guests.sh, then UPDATE_GOLDEN=1 ./bootscope test (docs/inputs.md)" >&2
}

# move_pin KIND ROLE PACKAGE VERSION: rewrite that role's line with the new version's facts.
move_pin() {
  local kind="$1" role="$2" npkg="$3" nver="$4" old k r pkg ver arch size sha file pool info line
  old="$(awk -v k="$kind" -v r="$role" '$1 == k && $2 == r' "$inputs")"
  read -r k r pkg ver arch size sha file pool <<<"$old"
  case "$kind" in
    guest | oracle)
      info="$(apt-cache show "$npkg$([ "$arch" = all ] || echo ":$arch")=$nver" 2>/dev/null)" || die "apt-cache show $npkg=$nver failed"
      size="$(awk '/^Size: / { print $2; exit }' <<<"$info")"
      sha="sha256:$(awk '/^SHA256: / { print $2; exit }' <<<"$info")"
      pool="$(awk '/^Filename: / { print $2; exit }' <<<"$info")"
      # A kernel's file names its ABI: boot/vmlinuz-6.1.0-56-cloud-arm64 → …-57-….
      file="${file//${pkg#linux-image-}/${npkg#linux-image-}}" ;;
    node)
      sha="$(npm view "$npkg@$nver" dist.integrity 2>/dev/null)" || die "npm view $npkg@$nver failed"
      pool="$npkg-$nver.tgz" ;;
  esac
  line="$(fmt_line "$kind" "$role" "$npkg" "$nver" "$arch" "$size" "$sha" "$file" "$pool")"
  awk -v k="$kind" -v r="$role" -v l="$line" '$1 == k && $2 == r { print l; next } { print }' "$inputs" >"$inputs.new"
  mv -f "$inputs.new" "$inputs"
  echo "fetch-guests: $kind $role: $pkg $ver -> $npkg $nver" >&2
}

if [ "$newest" = 1 ]; then newest_mode; else fetch_all; fi
