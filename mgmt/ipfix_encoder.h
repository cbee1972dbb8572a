// IPFIX message encoding (RFC 7011), written by us: message header, one
// template set, data sets of session records (docs/operations.md § IPFIX).
//
// One record per session per router: the addresses the session had when it
// arrived at this router (sourceIPv4Address..protocolIdentifier) and the ones
// it left with (postNAT*/postNAPT*, RFC 8158 IEs 225-228), so an operator joins
// the records of R1 (client -> waypoints) and R2 (waypoints -> client again)
// by the enterprise-specific global session id: the SVR session UUID that
// both routers carry in metadata (docs/svr-wire-format.md TLV 6).
//
// Enterprise elements use PEN 32473, the number IANA reserves for
// documentation and examples (RFC 5612); a deployment with its own PEN
// changes kWaypointPen only. Elements: 1 globalSessionId (octetArray, 16),
// 2 tenantName (string, variable), 3 serviceName (string, variable).
// Byte and packet counts are totals since the session started (IP packet
// bytes as the router saw them), per direction: initiatorOctets (231) /
// responderOctets (232), initiatorPackets (298) / responderPackets (299).
// natEvent (230, RFC 8158): 4 "NAT44 session create" on active-timeout
// records of a live session, 5 "NAT44 session delete" on end records.
//
// The session's application (docs/applications.md § IPFIX): applicationId (95,
// RFC 6759 § 4, octetArray, fixed 7 bytes) = Classification Engine ID 20
// (PANA-L7-PEN) + 4-byte PEN 35632 (ntop, whose nDPI registry the ids come
// from; RFC 6759 § 4.1: a PEN naming the owner of the registry when it is not
// the exporter's) + 2-byte selector: nDPI's protocol id (the most specific one:
// YouTube, not TLS), 0 while not classified or not recognised.
// applicationName (96, string, variable length): nDPI's name for that id,
// "Unknown" for 0.
//
// IPv6 sessions (issue #19) get template 257: the same elements in the same
// order, with sourceIPv6Address (27) / destinationIPv6Address (28) in place
// of 8/12 and postNATSourceIPv6Address (281) / postNATDestinationIPv6Address
// (282) in place of 225/226. IPv6 sessions are routed, not translated, so
// 281/282 carry the same addresses as 27/28 today (as 225/226 do for a plain
// routed IPv4 session); natEvent keeps its values (4/5: session create/delete).
//
// IPv6 sessions that SVR carries (docs/ipv6.md § IPv6 sessions between IPv4 /
// IPv6 waypoints) carry their IPv6 client -> server tuple in 27/28 (ports 7/11,
// protocol 4) and the waypoint leg in the post-NAT elements, on both routers
// alike (the ingress router's waypoint and port -> the egress router's): between
// IPv6 waypoints that is template 257 as is (281/282, 227/228); between IPv4
// waypoints template 258: template 257 with postNATSourceIPv4Address (225) /
// postNATDestinationIPv4Address (226) in place of 281/282 (IpfixRecord::post_ipv4).
//
// IPv4 sessions between IPv6 waypoints (docs/ipv6.md § IPv4 sessions between
// IPv6 waypoints) likewise carry their IPv4 client -> server tuple in 8/12 (7/11,
// 4) and the IPv6 waypoint leg in 281/282 (227/228) on both routers: template
// 259, template 256 with 281/282 in place of 225/226 (IpfixRecord::post_ipv6).
// The workers keep these sessions under 0.255.0.0/16 stand-ins; no record
// carries one (mgmt/svr6_view.h).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "dataplane/ip/ipv6.h"
#include "dataplane/ip/tuple.h"

namespace wp::mgmt {

inline constexpr uint32_t kWaypointPen = 32473;
inline constexpr uint16_t kSessionTemplateId = 256;
inline constexpr uint16_t kSession6TemplateId = 257;  // IPv6 sessions (IPv6 post-NAT addresses)
inline constexpr uint16_t kSession6Post4TemplateId = 258;  // IPv6 sessions between IPv4 waypoints
inline constexpr uint16_t kSession4Post6TemplateId = 259;  // IPv4 sessions between IPv6 waypoints
inline constexpr size_t kIpfixMaxMessage = 1400;  // fits any path MTU we care about
inline constexpr size_t kIpfixNameMax = 63;
inline constexpr uint8_t kNatEventSessionCreate = 4;
inline constexpr uint8_t kNatEventSessionDelete = 5;
inline constexpr uint8_t kClassificationEnginePanaL7Pen = 20;  // RFC 6759 § 4.1 table
inline constexpr uint32_t kNdpiRegistryPen = 35632;            // ntop (nDPI's owner), IANA PEN
inline constexpr size_t kApplicationIdBytes = 7;               // engine id + PEN + 2-byte selector

struct IpfixRecord {
  uint64_t start_ms = 0;  // Unix epoch ms
  uint64_t end_ms = 0;    // last packet seen
  FiveTuple pre;          // as the session arrived at this router (forward direction)
  FiveTuple post;         // as it left this router
  // An IPv6 session (template 257): the addresses below replace pre/post's
  // IPv4 ones; ports and protocol stay in pre/post.
  bool ipv6 = false;
  // With ipv6: the post-NAT addresses are IPv4 (post.src/dst; template 258), not post_*6.
  bool post_ipv4 = false;
  // Without ipv6: the post-NAT addresses are IPv6 (post_src6/post_dst6; template 259), not post.src/dst.
  bool post_ipv6 = false;
  Ipv6 pre_src6, pre_dst6, post_src6, post_dst6;
  uint64_t initiator_octets = 0, responder_octets = 0;
  uint64_t initiator_packets = 0, responder_packets = 0;
  uint8_t nat_event = kNatEventSessionDelete;
  uint8_t end_reason = 0;  // flowEndReason (136)
  uint32_t ingress_if = 0, egress_if = 0;
  std::array<uint8_t, 16> session_id{};
  // Names copied in (truncated to kIpfixNameMax): records outlive config commits.
  uint8_t tenant_len = 0, service_len = 0;
  char tenant[kIpfixNameMax + 1] = {};
  char service[kIpfixNameMax + 1] = {};
  // The application: nDPI protocol id (IE 95's selector) and nDPI's name for it (IE 96).
  uint16_t app_id = 0;
  uint8_t app_len = 0;
  char app[kIpfixNameMax + 1] = {};

  void set_tenant(std::string_view n);
  void set_service(std::string_view n);
  void set_app(std::string_view n);
  // Whether the post-NAT addresses are IPv6 ones (templates 257 and 259).
  bool post_is_ipv6() const { return ipv6 ? !post_ipv4 : post_ipv6; }
  // The template the record is encoded in: 256 to 259.
  uint16_t template_id() const;
};

// Builds one IPFIX message in a caller buffer of kIpfixMaxMessage bytes.
// begin() writes the header; add_template() and add_record() append (data
// records are grouped into one data set, opened on demand); finish() patches
// lengths and returns the message size. add_* return false when the message
// is full: finish it, send, and begin the next.
class IpfixMessage {
 public:
  void begin(uint8_t* buf, uint32_t export_time_s, uint32_t sequence, uint32_t domain);
  bool add_template();
  // Templates 257 and 258 (IPv6 sessions) and 259 (IPv4 sessions between IPv6 waypoints), a template set each.
  bool add_template6();
  bool add_record(const IpfixRecord& r);
  size_t finish();
  uint32_t records() const { return records_; }
  size_t size() const { return len_; }

  static size_t record_size(const IpfixRecord& r);
  static size_t template_set_size();
  static size_t template6_set_size();  // the three sets of add_template6

 private:
  void close_set();
  bool add_template_set(uint16_t id);  // 256 to 259
  uint8_t* buf_ = nullptr;
  size_t len_ = 0;
  size_t set_start_ = 0;  // 0: no data set open
  uint16_t set_template_ = 0;  // template of the open data set
  uint32_t records_ = 0;
};

}  // namespace wp::mgmt
