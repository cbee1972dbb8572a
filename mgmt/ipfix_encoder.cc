// IPFIX encoding; see ipfix_encoder.h. RFC 7011 § 3.1 (message header),
// § 3.3 (sets), § 3.4.1 (template records, enterprise bit), § 7 (variable
// length: one length byte below 255).
#include "mgmt/ipfix_encoder.h"

#include <array>
#include <cstring>

namespace wp::mgmt {
namespace {

struct FieldSpec {
  uint16_t id;
  uint16_t length;  // 65535: variable
  bool enterprise;
};

// The record layout below (put_record) follows this order exactly.
constexpr FieldSpec kFields[] = {
    {152, 8, false},     // flowStartMilliseconds
    {153, 8, false},     // flowEndMilliseconds
    {8, 4, false},       // sourceIPv4Address
    {12, 4, false},      // destinationIPv4Address
    {7, 2, false},       // sourceTransportPort
    {11, 2, false},      // destinationTransportPort
    {4, 1, false},       // protocolIdentifier
    {225, 4, false},     // postNATSourceIPv4Address
    {226, 4, false},     // postNATDestinationIPv4Address
    {227, 2, false},     // postNAPTSourceTransportPort
    {228, 2, false},     // postNAPTDestinationTransportPort
    {231, 8, false},     // initiatorOctets
    {232, 8, false},     // responderOctets
    {298, 8, false},     // initiatorPackets
    {299, 8, false},     // responderPackets
    {230, 1, false},     // natEvent
    {136, 1, false},     // flowEndReason
    {10, 4, false},      // ingressInterface
    {14, 4, false},      // egressInterface
    {1, 16, true},       // globalSessionId (PEN 32473)
    {2, 65535, true},    // tenantName
    {3, 65535, true},    // serviceName
    {95, 7, false},      // applicationId (PANA-L7-PEN 35632, nDPI id)
    {96, 65535, false},  // applicationName
};
static_assert(kApplicationIdBytes == 7);
constexpr size_t kFieldCount = sizeof(kFields) / sizeof(kFields[0]);

// Template 257 (IPv6 sessions): kFields with the four addresses as IPv6 elements.
constexpr FieldSpec ipv6_field(FieldSpec f) {
  switch (f.id) {
    case 8: return f.enterprise ? f : FieldSpec{27, 16, false};     // sourceIPv6Address
    case 12: return f.enterprise ? f : FieldSpec{28, 16, false};    // destinationIPv6Address
    case 225: return f.enterprise ? f : FieldSpec{281, 16, false};  // postNATSourceIPv6Address
    case 226: return f.enterprise ? f : FieldSpec{282, 16, false};  // postNATDestinationIPv6Address
    default: return f;
  }
}
// Template 258 (IPv6 sessions between IPv4 waypoints): IPv6 pre-NAT, IPv4 post-NAT addresses.
constexpr FieldSpec ipv6_post4_field(FieldSpec f) { return f.id == 8 || f.id == 12 ? ipv6_field(f) : f; }
// Template 259 (IPv4 sessions between IPv6 waypoints): IPv4 pre-NAT, IPv6 post-NAT addresses.
constexpr FieldSpec ipv4_post6_field(FieldSpec f) { return f.id == 225 || f.id == 226 ? ipv6_field(f) : f; }
template <FieldSpec (*Map)(FieldSpec)>
constexpr std::array<FieldSpec, kFieldCount> mapped_fields() {
  std::array<FieldSpec, kFieldCount> out{};
  for (size_t i = 0; i < kFieldCount; ++i) out[i] = Map(kFields[i]);
  return out;
}
constexpr std::array<FieldSpec, kFieldCount> kFields6 = mapped_fields<ipv6_field>();
constexpr std::array<FieldSpec, kFieldCount> kFields6Post4 = mapped_fields<ipv6_post4_field>();
constexpr std::array<FieldSpec, kFieldCount> kFields4Post6 = mapped_fields<ipv4_post6_field>();
constexpr size_t kIpv6ExtraBytes = 2 * (16 - 4);  // per pair of addresses, 16 bytes instead of 4
constexpr size_t kFixedRecordBytes =
    8 + 8 + 4 + 4 + 2 + 2 + 1 + 4 + 4 + 2 + 2 + 8 * 4 + 1 + 1 + 4 + 4 + 16 + kApplicationIdBytes;

inline uint8_t* put16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
  return p + 2;
}
inline uint8_t* put32(uint8_t* p, uint32_t v) {
  p[0] = static_cast<uint8_t>(v >> 24);
  p[1] = static_cast<uint8_t>(v >> 16);
  p[2] = static_cast<uint8_t>(v >> 8);
  p[3] = static_cast<uint8_t>(v);
  return p + 4;
}
inline uint8_t* put64(uint8_t* p, uint64_t v) {
  put32(p, static_cast<uint32_t>(v >> 32));
  return put32(p + 4, static_cast<uint32_t>(v));
}
inline uint8_t* put_ipv6(uint8_t* p, const Ipv6& a) {
  put64(p, a.hi);
  return put64(p + 8, a.lo);
}
inline uint8_t* put_name(uint8_t* p, const char* s, uint8_t len) {
  *p++ = len;  // < 255: the short form of RFC 7011 § 7
  std::memcpy(p, s, len);
  return p + len;
}

void copy_name(std::string_view n, char* out, uint8_t& len) {
  len = static_cast<uint8_t>(n.size() < kIpfixNameMax ? n.size() : kIpfixNameMax);
  std::memcpy(out, n.data(), len);
  out[len] = 0;
}

}  // namespace

void IpfixRecord::set_tenant(std::string_view n) { copy_name(n, tenant, tenant_len); }
void IpfixRecord::set_service(std::string_view n) { copy_name(n, service, service_len); }
void IpfixRecord::set_app(std::string_view n) { copy_name(n, app, app_len); }

uint16_t IpfixRecord::template_id() const {
  if (ipv6) return post_ipv4 ? kSession6Post4TemplateId : kSession6TemplateId;
  return post_ipv6 ? kSession4Post6TemplateId : kSessionTemplateId;
}

size_t IpfixMessage::record_size(const IpfixRecord& r) {
  const size_t v6_pairs = (r.ipv6 ? 1 : 0) + (r.post_is_ipv6() ? 1 : 0);
  return kFixedRecordBytes + v6_pairs * kIpv6ExtraBytes + 3 + r.tenant_len + r.service_len + r.app_len;
}

size_t IpfixMessage::template_set_size() {
  size_t n = 4 + 4;  // set header + template record header
  for (const FieldSpec& f : kFields) n += f.enterprise ? 8 : 4;
  return n;
}

// 257, 258 and 259: the same element count as 256.
size_t IpfixMessage::template6_set_size() { return 3 * template_set_size(); }

void IpfixMessage::begin(uint8_t* buf, uint32_t export_time_s, uint32_t sequence, uint32_t domain) {
  buf_ = buf;
  uint8_t* p = put16(buf, 10);  // version
  p = put16(p, 0);              // length, patched by finish()
  p = put32(p, export_time_s);
  p = put32(p, sequence);
  put32(p, domain);
  len_ = 16;
  set_start_ = 0;
  records_ = 0;
}

void IpfixMessage::close_set() {
  if (set_start_ == 0) return;
  put16(buf_ + set_start_ + 2, static_cast<uint16_t>(len_ - set_start_));
  set_start_ = 0;
}

bool IpfixMessage::add_template() { return add_template_set(kSessionTemplateId); }
bool IpfixMessage::add_template6() {
  if (len_ + template6_set_size() > kIpfixMaxMessage) return false;
  return add_template_set(kSession6TemplateId) && add_template_set(kSession6Post4TemplateId) &&
         add_template_set(kSession4Post6TemplateId);
}

bool IpfixMessage::add_template_set(uint16_t id) {
  const FieldSpec* fields = id == kSession6TemplateId       ? kFields6.data()
                            : id == kSession6Post4TemplateId ? kFields6Post4.data()
                            : id == kSession4Post6TemplateId ? kFields4Post6.data()
                                                             : kFields;
  if (len_ + template_set_size() > kIpfixMaxMessage) return false;
  close_set();
  uint8_t* p = buf_ + len_;
  p = put16(p, 2);  // template set
  p = put16(p, static_cast<uint16_t>(template_set_size()));
  p = put16(p, id);
  p = put16(p, static_cast<uint16_t>(kFieldCount));
  for (size_t i = 0; i < kFieldCount; ++i) {
    const FieldSpec& f = fields[i];
    p = put16(p, static_cast<uint16_t>(f.enterprise ? (f.id | 0x8000) : f.id));
    p = put16(p, f.length);
    if (f.enterprise) p = put32(p, kWaypointPen);
  }
  len_ = static_cast<size_t>(p - buf_);
  return true;
}

bool IpfixMessage::add_record(const IpfixRecord& r) {
  size_t need = record_size(r) + (set_start_ == 0 ? 4 : 0);
  if (len_ + need > kIpfixMaxMessage) return false;
  const uint16_t tid = r.template_id();
  if (set_start_ != 0 && set_template_ != tid) {  // a record of another template: a data set of its own
    need += 4;
    if (len_ + need > kIpfixMaxMessage) return false;
    close_set();
  }
  uint8_t* p = buf_ + len_;
  if (set_start_ == 0) {
    set_start_ = len_;
    set_template_ = tid;
    p = put16(p, tid);
    p = put16(p, 0);  // patched by close_set()
  }
  p = put64(p, r.start_ms);
  p = put64(p, r.end_ms);
  p = r.ipv6 ? put_ipv6(p, r.pre_src6) : put32(p, r.pre.src);
  p = r.ipv6 ? put_ipv6(p, r.pre_dst6) : put32(p, r.pre.dst);
  p = put16(p, r.pre.sport);
  p = put16(p, r.pre.dport);
  *p++ = r.pre.proto;
  const bool post6 = r.post_is_ipv6();
  p = post6 ? put_ipv6(p, r.post_src6) : put32(p, r.post.src);
  p = post6 ? put_ipv6(p, r.post_dst6) : put32(p, r.post.dst);
  p = put16(p, r.post.sport);
  p = put16(p, r.post.dport);
  p = put64(p, r.initiator_octets);
  p = put64(p, r.responder_octets);
  p = put64(p, r.initiator_packets);
  p = put64(p, r.responder_packets);
  *p++ = r.nat_event;
  *p++ = r.end_reason;
  p = put32(p, r.ingress_if);
  p = put32(p, r.egress_if);
  std::memcpy(p, r.session_id.data(), 16);
  p += 16;
  p = put_name(p, r.tenant, r.tenant_len);
  p = put_name(p, r.service, r.service_len);
  *p++ = kClassificationEnginePanaL7Pen;
  p = put32(p, kNdpiRegistryPen);
  p = put16(p, r.app_id);
  p = put_name(p, r.app, r.app_len);
  len_ = static_cast<size_t>(p - buf_);
  ++records_;
  return true;
}

size_t IpfixMessage::finish() {
  close_set();
  put16(buf_ + 2, static_cast<uint16_t>(len_));
  return len_;
}

}  // namespace wp::mgmt
