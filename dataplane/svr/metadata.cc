// SVR metadata encode/decode; see metadata.h and docs/svr-wire-format.md § Metadata block.
#include "dataplane/svr/metadata.h"

#include <cstring>

#include "dataplane/ip/packet.h"

namespace wp {
namespace {

enum class Section : uint8_t { header, payload, any };

// Which section a known type belongs to, and its fixed value length (-1: any
// length >= 0, -2: non-empty string, -3: 1 to kMaxAdvertised bytes).
// Unknown types are skipped.
struct TlvRule {
  Section section;
  int length;
};

bool rule_for(uint16_t type, TlvRule& rule) {
  switch (static_cast<Tlv>(type)) {
    case Tlv::fragment: rule = {Section::header, 10}; return true;
    case Tlv::forward_context_v4:
    case Tlv::reverse_context_v4: rule = {Section::payload, 13}; return true;
    case Tlv::forward_context_v6:
    case Tlv::reverse_context_v6: rule = {Section::payload, 37}; return true;
    case Tlv::session_uuid: rule = {Section::payload, 16}; return true;
    case Tlv::tenant_name: rule = {Section::payload, -2}; return true;
    case Tlv::global_interface_id: rule = {Section::payload, 4}; return true;
    case Tlv::service_name:
    case Tlv::source_router_name:
    case Tlv::destination_router_name:
    case Tlv::security_policy_name:
    case Tlv::peer_pathway_id:
    case Tlv::application_name: rule = {Section::payload, -1}; return true;
    case Tlv::session_data_encrypted:
    case Tlv::tcp_syn_packet:
    case Tlv::disable_forward_metadata:
    case Tlv::duplicated: rule = {Section::payload, 0}; return true;
    case Tlv::sessions_in_service: rule = {Section::payload, 8}; return true;
    case Tlv::security_id: rule = {Section::header, 4}; return true;
    case Tlv::key_versions: rule = {Section::header, -3}; return true;
    case Tlv::icmp_error_location_v4: rule = {Section::header, 4}; return true;
    case Tlv::icmp_error_location_v6: rule = {Section::header, 16}; return true;
    case Tlv::control_message:
    case Tlv::session_health_check: rule = {Section::header, 1}; return true;
    case Tlv::source_nat_v4: rule = {Section::payload, 4}; return true;
    case Tlv::path_metrics: rule = {Section::header, 10}; return true;
    case Tlv::modify_request: rule = {Section::payload, 2}; return true;
    case Tlv::remaining_session_time: rule = {Section::payload, 4}; return true;
  }
  return false;
}

FiveTuple read_context_v4(const uint8_t* v) {
  return {load_be32(v), load_be32(v + 4), load_be16(v + 8), load_be16(v + 10), v[12]};
}

// TLV 3/5 value, 37 bytes: src (16), dst (16), src port, dst port, protocol.
FiveTuple6 read_context_v6(const uint8_t* v) {
  return {load_ipv6(v), load_ipv6(v + 16), load_be16(v + 32), load_be16(v + 34), v[36]};
}

void apply_tlv(uint16_t type, const uint8_t* v, uint16_t len, Metadata& out) {
  auto str = [&] { return std::string_view(reinterpret_cast<const char*>(v), len); };
  switch (static_cast<Tlv>(type)) {
    case Tlv::forward_context_v4:
      out.has_forward_context = true;
      out.forward_context = read_context_v4(v);
      break;
    case Tlv::reverse_context_v4:
      out.has_reverse_context = true;
      out.reverse_context = read_context_v4(v);
      break;
    case Tlv::forward_context_v6:
      out.has_forward_context6 = true;
      out.forward_context6 = read_context_v6(v);
      break;
    case Tlv::reverse_context_v6:
      out.has_reverse_context6 = true;
      out.reverse_context6 = read_context_v6(v);
      break;
    case Tlv::session_uuid:
      out.has_uuid = true;
      std::memcpy(out.uuid.data(), v, 16);
      break;
    case Tlv::tenant_name: out.tenant = str(); break;
    case Tlv::service_name: out.service = str(); break;
    case Tlv::source_router_name: out.source_router = str(); break;
    case Tlv::destination_router_name: out.destination_router = str(); break;
    case Tlv::security_policy_name: out.security_policy = str(); break;
    case Tlv::application_name:
      if (len >= 1 && len <= kMaxApplicationNameLen) out.application = str();
      break;
    case Tlv::disable_forward_metadata: out.disable_forward_metadata = true; break;
    case Tlv::session_data_encrypted: out.session_data_encrypted = true; break;
    case Tlv::duplicated: out.duplicated = true; break;
    case Tlv::security_id:
      out.has_security_id = true;
      out.security_id = load_be32(v);
      break;
    case Tlv::key_versions:
      out.has_key_versions = true;
      out.key_versions.n = static_cast<uint8_t>(len);
      std::memcpy(out.key_versions.v, v, len);
      break;
    case Tlv::fragment:
      out.has_fragment = true;
      out.fragment = {load_be32(v), load_be16(v + 4), load_be16(v + 6), load_be16(v + 8)};
      break;
    case Tlv::control_message: out.control_message = v[0]; break;  // keep-alive
    case Tlv::icmp_error_location_v4:
      out.has_icmp_location4 = true;
      out.icmp_location4 = load_be32(v);
      break;
    case Tlv::icmp_error_location_v6:
      out.has_icmp_location6 = true;
      out.icmp_location6 = load_ipv6(v);
      break;
    case Tlv::path_metrics:
      out.has_path_metrics = true;
      out.path_metrics = decode_path_metrics(v);
      break;
    default: break;  // understood, nothing we act on yet
  }
}

// Walks TLVs tiling [pos, end) exactly. False on any inconsistency.
bool walk_section(const uint8_t* p, size_t pos, size_t end, Section section, Metadata& out) {
  while (pos < end) {
    if (end - pos < kTlvHeaderLen) return false;
    uint16_t type = load_be16(p + pos);
    uint16_t len = load_be16(p + pos + 2);
    pos += kTlvHeaderLen;
    if (len > end - pos) return false;
    TlvRule rule;
    if (!rule_for(type, rule)) {
      ++out.unknown_tlvs;
    } else {
      if (rule.section != section) return false;
      if (rule.length >= 0 && len != rule.length) return false;
      if (rule.length == -2 && len == 0) return false;
      if (rule.length == -3 && (len == 0 || len > kMaxAdvertised)) return false;
      apply_tlv(type, p + pos, len, out);
    }
    pos += len;
  }
  // One session has one IP version: an IPv4 and an IPv6 context of the same direction contradict.
  return !(out.has_forward_context && out.has_forward_context6) &&
         !(out.has_reverse_context && out.has_reverse_context6);
}

}  // namespace

// TLV 26, 10 bytes: colour in the top 4 bits above a 28-bit ms time, twice, then
// the drop bit above a 15-bit count.
void encode_path_metrics(const PathMetricsTlv& t, uint8_t out[kPathMetricsLen]) {
  store_be32(out, uint32_t{t.tx_colour} << 28 | (t.tx_ms & kPathMetricsMsMask));
  store_be32(out + 4, uint32_t{t.rx_colour} << 28 | (t.rx_ms & kPathMetricsMsMask));
  store_be16(out + 8, static_cast<uint16_t>((t.drop ? 0x8000 : 0) | (t.prev_count & kPathMetricsCountMax)));
}

PathMetricsTlv decode_path_metrics(const uint8_t v[kPathMetricsLen]) {
  uint32_t tx = load_be32(v), rx = load_be32(v + 4);
  uint16_t c = load_be16(v + 8);
  PathMetricsTlv t;
  t.tx_colour = static_cast<uint8_t>(tx >> 28);
  t.tx_ms = tx & kPathMetricsMsMask;
  t.rx_colour = static_cast<uint8_t>(rx >> 28);
  t.rx_ms = rx & kPathMetricsMsMask;
  t.drop = (c & 0x8000) != 0;
  t.prev_count = static_cast<uint16_t>(c & kPathMetricsCountMax);
  return t;
}

bool has_cookie(const uint8_t* p, size_t len) { return len >= 8 && std::memcmp(p, kSvrCookieBytes, 8) == 0; }

MetadataStatus decode_metadata(const uint8_t* p, size_t len, Metadata& out) {
  out = Metadata{};
  if (!has_cookie(p, len)) return MetadataStatus::absent;
  if (len < kMetadataHeaderLen) return MetadataStatus::malformed;
  uint16_t word = load_be16(p + 8);
  if ((word >> 12) != kMetadataVersion) return MetadataStatus::malformed;
  out.header_len = word & 0x0fff;
  out.payload_len = load_be16(p + 10);
  if (out.header_len < kMetadataHeaderLen || out.block_len() > len) return MetadataStatus::malformed;
  if (out.header_len == kMetadataHeaderLen && out.payload_len == 0) return MetadataStatus::bare;
  if (!walk_section(p, kMetadataHeaderLen, out.header_len, Section::header, out)) return MetadataStatus::malformed;
  // An encrypted payload section (metadata_crypto.h) is named by TLV 16
  // in the header (unless its clear bit says the payload is not). Without it, a first payload type of 0 or > 50 still means
  // encrypted (docs/svr-wire-format.md: what older decoders assume, as an IV reads so); the
  // caller cannot open that one and drops it. Either way the payload TLVs
  // are read only after decryption (decode_payload_tlvs).
  if (out.payload_len >= 2) {
    uint16_t first = load_be16(p + out.header_len);
    out.payload_encrypted = out.has_security_id ? !(out.security_id & kClearPayloadBit) : first == 0 || first > 50;
  }
  if (out.payload_encrypted) return MetadataStatus::ok;
  if (!walk_section(p, out.header_len, out.block_len(), Section::payload, out)) return MetadataStatus::malformed;
  return MetadataStatus::ok;
}

bool decode_payload_tlvs(const uint8_t* p, size_t len, Metadata& out) {
  return walk_section(p, 0, len, Section::payload, out);
}

MetadataWriter::MetadataWriter(uint8_t* buf, size_t cap) : buf_(buf), cap_(cap) {
  overflow_ = cap < kMetadataHeaderLen;
}

void MetadataWriter::raw_tlv(Tlv type, const uint8_t* value, uint16_t len, bool header) {
  if (overflow_) return;
  if (header && in_payload_) {  // header TLVs must precede the payload section
    overflow_ = true;
    return;
  }
  if (!header) in_payload_ = true;
  if (cap_ - pos_ < size_t{kTlvHeaderLen} + len) {
    overflow_ = true;
    return;
  }
  store_be16(buf_ + pos_, static_cast<uint16_t>(type));
  store_be16(buf_ + pos_ + 2, len);
  if (len) std::memcpy(buf_ + pos_ + kTlvHeaderLen, value, len);
  pos_ += kTlvHeaderLen + len;
  if (header) header_end_ = pos_;
}

void MetadataWriter::fragment(const FragmentInfo& f) {
  uint8_t v[10];
  store_be32(v, f.extended_id);
  store_be16(v + 4, f.original_ip_id);
  store_be16(v + 6, f.flags_offset);
  store_be16(v + 8, f.largest_fragment);
  raw_tlv(Tlv::fragment, v, 10, true);
}

void MetadataWriter::security_id(uint32_t key_version) {
  uint8_t v[4];
  store_be32(v, key_version);
  raw_tlv(Tlv::security_id, v, 4, true);
}

void MetadataWriter::key_versions(const KeyVersions& held) {
  raw_tlv(Tlv::key_versions, held.v, held.n, true);
}

static void write_context_v4(uint8_t* v, const FiveTuple& t) {
  store_be32(v, t.src);
  store_be32(v + 4, t.dst);
  store_be16(v + 8, t.sport);
  store_be16(v + 10, t.dport);
  v[12] = t.proto;
}

void MetadataWriter::forward_context(const FiveTuple& t) {
  uint8_t v[13];
  write_context_v4(v, t);
  raw_tlv(Tlv::forward_context_v4, v, 13, false);
}

void MetadataWriter::reverse_context(const FiveTuple& t) {
  uint8_t v[13];
  write_context_v4(v, t);
  raw_tlv(Tlv::reverse_context_v4, v, 13, false);
}

// TLV 3 or 5 (37 bytes, read_context_v6's layout) into the payload section.
static void context_v6(MetadataWriter& w, Tlv type, const FiveTuple6& t) {
  uint8_t v[37];
  store_ipv6(v, t.src);
  store_ipv6(v + 16, t.dst);
  store_be16(v + 32, t.sport);
  store_be16(v + 34, t.dport);
  v[36] = t.proto;
  w.raw_tlv(type, v, 37, false);
}

void MetadataWriter::forward_context6(const FiveTuple6& t) { context_v6(*this, Tlv::forward_context_v6, t); }

void MetadataWriter::reverse_context6(const FiveTuple6& t) { context_v6(*this, Tlv::reverse_context_v6, t); }

void MetadataWriter::icmp_error_location6(const Ipv6& at) {
  uint8_t v[16];
  store_ipv6(v, at);
  raw_tlv(Tlv::icmp_error_location_v6, v, 16, true);
}

void MetadataWriter::uuid(const SessionUuid& id) { raw_tlv(Tlv::session_uuid, id.data(), 16, false); }

void MetadataWriter::string_tlv(Tlv type, std::string_view s) {
  if (s.size() > 255) {
    overflow_ = true;
    return;
  }
  raw_tlv(type, reinterpret_cast<const uint8_t*>(s.data()), static_cast<uint16_t>(s.size()), false);
}

void MetadataWriter::application(std::string_view name) {
  if (name.empty() || name.size() > kMaxApplicationNameLen) {
    overflow_ = true;
    return;
  }
  string_tlv(Tlv::application_name, name);
}

size_t MetadataWriter::finish() {
  // An empty block would be the 12/0 false-positive marker: never build one by accident.
  // Both lengths must fit their fields (12 and 16 bits) or the block would lie.
  if (overflow_ || header_end_ > 0x0fff || pos_ - header_end_ > 0xffff || pos_ == kMetadataHeaderLen) return 0;
  std::memcpy(buf_, kSvrCookieBytes, 8);
  store_be16(buf_ + 8, static_cast<uint16_t>(kMetadataVersion << 12 | header_end_));
  store_be16(buf_ + 10, static_cast<uint16_t>(pos_ - header_end_));
  return pos_;
}

size_t MetadataWriter::write_bare(uint8_t* buf, size_t cap) {
  if (cap < kMetadataHeaderLen) return 0;
  std::memcpy(buf, kSvrCookieBytes, 8);
  store_be16(buf + 8, static_cast<uint16_t>(kMetadataVersion << 12 | kMetadataHeaderLen));
  store_be16(buf + 10, 0);
  return kMetadataHeaderLen;
}

}  // namespace wp
