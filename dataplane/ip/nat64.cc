// NAT64 address mapping and ICMP translation tables; see nat64.h.
#include "dataplane/ip/nat64.h"

#include <algorithm>

namespace wp {
namespace {

// The byte positions that hold the IPv4 address under a /len prefix: from
// len/8 on, skipping byte 8 (the u octet).
std::array<uint8_t, 4> v4_positions(uint8_t len) {
  std::array<uint8_t, 4> pos{};
  uint8_t at = static_cast<uint8_t>(len / 8);
  for (uint8_t& p : pos) {
    if (at == 8 && len < 96) ++at;
    p = at++;
  }
  return pos;
}

bool in(Ipv4 a, Ipv4 net, int len) { return (a >> (32 - len)) == (net >> (32 - len)); }
constexpr Ipv4 v4(uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
  return uint32_t{a} << 24 | uint32_t{b} << 16 | uint32_t{c} << 8 | d;
}

IcmpXlat to(uint8_t type, uint8_t code) {
  IcmpXlat x;
  x.drop = false;
  x.type = type;
  x.code = code;
  return x;
}
IcmpXlat error_to(uint8_t type, uint8_t code) {
  IcmpXlat x = to(type, code);
  x.inner_packet = true;
  return x;
}

}  // namespace

Ipv6Bytes nat64_embed(const Ipv6Bytes& prefix, uint8_t len, Ipv4 addr) {
  Ipv6Bytes out{};
  std::copy(prefix.begin(), prefix.begin() + len / 8, out.begin());
  const auto pos = v4_positions(len);
  for (int i = 0; i < 4; ++i) out[pos[i]] = static_cast<uint8_t>(addr >> (24 - 8 * i));
  return out;
}

std::optional<Ipv4> nat64_extract(const Ipv6Bytes& prefix, uint8_t len, const Ipv6Bytes& addr) {
  if (!nat64_prefix_len_ok(len) || !std::equal(prefix.begin(), prefix.begin() + len / 8, addr.begin()))
    return std::nullopt;
  if (len < 96 && addr[8] != 0) return std::nullopt;  // the u octet
  Ipv4 v = 0;
  for (uint8_t p : v4_positions(len)) v = v << 8 | addr[p];
  return v;
}

bool nat64_wkp_allows(Ipv4 a) {
  // RFC 6052 § 3.1: no non-global addresses under 64:ff9b::/96 (the special
  // purpose blocks of RFC 6890 that are not globally reachable).
  static constexpr struct {
    Ipv4 net;
    int len;
  } kNonGlobal[] = {{v4(0, 0, 0, 0), 8},      {v4(10, 0, 0, 0), 8},     {v4(100, 64, 0, 0), 10},
                    {v4(127, 0, 0, 0), 8},    {v4(169, 254, 0, 0), 16}, {v4(172, 16, 0, 0), 12},
                    {v4(192, 0, 0, 0), 24},   {v4(192, 0, 2, 0), 24},   {v4(192, 88, 99, 0), 24},
                    {v4(192, 168, 0, 0), 16}, {v4(198, 18, 0, 0), 15},  {v4(198, 51, 100, 0), 24},
                    {v4(203, 0, 113, 0), 24}, {v4(224, 0, 0, 0), 4},    {v4(240, 0, 0, 0), 4}};
  for (const auto& b : kNonGlobal)
    if (in(a, b.net, b.len)) return false;
  return true;
}

IcmpXlat icmp6_to_icmp4(uint8_t type, uint8_t code) {
  switch (type) {
    case 128: return code == 0 ? to(8, 0) : IcmpXlat{};  // echo request
    case 129: return code == 0 ? to(0, 0) : IcmpXlat{};  // echo reply
    case 1:                                               // destination unreachable
      switch (code) {
        case 0: case 2: case 3: return error_to(3, 1);   // no route, beyond scope, address: host unreachable
        case 1: return error_to(3, 10);                   // administratively prohibited
        case 4: return error_to(3, 3);                    // port unreachable
        default: return {};
      }
    case 2: {  // packet too big -> fragmentation needed
      IcmpXlat x = error_to(3, 4);
      x.mtu_adjust = true;
      return x;
    }
    case 3: return code <= 1 ? error_to(11, code) : IcmpXlat{};  // time exceeded
    case 4:                                                       // parameter problem
      if (code == 0) {
        IcmpXlat x = error_to(12, 0);
        x.pointer_adjust = true;
        return x;
      }
      if (code == 1) return error_to(3, 2);  // unrecognized next header: protocol unreachable
      return {};
    default: return {};  // MLD, ND, redirect, unknown: silently dropped
  }
}

IcmpXlat icmp4_to_icmp6(uint8_t type, uint8_t code) {
  switch (type) {
    case 8: return code == 0 ? to(128, 0) : IcmpXlat{};
    case 0: return code == 0 ? to(129, 0) : IcmpXlat{};
    case 3:  // destination unreachable
      switch (code) {
        case 0: case 1: case 5: case 6: case 7: case 8: case 11: case 12: return error_to(1, 0);
        case 2: {  // protocol unreachable: parameter problem, pointer to next header
          IcmpXlat x = error_to(4, 1);
          x.pointer_adjust = true;
          return x;
        }
        case 3: return error_to(1, 4);
        case 4: {
          IcmpXlat x = error_to(2, 0);
          x.mtu_adjust = true;
          return x;
        }
        case 9: case 10: case 13: case 15: return error_to(1, 1);
        default: return {};  // 14 (host precedence violation) and unknown
      }
    case 11: return code <= 1 ? error_to(3, code) : IcmpXlat{};
    case 12:
      if (code == 0 || code == 2) {
        IcmpXlat x = error_to(4, 0);
        x.pointer_adjust = true;
        return x;
      }
      return {};
    default: return {};  // source quench, redirect, timestamps, masks, router messages, unknown
  }
}

uint32_t nat64_mtu_6to4(uint32_t ptb_mtu, uint32_t v4_link_mtu) {
  const uint32_t adjusted = ptb_mtu > 20 ? ptb_mtu - 20 : 0;
  return std::min(adjusted, v4_link_mtu);
}

uint32_t nat64_mtu_4to6(uint32_t fn_mtu, uint32_t v6_link_mtu) {
  const uint32_t adjusted = fn_mtu == 0 ? 1280 : fn_mtu + 20;
  return std::max<uint32_t>(1280, std::min(adjusted, v6_link_mtu));
}

std::optional<uint8_t> nat64_pointer_6to4(uint32_t p) {
  if (p == 0 || p == 1) return static_cast<uint8_t>(p);  // version/traffic class
  if (p == 4 || p == 5) return 2;                        // payload length -> total length
  if (p == 6) return 9;                                  // next header -> protocol
  if (p == 7) return 8;                                  // hop limit -> TTL
  if (p >= 8 && p <= 23) return 12;                      // source
  if (p >= 24 && p <= 39) return 16;                     // destination
  return std::nullopt;                                   // flow label and beyond
}

std::optional<uint32_t> nat64_pointer_4to6(uint8_t p) {
  if (p == 0 || p == 1) return p;         // version/IHL, type of service
  if (p == 2 || p == 3) return 4;         // total length -> payload length
  if (p == 8) return 7;                   // TTL -> hop limit
  if (p == 9) return 6;                   // protocol -> next header
  if (p >= 12 && p <= 15) return 8;       // source
  if (p >= 16 && p <= 19) return 24;      // destination
  return std::nullopt;                    // identification, flags, checksum, options
}

}  // namespace wp
