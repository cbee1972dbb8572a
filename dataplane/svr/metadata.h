// SVR metadata block: encoder and bounds-checked decoder (docs/svr-wire-format.md § Metadata block).
//
// Layout at offset 0 of the UDP/TCP payload: 8-byte cookie 0x4c48dbc6ddf6670c,
// 4-bit version (1) + 12-bit header length (12 + header TLV bytes), 16-bit
// payload length, then header TLVs tiling 12..header length and payload TLVs
// tiling the payload section. TLV = type(16) length(16, value bytes) value.
// The decoder never reads outside [data, data+len): a block whose lengths or
// TLVs do not tile exactly is `malformed`; unknown types are skipped; a known
// type in the wrong section or with the wrong length is malformed. A 12/0
// block is the cookie false-positive marker (`bare`). String values are views
// into the packet, valid while the packet is.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "dataplane/ip/tuple.h"
#include "dataplane/session/uuid.h"

namespace wp {

inline constexpr uint64_t kSvrCookie = 0x4c48dbc6ddf6670cULL;
inline constexpr uint8_t kSvrCookieBytes[8] = {0x4c, 0x48, 0xdb, 0xc6, 0xdd, 0xf6, 0x67, 0x0c};
inline constexpr uint16_t kMetadataHeaderLen = 12;
inline constexpr uint16_t kMetadataVersion = 1;
inline constexpr uint16_t kTlvHeaderLen = 4;
inline constexpr uint16_t kMaxMetadataLen = 512;     // what we ever build; decode accepts up to 4095+65535
inline constexpr uint16_t kFragmentTlvLen = 4 + 10;  // TLV 1 on the wire
// TLV 35: an application name (nDPI's, e.g. "YouTube") is 1 to 64 bytes; the writer refuses
// others and the decoder ignores them (length-checked, not taken).
inline constexpr uint16_t kMaxApplicationNameLen = 64;

enum class Tlv : uint16_t {
  fragment = 1,
  forward_context_v4 = 2,
  forward_context_v6 = 3,
  reverse_context_v4 = 4,
  reverse_context_v6 = 5,
  session_uuid = 6,
  tenant_name = 7,
  global_interface_id = 8,
  service_name = 10,
  session_data_encrypted = 11,
  tcp_syn_packet = 12,
  sessions_in_service = 13,
  source_router_name = 14,
  security_id = 16,
  destination_router_name = 17,
  security_policy_name = 15,
  disable_forward_metadata = 18,
  peer_pathway_id = 19,
  icmp_error_location_v4 = 20,
  icmp_error_location_v6 = 21,
  key_versions = 22,
  control_message = 24,
  source_nat_v4 = 25,
  path_metrics = 26,
  duplicated = 27,  // Waypoint's own: the session's forward packets carry a duplication sequence number
  modify_request = 28,
  application_name = 35,
  remaining_session_time = 42,
  session_health_check = 46,
};

// TLV 16: version in the low 31 bits; this bit set means the payload section
// is in clear and the version names only the pair key that signed the block.
inline constexpr uint32_t kClearPayloadBit = 0x80000000u;
inline constexpr size_t kMaxAdvertised = 8;  // versions a TLV 22 may list

// TLV 22: the pair-key versions the sender holds (crypto/pair_keys.h).
struct KeyVersions {
  uint8_t n = 0;
  uint8_t v[kMaxAdvertised] = {};
  bool has(uint8_t version) const {
    for (uint8_t i = 0; i < n; ++i)
      if (v[i] == version) return true;
    return false;
  }
  // Exactly {1}: what a block without TLV 22 means, so it is not sent.
  bool only_v1() const { return n == 1 && v[0] == 1; }
};

// TLV 24 values (docs/svr-wire-format.md table).
inline constexpr uint8_t kControlKeepAlive = 1;

// TLV 26 path metrics (docs/svr-wire-format.md table; in-line flow monitoring,
// dataplane/flow_monitor.h). Colours are 4 bits, times are 28-bit ms
// counters of the sender's clock (they wrap every ~3.1 days; only
// differences are used), the count is 15 bits.
struct PathMetricsTlv {
  uint8_t tx_colour = 0;
  uint32_t tx_ms = 0;
  uint8_t rx_colour = 0;
  uint32_t rx_ms = 0;  // 0 = nothing to echo
  bool drop = false;   // prev_count carries no usable count
  uint16_t prev_count = 0;
};
inline constexpr uint16_t kPathMetricsLen = 10;
inline constexpr uint32_t kPathMetricsMsMask = 0x0fffffff;
inline constexpr uint16_t kPathMetricsCountMax = 0x7fff;
void encode_path_metrics(const PathMetricsTlv& t, uint8_t out[kPathMetricsLen]);
PathMetricsTlv decode_path_metrics(const uint8_t v[kPathMetricsLen]);
// TLV 1 value (docs/svr-wire-format.md table): 10 bytes.
struct FragmentInfo {
  uint32_t extended_id = 0;       // the sender's id of the fragmented datagram (WAN IP id = low 16 bits)
  uint16_t original_ip_id = 0;    // IP id the host sent
  uint16_t flags_offset = 0;      // original flags (reserved, DF, MF) + 13-bit offset
  uint16_t largest_fragment = 0;  // largest fragment seen: LAN fragment, or the original length
};

// What we understood of a decoded block. Presence flags say which TLVs came.
struct Metadata {
  uint16_t header_len = 0;
  uint16_t payload_len = 0;
  bool has_forward_context = false;
  bool has_reverse_context = false;
  bool has_uuid = false;
  bool disable_forward_metadata = false;  // TLV 18: handshake ack
  bool session_data_encrypted = false;    // TLV 11
  bool duplicated = false;                // TLV 27: forward packets without a block end with a 4-byte sequence number
  bool has_security_id = false;
  bool payload_encrypted = false;  // TLV 16 (or a first type of 0 / > 50): payload TLVs not read yet
  bool payload_decrypted = false;  // the payload section arrived encrypted and was opened (metadata_crypto.h)
  FiveTuple forward_context{};
  FiveTuple reverse_context{};
  // TLVs 3 and 5: the IPv6 session's contexts. A block carries one forward
  // (and one reverse) context, of one IP version: both versions is malformed.
  bool has_forward_context6 = false;
  bool has_reverse_context6 = false;
  FiveTuple6 forward_context6{};
  FiveTuple6 reverse_context6{};
  SessionUuid uuid{};
  uint32_t security_id = 0;
  bool has_key_versions = false;  // TLV 22
  KeyVersions key_versions{};
  std::string_view tenant, service, source_router, destination_router, security_policy;
  uint16_t unknown_tlvs = 0;
  uint8_t control_message = 0;    // TLV 24 (keep-alive = metadata-only packet)
  bool has_path_metrics = false;  // TLV 26
  PathMetricsTlv path_metrics{};
  // The sender fragmented this packet on the WAN (or reassembled it
  // from LAN fragments); what the original IP header said, for the egress.
  bool has_fragment = false;
  FragmentInfo fragment{};
  // TLV 35: the application the ingress router recognised (empty: none sent, or out of bounds).
  std::string_view application;
  // TLV 20 / 21: this packet carries an ICMP error about a packet of the session
  // (docs/svr-wire-format.md § ICMP errors through the session); the address of
  // the node that generated it.
  bool has_icmp_location4 = false;
  bool has_icmp_location6 = false;
  Ipv4 icmp_location4 = 0;
  Ipv6 icmp_location6{};

  uint32_t block_len() const { return uint32_t{header_len} + payload_len; }
  // The pair-key version that signed the block: TLV 16, or 1 without it.
  uint32_t key_version() const { return has_security_id ? security_id & ~kClearPayloadBit : 1; }
  // What the sender holds: TLV 22, or {1} without it.
  KeyVersions sender_versions() const { return has_key_versions ? key_versions : KeyVersions{1, {1}}; }
};

enum class MetadataStatus : uint8_t { absent, ok, bare, malformed };

// True when `len` bytes at `p` start with the SVR cookie.
bool has_cookie(const uint8_t* p, size_t len);

// Decodes the block at the start of an L4 payload of `len` bytes.
MetadataStatus decode_metadata(const uint8_t* p, size_t len, Metadata& out);

// Walks plaintext payload TLVs (a decrypted payload section) into `out`;
// false when they do not tile `len` exactly or one is malformed.
bool decode_payload_tlvs(const uint8_t* p, size_t len, Metadata& out);

// Builds a block into a caller buffer: header TLVs first, then payload TLVs.
// Any add after overflow is ignored and finish() returns 0.
class MetadataWriter {
 public:
  MetadataWriter(uint8_t* buf, size_t cap);

  // Header-section TLVs (call before any payload TLV).
  void security_id(uint32_t key_version);
  void key_versions(const KeyVersions& held);
  void fragment(const FragmentInfo& f);
  // Payload-section TLVs.
  void forward_context(const FiveTuple& t);
  void reverse_context(const FiveTuple& t);
  void forward_context6(const FiveTuple6& t);  // TLV 3
  void reverse_context6(const FiveTuple6& t);  // TLV 5
  void uuid(const SessionUuid& id);
  void tenant(std::string_view name) { string_tlv(Tlv::tenant_name, name); }
  void service(std::string_view name) { string_tlv(Tlv::service_name, name); }
  void source_router(std::string_view name) { string_tlv(Tlv::source_router_name, name); }
  void destination_router(std::string_view name) { string_tlv(Tlv::destination_router_name, name); }
  void security_policy(std::string_view name) { string_tlv(Tlv::security_policy_name, name); }
  void application(std::string_view name);  // TLV 35; 1 to kMaxApplicationNameLen bytes
  void disable_forward_metadata() { raw_tlv(Tlv::disable_forward_metadata, nullptr, 0, false); }
  void duplicated() { raw_tlv(Tlv::duplicated, nullptr, 0, false); }
  void control_message(uint8_t kind) { raw_tlv(Tlv::control_message, &kind, 1, true); }  // header section
  void icmp_error_location6(const Ipv6& at);                                               // TLV 21, header section
  void path_metrics(const PathMetricsTlv& t) {                                           // header section
    uint8_t v[kPathMetricsLen];
    encode_path_metrics(t, v);
    raw_tlv(Tlv::path_metrics, v, kPathMetricsLen, true);
  }
  // Any TLV, for tests and future types. `header` picks the section.
  void raw_tlv(Tlv type, const uint8_t* value, uint16_t len, bool header);

  // Writes cookie + lengths; returns the total block length, or 0 on overflow.
  size_t finish();

  // The false-positive marker: cookie + version 1 + header length 12 + payload 0.
  static size_t write_bare(uint8_t* buf, size_t cap);

 private:
  void string_tlv(Tlv type, std::string_view s);
  uint8_t* buf_;
  size_t cap_;
  size_t pos_ = kMetadataHeaderLen;
  size_t header_end_ = kMetadataHeaderLen;
  bool in_payload_ = false;
  bool overflow_ = false;
};

}  // namespace wp
