// FPM frame writer; see fpm_encoder.h.
#include "dataplane/control/fpm/fpm_encoder.h"

#include <cstring>

namespace wp::fpm {

void FpmWriter::put16(uint16_t v) {
  uint8_t b[2];
  std::memcpy(b, &v, 2);  // netlink: host order
  out_.insert(out_.end(), b, b + 2);
}
void FpmWriter::put32(uint32_t v) {
  uint8_t b[4];
  std::memcpy(b, &v, 4);
  out_.insert(out_.end(), b, b + 4);
}
void FpmWriter::attr32(uint16_t type, uint32_t v) {
  put16(8);
  put16(type);
  put32(v);
}
void FpmWriter::attr_addr(uint16_t type, Ipv4 a) {
  put16(8);
  put16(type);
  for (int s = 24; s >= 0; s -= 8) put8(static_cast<uint8_t>(a >> s));
}

void FpmWriter::attr_addr6(uint16_t type, const Ipv6& a) {
  put16(20);
  put16(type);
  uint8_t b[16];
  store_ipv6(b, a);
  out_.insert(out_.end(), b, b + 16);
}
void FpmWriter::attr_gateway(uint16_t type, bool v6, const FpmNextHop& h) {
  if (v6 && !h.gateway6.is_unspecified()) attr_addr6(type, h.gateway6);
  if (!v6 && h.gateway) attr_addr(type, h.gateway);
}

void FpmWriter::begin(uint16_t type) {
  frame_ = out_.size();
  put8(kFpmVersion);
  put8(kFpmTypeNetlink);
  put16(0);  // FPM length, set by end()
  put32(0);  // nlmsg_len, set by end()
  put16(type);
  put16(0x0401);  // NLM_F_REQUEST | NLM_F_REPLACE, as zebra sends
  put32(++seq_);
  put32(0);
}

void FpmWriter::end() {
  const size_t total = out_.size() - frame_;
  out_[frame_ + 2] = static_cast<uint8_t>(total >> 8);
  out_[frame_ + 3] = static_cast<uint8_t>(total);
  const auto nl = static_cast<uint32_t>(total - kFpmHeaderLen);
  std::memcpy(&out_[frame_ + kFpmHeaderLen], &nl, 4);
}

FpmWriter& FpmWriter::route(bool add, const Ipv4Prefix& p, uint8_t protocol, const std::vector<FpmNextHop>& hops,
                            uint32_t nh_id, uint8_t type, uint32_t table) {
  const uint8_t dst[4] = {static_cast<uint8_t>(p.addr >> 24), static_cast<uint8_t>(p.addr >> 16),
                          static_cast<uint8_t>(p.addr >> 8), static_cast<uint8_t>(p.addr)};
  route_msg(add, 2, p.len, dst, protocol, hops, nh_id, type, table);
  return *this;
}

FpmWriter& FpmWriter::route6(bool add, const Ipv6Prefix& p, uint8_t protocol, const std::vector<FpmNextHop>& hops,
                             uint32_t nh_id, uint8_t type, uint32_t table) {
  uint8_t dst[16];
  store_ipv6(dst, p.addr);
  route_msg(add, 10, p.len, dst, protocol, hops, nh_id, type, table);
  return *this;
}

void FpmWriter::route_msg(bool add, uint8_t family, uint8_t len, const uint8_t* dst, uint8_t protocol,
                          const std::vector<FpmNextHop>& hops, uint32_t nh_id, uint8_t type, uint32_t table) {
  const bool v6 = family == 10;
  const size_t alen = v6 ? 16 : 4;
  begin(add ? 24 : 25);
  for (uint8_t b : {family, len, uint8_t{0}, uint8_t{0}, static_cast<uint8_t>(table < 256 ? table : 252), protocol,
                    uint8_t{0}, type})
    put8(b);
  put32(0);
  if (len) {
    put16(static_cast<uint16_t>(4 + alen));
    put16(1);  // RTA_DST
    out_.insert(out_.end(), dst, dst + alen);
  }
  attr32(15, table);
  attr32(6, 20);  // RTA_PRIORITY: zebra's installation metric
  if (nh_id) attr32(30, nh_id);
  if (hops.size() == 1) {
    attr_gateway(5, v6, hops[0]);
    if (hops[0].ifindex) attr32(4, hops[0].ifindex);
  } else if (hops.size() > 1) {
    const size_t at = out_.size();
    put16(0);
    put16(9);  // RTA_MULTIPATH
    for (const FpmNextHop& h : hops) {
      const bool gw = v6 ? !h.gateway6.is_unspecified() : h.gateway != 0;
      put16(static_cast<uint16_t>(8 + (gw ? 4 + alen : 0)));
      put8(0);
      put8(static_cast<uint8_t>(h.weight ? h.weight - 1 : 0));
      put32(h.ifindex);
      attr_gateway(5, v6, h);
    }
    const auto total = static_cast<uint16_t>(out_.size() - at);
    std::memcpy(&out_[at], &total, 2);
  }
  end();
}

FpmWriter& FpmWriter::nexthop(bool add, uint32_t id, const FpmNextHop& hop, const std::vector<uint32_t>& group) {
  begin(add ? 104 : 105);
  const bool v6 = !hop.gateway6.is_unspecified();
  const uint8_t family = !group.empty() ? 0 : v6 ? 10 : 2;
  for (uint8_t b : {family, uint8_t{0}, uint8_t{11}, uint8_t{0}}) put8(b);
  put32(0);
  attr32(1, id);
  if (!group.empty()) {
    put16(static_cast<uint16_t>(4 + 8 * group.size()));
    put16(2);  // NHA_GROUP
    for (uint32_t g : group) {
      put32(g);
      put32(0);  // weight 0 (= 1), reserved
    }
  } else {
    attr_gateway(6, v6, hop);
    if (hop.ifindex) attr32(5, hop.ifindex);
  }
  end();
  return *this;
}

}  // namespace wp::fpm
