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
  begin(add ? 24 : 25);
  for (uint8_t b : {uint8_t{2}, p.len, uint8_t{0}, uint8_t{0}, static_cast<uint8_t>(table < 256 ? table : 252),
                    protocol, uint8_t{0}, type})
    put8(b);
  put32(0);
  if (p.len) attr_addr(1, p.addr);
  attr32(15, table);
  attr32(6, 20);  // RTA_PRIORITY: zebra's installation metric
  if (nh_id) attr32(30, nh_id);
  if (hops.size() == 1) {
    if (hops[0].gateway) attr_addr(5, hops[0].gateway);
    if (hops[0].ifindex) attr32(4, hops[0].ifindex);
  } else if (hops.size() > 1) {
    const size_t at = out_.size();
    put16(0);
    put16(9);  // RTA_MULTIPATH
    for (const FpmNextHop& h : hops) {
      put16(h.gateway ? 16 : 8);
      put8(0);
      put8(static_cast<uint8_t>(h.weight ? h.weight - 1 : 0));
      put32(h.ifindex);
      if (h.gateway) attr_addr(5, h.gateway);
    }
    const auto len = static_cast<uint16_t>(out_.size() - at);
    std::memcpy(&out_[at], &len, 2);
  }
  end();
  return *this;
}

FpmWriter& FpmWriter::nexthop(bool add, uint32_t id, const FpmNextHop& hop, const std::vector<uint32_t>& group) {
  begin(add ? 104 : 105);
  for (uint8_t b : {static_cast<uint8_t>(group.empty() ? 2 : 0), uint8_t{0}, uint8_t{11}, uint8_t{0}}) put8(b);
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
    if (hop.gateway) attr_addr(6, hop.gateway);
    if (hop.ifindex) attr32(5, hop.ifindex);
  }
  end();
  return *this;
}

}  // namespace wp::fpm
