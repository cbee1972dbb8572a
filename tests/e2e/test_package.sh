#!/bin/bash
# The `waypoint` Debian package (packaging/): built from the existing build
# with CPack (packaging/build-deb.sh), lintian clean of errors, its contents
# and control fields checked with dpkg-deb, then unpacked with dpkg -x into a
# temp root (the host's installed packages are never touched) and the
# unpacked waypointd runs --version and --check on the shipped configs.
set -u -o pipefail
source "$(dirname "$0")/lib.sh"

BUILD=${WP_BUILD:-$(dirname "$WAYPOINTD")/..}
wp_init "wpe2e-pkg-"
echo "== test_package: Debian package from $BUILD"
deb=$("$WP_REPO/packaging/build-deb.sh" "$BUILD" "$WP_TMP/pkg" 2>"$WP_TMP/build-deb.log")
rc=$?
sed 's/^/  /' "$WP_TMP/build-deb.log"
wp_expect "package built, lintian without errors" "$rc" -eq 0
[ -f "$deb" ] || wp_finish

dpkg-deb -c "$deb" >"$WP_TMP/contents.txt"
dpkg-deb -I "$deb" >"$WP_TMP/info.txt"
for f in ./usr/bin/waypointd ./usr/bin/wpctl ./usr/bin/wpgen ./usr/bin/wpflowprobe \
  ./etc/waypoint/waypoint.yaml ./lib/systemd/system/waypointd@.service \
  ./usr/share/doc/waypoint/examples/r1.yaml ./usr/share/doc/waypoint/copyright \
  ./usr/share/doc/waypoint/changelog.Debian.gz; do
  wp_check "contains $f" grep -q " $f\$" "$WP_TMP/contents.txt"
done
wp_check "the default config is a conffile" sh -c "dpkg-deb -e '$deb' '$WP_TMP/control' && grep -qx /etc/waypoint/waypoint.yaml '$WP_TMP/control/conffiles'"
wp_check "postinst creates the waypoint user" grep -q "adduser --system .* waypoint" "$WP_TMP/control/postinst"
# dpkg-shlibdeps found the libraries waypointd links (DPDK, libsystemd, ...).
depends=$(sed -n 's/^ Depends: //p' "$WP_TMP/info.txt")
echo "  Depends: $depends"
for lib in librte-ethdev libsystemd0 libprotobuf adduser; do
  wp_check "Depends names $lib" grep -q "$lib" <<<"$depends"
done

root=$WP_TMP/root
dpkg -x "$deb" "$root"
wp_check "unpacked waypointd --version names the commit" \
  sh -c "'$root/usr/bin/waypointd' --version | grep -Eq '^waypointd [0-9.]+ \\(commit ([0-9a-f]{12}(-dirty)?|unknown)\\)'"
wp_check "unpacked wpctl --version" sh -c "'$root/usr/bin/wpctl' --version | grep -q '^wpctl '"
for cfg in "$root/etc/waypoint/waypoint.yaml" "$root"/usr/share/doc/waypoint/examples/*.yaml; do
  wp_check "unpacked waypointd --check $(basename "$cfg")" "$root/usr/bin/waypointd" --check --config "$cfg"
done
wp_finish
