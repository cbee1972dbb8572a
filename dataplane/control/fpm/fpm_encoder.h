// Writing FPM frames the way zebra's dplane_fpm_nl does (fpm_decoder.h has
// the format): the benchmark's generated route stream, the unit tests'
// vectors and the fuzzer's seeds. Not used by waypointd itself.
#pragma once

#include <cstdint>
#include <vector>

#include "dataplane/control/fpm/fpm_decoder.h"

namespace wp::fpm {

class FpmWriter {
 public:
  // RTM_NEWROUTE (del = false) or RTM_DELROUTE in table 254; one next hop
  // becomes RTA_GATEWAY + RTA_OIF, more become RTA_MULTIPATH; nh_id != 0
  // adds RTA_NH_ID.
  FpmWriter& route(bool add, const Ipv4Prefix& p, uint8_t protocol, const std::vector<FpmNextHop>& hops,
                   uint32_t nh_id = 0, uint8_t type = 1, uint32_t table = kMainTableId);
  // The same for an AF_INET6 route: 16-byte RTA_DST and RTA_GATEWAY (the hops' gateway6).
  FpmWriter& route6(bool add, const Ipv6Prefix& p, uint8_t protocol, const std::vector<FpmNextHop>& hops,
                    uint32_t nh_id = 0, uint8_t type = 1, uint32_t table = kMainTableId);
  // RTM_NEWNEXTHOP / RTM_DELNEXTHOP: one next hop, or a group of ids. A hop
  // with a gateway6 is an AF_INET6 object.
  FpmWriter& nexthop(bool add, uint32_t id, const FpmNextHop& hop, const std::vector<uint32_t>& group = {});
  // The frames written so far, one netlink message each, back to back.
  const std::vector<uint8_t>& bytes() const { return out_; }
  void clear() { out_.clear(); }

  static constexpr uint32_t kMainTableId = 254;

 private:
  void begin(uint16_t type);
  void end();
  void put8(uint8_t v) { out_.push_back(v); }
  void put16(uint16_t v);
  void put32(uint32_t v);
  void attr32(uint16_t type, uint32_t v);
  void attr_addr(uint16_t type, Ipv4 a);
  void attr_addr6(uint16_t type, const Ipv6& a);
  void attr_gateway(uint16_t type, bool v6, const FpmNextHop& h);
  // rtmsg of `family` (2, 10) with `dst` (its first 4 or 16 bytes) and the attributes after it.
  void route_msg(bool add, uint8_t family, uint8_t len, const uint8_t* dst, uint8_t protocol,
                 const std::vector<FpmNextHop>& hops, uint32_t nh_id, uint8_t type, uint32_t table);
  std::vector<uint8_t> out_;
  size_t frame_ = 0;
  uint32_t seq_ = 0;
};

}  // namespace wp::fpm
