// ESP encryption and ICV in bursts on the worker's IPsec-MB manager
// (crypto/engine.h), tunnel mode, the two ciphers of docs/ipsec.md:
// - aes256gcm16 (RFC 4106): nonce = salt (4, from the key material) | IV (8,
//   carried); AAD = SPI | sequence (8 bytes) or, with extended sequence
//   numbers, SPI | high half | low half (12 bytes, § 5); 16-byte tag;
// - aes256-sha256 (RFC 4303 + RFC 4868): AES-256-CBC with a 16-byte IV,
//   then HMAC-SHA256-128 over SPI .. ciphertext, with the ESN high half
//   appended to the hashed data but never sent (RFC 4303 § 2.2.1, 3.3.2.1).
//
// The caller lays the packet out (esp_format.h: header, IV, payload,
// trailer, room for the ICV) and picks the IV: for GCM the 64-bit sequence
// number itself (unique per SA and key, RFC 4106 § 3.1), for CBC
// unpredictable bytes (crypto/iv_source.h). Every op of a burst is
// submitted before the flush so the manager's lanes fill across packets.
// Opening checks the tag/ICV before the plaintext is used; a failed op is
// `ok == false` and its bytes must be dropped. No allocation.
#pragma once

#include <intel-ipsec-mb.h>

#include <cstddef>
#include <cstdint>

#include "dataplane/crypto/engine.h"
#include "dataplane/ipsec/esp_format.h"

namespace wp {

// CBC's key schedules: AES-256 both ways and HMAC-SHA256's ipad/opad states.
struct EspCbcKeys {
  AesKey aes{};
  HmacKey mac;
};

// One direction's keys of a Child SA (KEYMAT split per RFC 7296 § 2.17).
// Only the schedule of the SA's own cipher is held: `cipher` says which
// member of the union is live (gcm for aes256_gcm16, cbc otherwise), so an
// EspSa is not the size of both suites' schedules (issue #20: thousands of
// SAs). Both members are trivially copyable; esp_keys_init sets one.
struct EspKeys {
  EspKeys() : gcm{} {}
  EspCipher cipher = EspCipher::aes256_gcm16;
  bool esn = false;
  uint8_t salt[4] = {};  // GCM: the last 4 bytes of the key material
  union {
    alignas(64) gcm_key_data gcm;  // GCM: expanded key + hash keys
    EspCbcKeys cbc;                // CBC
  };
};
// Key material lengths: GCM 32 + 4 (salt); CBC 32 (encryption) + 32 (integrity).
inline constexpr size_t esp_keymat_len(EspCipher c) { return c == EspCipher::aes256_gcm16 ? 36 : 64; }
// Expands `keymat` (esp_keymat_len bytes: encryption key [+ salt], then the
// integrity key for CBC) with the engine's manager.
void esp_keys_init(CryptoEngine& eng, EspCipher c, bool esn, const uint8_t* keymat, EspKeys& out);

// One packet: `pkt` points at the SPI; `len` is the whole ESP packet,
// ICV included. `seq` is the 64-bit sequence number (its low half is in
// the packet; the high half only counts with ESN).
struct EspOp {
  uint8_t* pkt = nullptr;
  uint32_t len = 0;
  uint64_t seq = 0;
  const EspKeys* keys = nullptr;
  bool ok = false;  // out
  // Scratch the burst needs per packet (AAD, nonce, the received ICV and
  // the computed one, and the bytes the ESN high half borrows).
  alignas(16) uint8_t aad[12];
  uint8_t nonce[12];
  uint8_t icv_rx[kEspIcvLen];
  uint8_t icv_calc[kEspIcvLen];
};

// Encrypts in place and writes the ICV at the end; returns how many failed.
uint32_t esp_seal_burst(CryptoEngine& eng, EspOp* ops, size_t n);
// Verifies the ICV and decrypts in place; returns how many failed
// (bad ICV or a length the cipher cannot take).
uint32_t esp_open_burst(CryptoEngine& eng, EspOp* ops, size_t n);

}  // namespace wp
