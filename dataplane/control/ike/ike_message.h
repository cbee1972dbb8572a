// IKEv2 messages (RFC 7296 § 3): the fixed header, the generic payload chain
// and the payloads an IKE_SA_INIT / IKE_AUTH / CREATE_CHILD_SA / INFORMATIONAL
// exchange carries, decoded into plain structs and encoded back.
//
// Control plane only (the IKE daemon thread, tests, fuzz_ike): containers
// allocate, nothing here is on a worker's path. Parsing is strict and total:
// every length is checked against its container before a byte is read, every
// malformed input yields an `IkeError` with its reason (the caller counts it
// and, where RFC 7296 says so, answers with the matching Notify), and no
// input can make it read out of bounds, loop or allocate without bound
// (at most kMaxPayloads payloads, kMaxProposals proposals, kMaxTransforms
// transforms per proposal, kMaxSelectors selectors, kMaxDeleteSpis SPIs).
//
// What "strict" means here, RFC by RFC:
// - header: major version 2 (a higher one: `bad_major_version`, answered with
//   INVALID_MAJOR_VERSION), the length field equal to the datagram's;
// - RESERVED bits are ignored on receipt (§ 3.2), never rejected;
// - an unknown payload type is skipped unless its critical bit is set
//   (`unsupported_critical`, answered with UNSUPPORTED_CRITICAL_PAYLOAD);
// - SA: proposals numbered from 1 (an answer: the accepted number, alone), each the same as or one more than the
//   previous (§ 3.3.1), "last" markers consistent with the lengths, SPI size
//   0 for IKE in IKE_SA_INIT or 8 when rekeying, 4 for ESP/AH; transform
//   attributes only Key Length (TV form);
// - Nonce 16..256 bytes (§ 3.9); KE data non-empty; IPv4 selectors 16 bytes,
//   IPv6 40, start <= end for ports (§ 3.13.1);
// - the Encrypted payload (SK) is the last of its chain (§ 3.14); its content
//   stays opaque here (ike_sk.h decrypts it and parses the inner chain with
//   parse_payload_chain).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <variant>
#include <vector>

namespace wp::ike {

using Bytes = std::vector<uint8_t>;

inline constexpr size_t kHeaderLen = 28;
inline constexpr size_t kGenericHeaderLen = 4;
inline constexpr uint8_t kVersion = 0x20;  // major 2, minor 0
inline constexpr size_t kMaxMessageLen = 65535;
inline constexpr size_t kMaxPayloads = 64;
inline constexpr size_t kMaxProposals = 32;
inline constexpr size_t kMaxTransforms = 64;
inline constexpr size_t kMaxSelectors = 32;
inline constexpr size_t kMaxDeleteSpis = 256;
inline constexpr size_t kMinNonce = 16, kMaxNonce = 256;

enum class Exchange : uint8_t { ike_sa_init = 34, ike_auth = 35, create_child_sa = 36, informational = 37 };

// Header flags (§ 3.1).
inline constexpr uint8_t kFlagInitiator = 0x08;
inline constexpr uint8_t kFlagVersion = 0x10;
inline constexpr uint8_t kFlagResponse = 0x20;

enum class PayloadType : uint8_t {
  none = 0,
  sa = 33,
  ke = 34,
  idi = 35,
  idr = 36,
  cert = 37,
  certreq = 38,
  auth = 39,
  nonce = 40,
  notify = 41,
  del = 42,
  vendor = 43,
  tsi = 44,
  tsr = 45,
  sk = 46,
  cp = 47,
  eap = 48,
  skf = 53,  // Encrypted Fragment (RFC 7383)
};

// Protocol IDs (§ 3.3.1) and transform types (§ 3.3.2).
enum class Protocol : uint8_t { none = 0, ike = 1, ah = 2, esp = 3 };
enum class TransformType : uint8_t { encr = 1, prf = 2, integ = 3, dh = 4, esn = 5 };
inline constexpr uint16_t kAttrKeyLength = 14;  // TV form: 0x800e
inline constexpr uint8_t kTsIpv4Range = 7, kTsIpv6Range = 8;

struct Header {
  uint64_t spi_i = 0, spi_r = 0;  // host order
  PayloadType next = PayloadType::none;
  uint8_t version = kVersion;
  Exchange exchange = Exchange::ike_sa_init;
  uint8_t flags = 0;
  uint32_t message_id = 0;
  uint32_t length = 0;  // as received; encode() writes the real one

  bool initiator() const { return (flags & kFlagInitiator) != 0; }
  bool response() const { return (flags & kFlagResponse) != 0; }
};

struct Transform {
  TransformType type = TransformType::encr;
  uint16_t id = 0;
  uint16_t key_length = 0;  // bits; 0 = attribute absent
  bool operator==(const Transform&) const = default;
};

struct Proposal {
  uint8_t number = 1;
  Protocol protocol = Protocol::ike;
  Bytes spi;  // 0, 4 or 8 bytes
  std::vector<Transform> transforms;
  bool operator==(const Proposal&) const = default;
};

struct SaPayload {
  std::vector<Proposal> proposals;
  bool operator==(const SaPayload&) const = default;
};
struct KePayload {
  uint16_t group = 0;
  Bytes data;
  bool operator==(const KePayload&) const = default;
};
struct IdPayload {  // IDi / IDr
  uint8_t type = 0;  // 1 IPv4, 2 FQDN, 3 RFC822, 5 IPv6, 9 DER_ASN1_DN, 11 KEY_ID
  Bytes data;
  bool operator==(const IdPayload&) const = default;
};
struct CertPayload {  // CERT / CERTREQ
  uint8_t encoding = 0;  // 4 = X.509 signature
  Bytes data;
  bool operator==(const CertPayload&) const = default;
};
struct AuthPayload {
  uint8_t method = 0;  // 1 RSA sig, 2 PSK MIC, 9 ECDSA p256, 14 digital signature
  Bytes data;
  bool operator==(const AuthPayload&) const = default;
};
struct NoncePayload {
  Bytes data;
  bool operator==(const NoncePayload&) const = default;
};
struct NotifyPayload {
  Protocol protocol = Protocol::none;
  Bytes spi;
  uint16_t type = 0;  // < 16384: errors
  Bytes data;
  bool operator==(const NotifyPayload&) const = default;
};
struct DeletePayload {
  Protocol protocol = Protocol::ike;
  uint8_t spi_size = 0;
  std::vector<Bytes> spis;
  bool operator==(const DeletePayload&) const = default;
};
struct TrafficSelector {
  uint8_t type = kTsIpv4Range;
  uint8_t ip_protocol = 0;  // 0 = any
  uint16_t start_port = 0, end_port = 65535;
  Bytes start_addr, end_addr;  // 4 or 16 bytes, network order
  bool operator==(const TrafficSelector&) const = default;
};
struct TsPayload {  // TSi / TSr
  std::vector<TrafficSelector> selectors;
  bool operator==(const TsPayload&) const = default;
};
struct SkPayload {  // Encrypted: IV | ciphertext | ICV, decrypted elsewhere
  PayloadType first_inner = PayloadType::none;
  Bytes body;
  bool operator==(const SkPayload&) const = default;
};
struct RawPayload {  // vendor ID, CP, EAP, SKF and unknown non-critical types
  Bytes data;
  bool operator==(const RawPayload&) const = default;
};

using PayloadBody = std::variant<RawPayload, SaPayload, KePayload, IdPayload, CertPayload, AuthPayload,
                                 NoncePayload, NotifyPayload, DeletePayload, TsPayload, SkPayload>;

struct Payload {
  PayloadType type = PayloadType::none;
  bool critical = false;
  PayloadBody body;
  bool operator==(const Payload&) const = default;
};

struct Message {
  Header header;
  std::vector<Payload> payloads;

  // The first payload of `type`, or nullptr.
  const Payload* find(PayloadType type) const;
  template <class T>
  const T* get(PayloadType type) const {
    const Payload* p = find(type);
    return p ? std::get_if<T>(&p->body) : nullptr;
  }
  // The first Notify of `notify_type`, or nullptr.
  const NotifyPayload* notify(uint16_t notify_type) const;
};

// A Notify payload of `type` without an SPI (error and status notifies of the IKE SA).
Payload make_notify(uint16_t type, Bytes data = {});
// The first payload of `type` in a chain, as T; nullptr when there is none.
template <class T>
const T* find_payload(const std::vector<Payload>& chain, PayloadType type) {
  for (const Payload& p : chain)
    if (p.type == type) return std::get_if<T>(&p.body);
  return nullptr;
}
// The first Notify of `notify_type` in a chain; nullptr when there is none.
const NotifyPayload* find_notify(const std::vector<Payload>& chain, uint16_t notify_type);

#define WP_IKE_ERRORS(X)                                                                                  \
  X(none) X(truncated_header) X(bad_major_version) X(bad_length) X(too_long) X(payload_truncated)         \
  X(payload_too_short) X(too_many_payloads) X(unsupported_critical) X(sa_malformed) X(proposal_numbering) \
  X(bad_spi_size) X(transform_malformed) X(bad_attribute) X(ke_malformed) X(nonce_length)                 \
  X(notify_malformed) X(delete_malformed) X(ts_malformed) X(id_malformed) X(auth_malformed)               \
  X(cert_malformed) X(sk_not_last) X(unknown_exchange)

enum class IkeError : uint8_t {
#define WP_X(n) n,
  WP_IKE_ERRORS(WP_X)
#undef WP_X
      count
};
inline constexpr size_t kIkeErrors = static_cast<size_t>(IkeError::count);
std::string_view ike_error_name(IkeError e);

struct ParseResult {
  IkeError error = IkeError::none;
  size_t offset = 0;  // where in the input the error was found
  bool ok() const { return error == IkeError::none; }
};

// Only the 28-byte header (the caller routes by SPI before parsing the rest).
ParseResult parse_header(std::span<const uint8_t> data, Header& out);

// A whole datagram (header + payload chain), without the non-ESP marker of
// port 4500 (strip it first).
ParseResult parse_message(std::span<const uint8_t> data, Message& out);

// A payload chain starting with `first` (the header's next payload, or an
// SK payload's first inner type after decryption). `sk_allowed`: whether an
// Encrypted payload may appear (not inside one).
ParseResult parse_payload_chain(PayloadType first, std::span<const uint8_t> data, std::vector<Payload>& out,
                                bool sk_allowed);

// Encodes `msg` (header length and next-payload fields computed from the
// payloads; header.length and each payload's chaining are ignored on input).
Bytes encode_message(const Message& msg);
// Encodes a payload chain (for the plaintext inside an SK payload); returns
// the bytes and sets `first` to the chain's first type.
Bytes encode_payload_chain(const std::vector<Payload>& payloads, PayloadType& first);

}  // namespace wp::ike
