// The responder's configuration; see responder_config.h.
#include "dataplane/control/ike/responder_config.h"

#include <algorithm>
#include <string>

#include "dataplane/control/ike/ike_cert.h"
#include "dataplane/ip/ip_address.h"

namespace wp::ike {
namespace {

constexpr const char* kDefaultIke[] = {"aes256-sha256-modp2048", "aes256-sha256-ecp256", "aes256gcm16-prfsha256-ecp256"};
constexpr const char* kDefaultEsp[] = {"aes256gcm16", "aes256-sha256"};

template <typename Names>
std::vector<std::string> names_or(const Names& names, std::initializer_list<const char*> fallback) {
  if (!names.empty()) return {names.begin(), names.end()};
  return {fallback.begin(), fallback.end()};
}

// TS_IPV4_ADDR_RANGE or TS_IPV6_ADDR_RANGE by the prefix's family (validated).
std::vector<TrafficSelector> selectors(const google::protobuf::RepeatedPtrField<std::string>& prefixes) {
  std::vector<TrafficSelector> out;
  for (const std::string& text : prefixes) {
    if (auto p = parse_prefix(text))
      out.push_back(selector_of(*p));
    else if (auto p6 = parse_prefix6(text))
      out.push_back(selector_of(*p6));
  }
  if (prefixes.empty()) {  // route-based: everything, both families (the routes decide what enters)
    out.push_back(selector_of(Ipv4Prefix{0, 0}));
    out.push_back(selector_of(Ipv6Prefix{}));
  }
  return out;
}

PeerConfig peer_config(const waypoint::config::Config& cfg, const waypoint::config::IpsecPeer& p) {
  PeerConfig pc;
  pc.name = p.name();
  pc.local_id = p.local_id();
  pc.remote_id = p.remote_id();
  pc.local_ident = identity_of(pc.local_id);
  pc.remote_ident = identity_of(pc.remote_id);
  if (auto a = IpAddress::parse(p.local_address())) pc.local_addr = a->bytes();  // 4 or 16 bytes, as on the wire
  pc.psk.assign(p.psk().begin(), p.psk().end());
  if (!p.certificate().empty()) {
    // Validated already; should it fail here, the peer has no credentials and
    // every AUTH from or to it fails (an empty PSK is never used).
    std::string error;
    pc.cert = load_cert_auth(p.certificate(), p.private_key(), p.ca_certificates(), error, p.crls());
  }
  for (const std::string& n : names_or(p.esp_proposals(), {kDefaultEsp[0], kDefaultEsp[1]})) {
    EspSuite s;
    std::string base;
    uint16_t group = 0;
    if (!split_esp_group(n, base, group) || !esp_suite_by_name(base, s)) continue;
    pc.esp_suites.push_back(s);
    if (group != 0) pc.pfs_group = group;  // validated: every proposal names the same one
  }
  pc.local_ts = selectors(p.local_ts());
  pc.remote_ts = selectors(p.remote_ts());
  for (int t = 0; t < cfg.tunnels_size(); ++t) {
    if (cfg.tunnels(t).peer() == p.name()) pc.tunnel = static_cast<uint32_t>(t);
  }
  return pc;
}

}  // namespace

bool esp_suite_by_name(std::string_view name, EspSuite& s) {
  if (name == "aes256gcm16")
    s = {kEncrAesGcm16, 0, false};
  else if (name == "aes256gcm16-esn")
    s = {kEncrAesGcm16, 0, true};
  else if (name == "aes256-sha256")
    s = {kEncrAesCbc, kIntegHmacSha256_128, false};
  else if (name == "aes256-sha256-esn")
    s = {kEncrAesCbc, kIntegHmacSha256_128, true};
  else
    return false;
  return true;
}

TrafficSelector selector_of(const Ipv4Prefix& p) {
  const uint32_t mask = p.len == 0 ? 0 : ~uint32_t{0} << (32 - p.len);
  const uint32_t lo = p.addr & mask, hi = lo | ~mask;
  TrafficSelector ts;
  ts.start_addr = {uint8_t(lo >> 24), uint8_t(lo >> 16), uint8_t(lo >> 8), uint8_t(lo)};
  ts.end_addr = {uint8_t(hi >> 24), uint8_t(hi >> 16), uint8_t(hi >> 8), uint8_t(hi)};
  return ts;
}

TrafficSelector selector_of(const Ipv6Prefix& p) {
  const Ipv6 mask = Ipv6Prefix::mask_of(p.len);
  const Ipv6 lo{p.addr.hi & mask.hi, p.addr.lo & mask.lo}, hi{lo.hi | ~mask.hi, lo.lo | ~mask.lo};
  TrafficSelector ts;
  ts.type = kTsIpv6Range;
  ts.start_addr.resize(16);
  ts.end_addr.resize(16);
  store_ipv6(ts.start_addr.data(), lo);
  store_ipv6(ts.end_addr.data(), hi);
  return ts;
}

std::vector<IkeSuite> peer_ike_suites(const waypoint::config::IpsecPeer& p) {
  std::vector<IkeSuite> out;
  for (const std::string& n : names_or(p.ike_proposals(), {kDefaultIke[0], kDefaultIke[1], kDefaultIke[2]})) {
    IkeSuite s;
    if (ike_suite_by_name(n, s)) out.push_back(s);
  }
  return out;
}

ResponderConfig responder_config(const waypoint::config::Config& cfg) {
  ResponderConfig rc;
  for (const auto& p : cfg.ipsec_peers()) {
    for (const std::string& n : names_or(p.ike_proposals(), {kDefaultIke[0], kDefaultIke[1], kDefaultIke[2]})) {
      IkeSuite s;
      auto same = [&s](const IkeSuite& o) {
        return o.encr == s.encr && o.encr_key_bits == s.encr_key_bits && o.integ == s.integ && o.prf == s.prf &&
               o.dh == s.dh;
      };
      if (ike_suite_by_name(n, s) && std::none_of(rc.ike_suites.begin(), rc.ike_suites.end(), same))
        rc.ike_suites.push_back(s);
    }
    rc.peers.push_back(peer_config(cfg, p));
  }
  return rc;
}

}  // namespace wp::ike
