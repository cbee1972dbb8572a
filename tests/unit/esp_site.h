// The legacy IPsec site of the ESP worker tests (esp_worker_test.cc,
// esp_worker6_test.cc; docs/ipsec.md § ESP in the worker loop): r2 as the
// headend with tunnel ipsec0 to site1 (tenant branch), and both ends of one
// Child SA (aes256gcm16): the headend's table is published to the router's
// workers, the site's stays with the test, which seals what the site sends
// and opens what the headend sealed. With `outer6` the Child SA has IPv6
// outer addresses (docs/ipsec.md § IPv6 outer addresses): the site at
// kSite6, the headend at kR2Wan6 on its WAN's IPv6 prefix.
#pragma once

#include <cstring>
#include <memory>
#include <vector>

#include "dataplane/ipsec/esp_input.h"
#include "dataplane/ipsec/esp_output.h"
#include "dataplane/worker/esp_step.h"
#include "tests/unit/svr_harness.h"

namespace wp::test {

using Bytes = std::vector<uint8_t>;

inline const Ipv4 kSite = ip("172.16.0.9");  // the legacy site's outer address, on r2's WAN
inline const Ipv4 kSiteHost = ip("10.50.0.7");
inline constexpr Mac kSiteMac = {2, 0, 0, 0, 9, 9};
inline constexpr uint32_t kTunnel = 0;
inline const Ipv6 kSite6 = *parse_ipv6("2001:db8:ff::9");   // the site's IPv6 outer address
inline const Ipv6 kR2Wan6 = *parse_ipv6("2001:db8:ff::2");  // r2's, on wan0 (headend_outer6_config)

inline config::Config headend_config() {
  config::Config c = router_base("r2", "10.2.0.1/24", {{"wan0", "172.16.0.2/24"}});
  c.add_tenants()->set_name("branch");  // the tunnel's tenant
  add_tenant(c, "hq", "10.2.0.0/24");
  add_service(c, {"web", "10.2.0.10/32", "tcp", "80", ""});
  add_service(c, {"ssh", "10.2.0.10/32", "tcp", "22", ""});  // no policy for branch: denied
  add_service(c, {"ping", "10.2.0.10/32", "", "", ""});  // any protocol: ICMP echo
  add_service(c, {"site", "10.50.0.0/24", "udp", "", ""});
  add_policy(c, "branch", "web", "");
  add_policy(c, "branch", "ping", "");
  add_policy(c, "hq", "site", "");
  auto* t = c.add_tunnels();
  t->set_name("ipsec0");
  t->set_peer("site1");
  t->set_tenant("branch");
  t->set_mtu(1400);
  t->set_address("169.254.10.1/30");
  auto* r = c.add_routes();
  r->set_prefix("10.50.0.0/24");
  r->set_interface("ipsec0");
  return c;
}

inline Bytes keymat(EspCipher c, uint8_t seed) {
  Bytes km(esp_keymat_len(c));
  for (size_t i = 0; i < km.size(); ++i) km[i] = static_cast<uint8_t>(i * 13 + seed);
  return km;
}

// Both ends of one Child SA (aes256gcm16, UDP 4500 or with `udp` false IP
// protocol 50): the headend's table is published to the router's workers,
// the site's stays with the test.
struct Tunnel {
  CryptoEngine eng;
  IvSource ivs{eng};
  std::unique_ptr<EspSaTable> headend = std::make_unique<EspSaTable>();
  std::unique_ptr<EspSaTable> site = std::make_unique<EspSaTable>();
  EspWorkerState site_state;
  const uint32_t spi_in = spi_for_tunnel(0x4d2c0000, kTunnel);  // ours
  const uint32_t spi_out = 0xc0de0001;                          // the site's
  bool opened_ipv6 = false;  // the last open() found next header 41
  const bool outer6;

  explicit Tunnel(bool with_out_sa = true, bool udp = true, bool outer6_ = false) : outer6(outer6_) {
    const EspCipher c = EspCipher::aes256_gcm16;
    EspSa in;  // site -> headend
    in.spi = spi_in;
    in.generation = 1;
    in.tunnel = kTunnel;
    in.inbound = true;
    in.local = kR2Wan;
    in.peer = kSite;
    in.udp_encap = udp;
    in.outer6 = outer6;
    if (outer6) in.local6 = kR2Wan6, in.peer6 = kSite6;
    esp_keys_init(eng, c, false, keymat(c, 1).data(), in.keys);
    EspSa out = in;  // headend -> site
    out.spi = spi_out;
    out.inbound = false;
    esp_keys_init(eng, c, false, keymat(c, 2).data(), out.keys);
    EXPECT_TRUE(headend->install(0, in));
    if (with_out_sa) {
      EXPECT_TRUE(headend->install(1, out));
      headend->mutable_tunnel(kTunnel).out_sa = 1;
    }
    // The site: the same SAs the other way round.
    EspSa s_out = in;
    s_out.inbound = false;
    std::swap(s_out.local, s_out.peer);
    std::swap(s_out.local6, s_out.peer6);
    EspSa s_in = out;
    s_in.inbound = true;
    std::swap(s_in.local, s_in.peer);
    std::swap(s_in.local6, s_in.peer6);
    EXPECT_TRUE(site->install(0, s_out));
    site->mutable_tunnel(kTunnel).out_sa = 0;
    EXPECT_TRUE(site->install(1, s_in));
  }

  // The site's ESP frame to the headend carrying `inner` (an Ethernet frame).
  Bytes seal(const Bytes& inner_frame) {
    rte_mbuf* m = rte_pktmbuf_alloc(test_pool());
    std::memcpy(rte_pktmbuf_append(m, static_cast<uint16_t>(inner_frame.size() - 14)), inner_frame.data() + 14,
                inner_frame.size() - 14);
    EspResult r;
    const uint16_t t = kTunnel;
    esp_output_burst(eng, ivs, *site, site_state, &m, &t, 1, &r);
    EXPECT_TRUE(r.ok) << kDropReasonNames[static_cast<size_t>(r.drop)];
    const uint8_t* p = rte_pktmbuf_mtod(m, const uint8_t*);
    Bytes f = Pkt().eth(kR2Mac, kSiteMac).bytes();
    f.resize(14);
    if (outer6) f[12] = 0x86, f[13] = 0xdd;
    f.insert(f.end(), p, p + m->data_len);
    rte_pktmbuf_free(m);
    return f;
  }
  // Opens an ESP frame the headend sent; the inner IPv4 or IPv6 packet, empty when it does not open.
  Bytes open(const Frame& f) {
    rte_mbuf* m = rte_pktmbuf_alloc(test_pool());
    std::memcpy(rte_pktmbuf_append(m, static_cast<uint16_t>(f.raw.size() - 14)), f.raw.data() + 14, f.raw.size() - 14);
    EspResult r;
    esp_input_burst(eng, *site, site_state, &m, 1, &r);
    Bytes out;
    opened_ipv6 = r.ok && r.ipv6;
    if (r.ok) out.assign(rte_pktmbuf_mtod(m, const uint8_t*), rte_pktmbuf_mtod(m, const uint8_t*) + m->data_len);
    rte_pktmbuf_free(m);
    return out;
  }
};

// A datagram the site opened (Tunnel::open) as a frame, 14 zero bytes of Ethernet before it, for
// the checks that read frames (icmp6_error_check.h).
inline Frame framed(const Bytes& inner) {
  Frame f{Bytes(14, 0), 0};
  f.raw.insert(f.raw.end(), inner.begin(), inner.end());
  return f;
}

inline std::unique_ptr<Router> make_router(Tunnel& tu, const config::Config& c, RouterOptions opts = {}) {
  auto r = std::make_unique<Router>(c, std::move(opts));
  r->neighbor(1, kSite, kSiteMac);
  r->neighbor(0, kServer, kServerMac);
  r->shared().esp.store(tu.headend.get(), std::memory_order_release);
  return r;
}
inline std::unique_ptr<Router> make_router(Tunnel& tu, RouterOptions opts = {}) {
  return make_router(tu, headend_config(), std::move(opts));
}

// headend_config() with an IPv6 address on wan0, where the site's IPv6 outer address is on-link.
inline config::Config headend_outer6_config(config::Config c = headend_config()) {
  c.mutable_router()->mutable_wan(0)->add_ipv6_addresses("2001:db8:ff::2/64");
  return c;
}

// The site host's TCP SYN to the server's port 80 with the MSS option 1460 (checksummed).
inline Bytes site_syn_mss1460(uint16_t sport) {
  Bytes syn = Pkt().ipv4(kSiteHost, kServer).tcp(sport, 80, kTcpSyn).tcp_options(4).bytes();
  const size_t opt = 14 + 20 + 20;  // the MSS option at the start of the options
  syn[opt] = 2, syn[opt + 1] = 4, syn[opt + 2] = 0x05, syn[opt + 3] = 0xb4;
  uint8_t* tcp = syn.data() + opt - 20;
  put16(tcp + 16, 0);
  const size_t tcp_len = syn.size() - 14 - 20;
  put16(tcp + 16, static_cast<uint16_t>(~ones_fold(ones_sum(tcp, tcp_len, ones_sum(syn.data() + 14 + 12, 8) + 6 +
                                                                               static_cast<uint32_t>(tcp_len)))));
  return syn;
}

inline Bytes lan_frame(const Router& r, Pkt p) {
  Bytes f = p.bytes();
  std::memcpy(f.data(), r.model().interfaces[0].mac, 6);
  std::memcpy(f.data() + 6, kServerMac.data(), 6);
  return f;
}

inline uint64_t tunnel_counter(Router& r, std::atomic<uint64_t> EspTunnelCounters::*c) {
  uint64_t n = 0;
  for (uint32_t w = 0; w <= r.workers(); ++w) n += (r.shared().esp_tunnel_counters(w, kTunnel)->*c).load();
  return n;
}

}  // namespace wp::test
