#!/bin/bash
# build-deb.sh [BUILD_DIR] [OUT_DIR]: the `waypoint` Debian package from an
# existing build (default build/, binaries already built), into OUT_DIR
# (default BUILD_DIR/packages), then lintian on it. Installs nothing.
# Prints the .deb's path last. Exit 1 when cpack fails or lintian reports an
# error (E:); warnings are printed and accepted (docs/operations.md § Install from packages).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$root/build}" && pwd)
out=${2:-$build/packages}
mkdir -p "$out"
# Configure first: picks up man pages or completions added since the last run.
# The packaged targets are brought up to date (a no-op after a full build):
# cpack itself builds nothing (CMAKE_SKIP_INSTALL_ALL_DEPENDENCY).
cmake "$build" >/dev/null
cmake --build "$build" --target waypointd wpctl wpgen wpflowprobe wp_deb_changelog >"$out/build.log" 2>&1 ||
  { cat "$out/build.log" >&2; exit 1; }
(cd "$build" && cpack -G DEB -B "$out" >"$out/cpack.log" 2>&1) || { cat "$out/cpack.log" >&2; exit 1; }
deb=$(ls -t "$out"/waypoint_*.deb | head -1)
if command -v lintian >/dev/null; then
  lintian --tag-display-limit 0 "$deb" >"$out/lintian.log" 2>&1 || true
  cat "$out/lintian.log" >&2
  if grep -q "^E:" "$out/lintian.log"; then
    echo "build-deb: lintian reports errors" >&2
    exit 1
  fi
fi
echo "$deb"
