#!/usr/bin/env bash
# Waypoint set-up for a fresh Debian 12 machine (idempotent):
#   1. installs every Debian package the build, the tests and the tools use,
#   2. reserves hugepages when the kernel lets us (everything also runs --no-huge),
#   3. builds Release into build/.
# Usage: ./setup.sh            (as root, or with sudo available)
set -euo pipefail
cd "$(dirname "$0")"

PACKAGES=(
  # toolchain
  build-essential cmake ninja-build pkg-config git clang-14 libclang-rt-14-dev
  # dataplane
  dpdk dpdk-dev libdpdk-dev libnuma-dev libipsec-mb-dev libpcap-dev libndpi-dev
  # HA (Corosync CPG / quorum)
  corosync libcorosync-common-dev libcpg-dev libquorum-dev libvotequorum-dev libcmap-dev
  liblz4-dev  # sync batches LZ4-compressed (ha/sync_batcher.h, #17)
  # management plane
  redis-server libhiredis-dev protobuf-compiler libprotobuf-dev libcpp-httplib-dev
  nlohmann-json3-dev libyaml-cpp-dev libcli11-dev libspdlog-dev libfmt-dev libssl-dev
  # systemd (sd_notify, sd_journal_send) and the Debian package check
  libsystemd-dev lintian
  # tests and benchmarks
  libgtest-dev libgmock-dev googletest libbenchmark-dev tshark python3 python3-scapy
  iperf3 curl iproute2 iputils-ping ethtool nftables tcpdump procps psmisc pmacct nfdump gnuplot-nox
  stress-ng   # a CPU hog to run the e2e tests under load (tests/e2e/README.md)
  universal-ctags  # tools/unity_scan.py: names that would clash in a unity batch (ctest unity_name_clashes)
  # observability and API contract checks: promtool and a Prometheus server, the OpenAPI
  # checker (docs/api/check_openapi.py), manual pages rendered by man/groff
  prometheus python3-yaml python3-jsonschema man-db groff-base
  # routing: FRR beside waypointd over the punt path, its zebra feeding the FIB over FPM
  # (docs/operations.md § Punt path, § Routes from FRR)
  frr
  # legacy IPsec sites: strongSwan charon (user-space ESP via kernel-libipsec) as the peer in the
  # IKEv2/ESP tests, swanctl to drive it (docs/ipsec.md)
  strongswan-charon strongswan-swanctl libcharon-extra-plugins libstrongswan-standard-plugins
  # perf lab peers (perf/wpbench.sh peers): OVS-DPDK with conntrack NAT, run by hand, never as
  # a service (perf/README.md)
  openvswitch-switch-dpdk
  # application classification e2e (tests/e2e/test_apps.sh): an sshd and dig as real clients/servers
  openssh-server bind9-dnsutils
)

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${#missing[@]} package(s): ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # tshark asks whether non-root users may capture; answer for it.
  echo "wireshark-common wireshark-common/install-setuid boolean false" | $SUDO debconf-set-selections
  $SUDO apt-get update -q
  $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
else
  echo "setup: all ${#PACKAGES[@]} packages present"
fi

# Hugepages: 512 x 2 MiB when possible. Waypoint runs without them too
# (EAL --no-huge), which is what the tests use.
if [ -w /proc/sys/vm/nr_hugepages ] || [ -n "$SUDO" ]; then
  cur=$(cat /proc/sys/vm/nr_hugepages 2>/dev/null || echo 0)
  if [ "$cur" -lt 512 ]; then
    echo 512 | $SUDO tee /proc/sys/vm/nr_hugepages >/dev/null 2>&1 || true
  fi
  echo "setup: hugepages reserved: $(cat /proc/sys/vm/nr_hugepages 2>/dev/null || echo 0) (not required)"
fi

cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
ninja -C build
echo "setup: built build/tools/waypointd"
