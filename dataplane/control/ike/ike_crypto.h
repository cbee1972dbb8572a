// IKEv2 cryptography (RFC 7296 § 2.13-2.15, RFC 5282, RFC 3526, RFC 5903,
// RFC 8031), with OpenSSL on the control thread (never in a worker):
// - the suites Waypoint offers and accepts: aes256-sha256-GROUP
//   (ENCR_AES_CBC-256, AUTH_HMAC_SHA2_256_128, PRF_HMAC_SHA2_256) and
//   aes256gcm16-prfsha256-GROUP (ENCR_AES_GCM_16-256), GROUP any DH group below;
// - Diffie-Hellman: MODP-2048/3072/4096 (groups 14, 15, 16; RFC 3526:
//   public value and shared secret padded to the prime's length), ECP-256/
//   384/521 (groups 19, 20, 21; RFC 5903: public value x | y, shared secret
//   x) and Curve25519 (group 31; RFC 8031: 32-byte u, an all-zero shared
//   secret refused); a peer's public value is checked before use;
// - prf+, SKEYSEED and SK_d/ai/ar/ei/er/pi/pr, Child SA KEYMAT;
// - the PSK AUTH payload value (§ 2.15);
// - the Encrypted payload: open (ICV or tag checked over the whole message
//   first, then decrypt, then padding) and seal.
// Checked against a strongSwan 5.9.8 pair: its logged keys and the IKE_AUTH
// messages it sent (tests/data/ike/, ike_crypto_test).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "dataplane/control/ike/ike_message.h"

namespace wp::ike {

using CSpan = std::span<const uint8_t>;

// Transform IDs (IANA "IKEv2 Transform Type N").
inline constexpr uint16_t kEncrAesCbc = 12, kEncrAesGcm16 = 20;
inline constexpr uint16_t kPrfHmacSha256 = 5;
inline constexpr uint16_t kIntegHmacSha256_128 = 12;
inline constexpr uint16_t kDhModp2048 = 14, kDhModp3072 = 15, kDhModp4096 = 16, kDhEcp256 = 19, kDhEcp384 = 20,
                          kDhEcp521 = 21, kDhCurve25519 = 31;
inline constexpr uint16_t kDhGroupIds[] = {kDhModp2048, kDhModp3072, kDhModp4096, kDhEcp256,
                                           kDhEcp384,   kDhEcp521,   kDhCurve25519};

// A DH group's name as strongSwan writes it in proposals ("modp3072",
// "ecp384", "curve25519"); "" for a group we do not implement.
std::string_view dh_group_name(uint16_t group);
// The group a name denotes; 0 when it is not one of ours.
uint16_t dh_group_by_name(std::string_view name);
// Every group we implement, joined with ", " (for error messages).
std::string dh_group_names();

struct IkeSuite {
  uint16_t encr = kEncrAesCbc;
  uint16_t encr_key_bits = 256;
  uint16_t integ = kIntegHmacSha256_128;  // 0 with an AEAD cipher
  uint16_t prf = kPrfHmacSha256;
  uint16_t dh = kDhModp2048;

  bool aead() const { return encr == kEncrAesGcm16; }
  size_t encr_key_len() const { return encr_key_bits / 8 + (aead() ? 4 : 0); }  // GCM: + 4-byte salt
  size_t integ_key_len() const { return aead() ? 0 : 32; }
  size_t prf_len() const { return 32; }
  size_t iv_len() const { return aead() ? 8 : 16; }
  size_t icv_len() const { return 16; }
};

// The suite an IKE proposal names, when it is one of ours (every transform
// type present once, none unknown).
bool suite_from_proposal(const Proposal& p, IkeSuite& out);

// An ESP proposal name as strongSwan writes it, optionally naming the DH
// group of perfect forward secrecy for CREATE_CHILD_SA (RFC 7296 § 1.3,
// § 2.17): "aes256gcm16-ecp256", "aes256-sha256-modp2048",
// "aes256gcm16-esn-ecp256". `base` is the name without the group, `group`
// the group (dh_group_by_name; 0: none). False when a '-'-separated part
// names a DH group we do not implement (modpNNNN, ecpNNN, curve448, ...) or
// two groups are named; `base` is not checked here. IKE proposal names are
// split the same way ("aes256-sha256-curve25519").
bool split_esp_group(std::string_view name, std::string& base, uint16_t& group);

// An IKE proposal name as strongSwan writes it: "aes256-sha256-GROUP"
// (ENCR_AES_CBC-256, AUTH_HMAC_SHA2_256_128, PRF_HMAC_SHA2_256) or
// "aes256gcm16-prfsha256-GROUP" (ENCR_AES_GCM_16-256), GROUP one of
// dh_group_name's ("aes256-sha256-modp2048", "aes256gcm16-prfsha256-curve25519").
bool ike_suite_by_name(std::string_view name, IkeSuite& s);
// The name of `s` in that form; "unknown" for a suite none names.
std::string ike_suite_name(const IkeSuite& s);

// PRF_HMAC_SHA2_256 and prf+ (§ 2.13).
Bytes prf(CSpan key, CSpan data);
Bytes prf_plus(CSpan key, CSpan seed, size_t len);

struct IkeKeys {
  Bytes skeyseed, sk_d, sk_ai, sk_ar, sk_ei, sk_er, sk_pi, sk_pr;
  ~IkeKeys();  // wiped (OPENSSL_cleanse), as every key in the router (docs/security.md § Keys)
};
// Overwrites `b` with zeros the compiler cannot elide, then empties it.
void wipe(Bytes& b);
// SKEYSEED = prf(Ni | Nr, g^ir); the seven keys from prf+(SKEYSEED, Ni | Nr | SPIi | SPIr) (§ 2.14).
IkeKeys derive_ike_keys(const IkeSuite& s, CSpan ni, CSpan nr, CSpan g_ir, uint64_t spi_i, uint64_t spi_r);
// A rekeyed IKE SA (§ 2.18): SKEYSEED = prf(SK_d (old), g^ir (new) | Ni | Nr),
// then the seven keys as above with the new SPIs.
IkeKeys derive_rekeyed_ike_keys(const IkeSuite& s, CSpan old_sk_d, CSpan ni, CSpan nr, CSpan g_ir, uint64_t spi_i,
                                uint64_t spi_r);
// Child SA KEYMAT = prf+(SK_d, [g^ir (new) |] Ni | Nr) (§ 2.17).
Bytes child_keymat(CSpan sk_d, CSpan ni, CSpan nr, size_t len, CSpan g_ir_new = {});

// The AUTH value for a pre-shared key (§ 2.15):
// prf(prf(psk, "Key Pad for IKEv2"), real_message | peer_nonce | prf(sk_p, id_body)),
// where id_body is the ID payload after its generic header (type, reserved, data).
Bytes psk_auth(CSpan psk, CSpan sk_p, CSpan real_message, CSpan peer_nonce, CSpan id_body);
// Constant-time comparison for AUTH and ICV values.
bool equal_ct(CSpan a, CSpan b);

enum class SkError : uint8_t { ok, no_sk, too_short, bad_icv, bad_padding, crypto };
std::string_view sk_error_name(SkError e);

// The plaintext payload chain of the SK payload of `datagram` (`msg` is its
// parse), with the keys of the sender's direction (SK_ei/SK_ai for a message
// the initiator sent). The ICV (CBC) or tag (GCM) over the message is checked
// before anything is decrypted.
SkError open_sk(const IkeSuite& s, CSpan enc_key, CSpan integ_key, CSpan datagram, const Message& msg, Bytes& plain);
// A whole datagram: `header` (length computed), an SK payload holding `inner`
// (a payload chain starting with `first_inner`), sealed with `iv` (iv_len()
// bytes, fresh for every message), minimal padding.
Bytes seal_sk(const IkeSuite& s, CSpan enc_key, CSpan integ_key, const Header& header, PayloadType first_inner,
              CSpan inner, CSpan iv);

// One side's Diffie-Hellman key pair for `group` (dh_group_name names it).
class DhKey {
 public:
  static std::unique_ptr<DhKey> generate(uint16_t group, std::string& error);
  ~DhKey();
  DhKey(const DhKey&) = delete;
  DhKey& operator=(const DhKey&) = delete;

  uint16_t group() const { return group_; }
  // The KE payload's data: dh_public_len(group) bytes (MODP: y padded to the
  // prime's length; ECP: x | y; Curve25519: u).
  const Bytes& public_value() const { return public_; }
  // g^ir from the peer's KE data; false (with the reason) for a value of the
  // wrong length or not a valid public key of the group (MODP: 1 < y < p-1;
  // ECP: a point on the curve; Curve25519: an all-zero shared secret, RFC
  // 8031 § 2.3).
  bool shared_secret(CSpan peer_public, Bytes& out, std::string& error) const;

 private:
  DhKey() = default;
  uint16_t group_ = 0;
  void* pkey_ = nullptr;  // EVP_PKEY
  Bytes public_;
};
size_t dh_public_len(uint16_t group);  // 0: a group we do not support

}  // namespace wp::ike
