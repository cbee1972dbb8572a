// The IPv6 half of wp_bench_foundation (perf/README.md § Foundation benchmark,
// docs/ipv6.md § IPv6 routing and sessions): a router that routes IPv6 with
// sessions (worker/route6_step.h), no SVR, on the same two net_null ports.
//
//   clients 2001:db8:71::2..65 (tenant v6) - [r6] lan 2001:db8:71::1/64,
//   wan0 2001:db8:70::1/64 - gateway 2001:db8:70::2 - servers 2001:db8:72::10.. (a static route)
//
// The client tuples mirror the IPv4 ones (client_tuple in bench_foundation.cc):
// 100 client hosts x 64000 source ports x server hosts, even = UDP to 5201,
// odd = TCP to 80. Frames are the IPv4 frames with the 20 B longer IPv6 header:
// first packets UDP 120 B / TCP SYN 94 B (with 20 B of NOP options), fast-path
// frames 74 B (the smallest that holds an IPv6 TCP ACK; UDP carries 12 B).
#pragma once

#include <rte_ip.h>

#include <cstdint>
#include <cstring>
#include <string>

#include "dataplane/ip/ipv6.h"
#include "dataplane/ip/packet.h"
#include "dataplane/ip/tuple.h"

namespace wp::bench {

constexpr uint16_t kFrameLen6 = 74;
constexpr uint32_t kClientHosts6 = 100;
constexpr uint32_t kServerHosts6 = 10;

inline std::string router6_yaml() {
  return "router:\n  name: r6\n"
         "  lan: {name: lan, device: net_null0, address: 10.1.0.1/24, ipv6_addresses: [\"2001:db8:71::1/64\"]}\n"
         "  wan:\n    - {name: wan0, device: net_null1, address: 172.16.0.1/24, ipv6_addresses: "
         "[\"2001:db8:70::1/64\"]}\n"
         "routes:\n  - {prefix: \"2001:db8:72::/64\", next_hop: \"2001:db8:70::2\", interface: wan0}\n"
         "tenants:\n  - {name: v6, ipv6_prefixes: [\"2001:db8:71::/64\"]}\n"
         "services:\n"
         "  - {name: web6, prefixes: [\"2001:db8:72::/64\"], protocol: tcp, ports: [\"80\", \"8000\", \"5201\"]}\n"
         "  - {name: iperf6, prefixes: [\"2001:db8:72::/64\"], protocol: udp, ports: [\"5201\"]}\n"
         "policies:\n  - {tenant: v6, service: web6}\n  - {tenant: v6, service: iperf6}\n";
}

inline Ipv6 client_host6(uint32_t h) { return Ipv6{0x20010db800710000ULL, 2 + h}; }
inline Ipv6 server_host6(uint32_t h) { return Ipv6{0x20010db800720000ULL, 0x10 + h}; }
inline const Ipv6 kGateway6{0x20010db800700000ULL, 2};

inline FiveTuple6 client_tuple6(uint32_t i) {
  const uint32_t rest = i / kClientHosts6;
  const bool udp = (i & 1) == 0;
  return FiveTuple6{client_host6(i % kClientHosts6), server_host6(rest / 64000), static_cast<uint16_t>(1024 + rest % 64000),
                    static_cast<uint16_t>(udp ? 5201 : 80), udp ? kProtoUdp : kProtoTcp};
}

// Ethernet + IPv6 (hop limit 64) + UDP/TCP, `len` bytes, valid L4 checksum,
// to `dmac` (the receiving interface's MAC). TCP with SYN carries 20 B of NOP
// options (data offset 10), like the IPv4 first packets.
inline void build_frame6(uint8_t* f, uint16_t len, const FiveTuple6& t, uint8_t tcp_flags, const uint8_t dmac[6]) {
  std::memset(f, 0, len);
  static const uint8_t smac[6] = {0x02, 0, 0, 0, 0, 0x02};
  std::memcpy(f, dmac, 6);
  std::memcpy(f + 6, smac, 6);
  f[12] = 0x86;
  f[13] = 0xdd;
  auto* ip = reinterpret_cast<rte_ipv6_hdr*>(f + 14);
  ip->vtc_flow = rte_cpu_to_be_32(6u << 28);
  ip->payload_len = rte_cpu_to_be_16(static_cast<uint16_t>(len - 54));
  ip->proto = t.proto;
  ip->hop_limits = 64;
  store_ipv6(f + 22, t.src);
  store_ipv6(f + 38, t.dst);
  uint8_t* l4 = f + 54;
  store_be16(l4, t.sport);
  store_be16(l4 + 2, t.dport);
  if (t.proto == kProtoUdp) {
    store_be16(l4 + 4, static_cast<uint16_t>(len - 54));
    for (uint16_t i = 62; i < len; ++i) f[i] = static_cast<uint8_t>(i);
  } else {
    const bool syn = tcp_flags & kTcpSyn;
    const uint8_t doff = syn ? 10 : 5;
    store_be32(l4 + 4, 1000);
    if (!syn) store_be32(l4 + 8, 2000);
    l4[12] = static_cast<uint8_t>(doff << 4);
    l4[13] = tcp_flags;
    store_be16(l4 + 14, 65535);
    if (syn) std::memset(l4 + 20, 1, 20);  // NOP options
    for (uint16_t i = static_cast<uint16_t>(54 + doff * 4); i < len; ++i) f[i] = static_cast<uint8_t>(i);
  }
  const uint16_t ck = rte_ipv6_udptcp_cksum(ip, l4);
  std::memcpy(l4 + (t.proto == kProtoUdp ? 6 : 16), &ck, 2);
}

}  // namespace wp::bench
