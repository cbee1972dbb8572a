// Metadata payload-section encryption, TLV 16 (docs/svr-wire-format.md § Security).
//
// With `metadata_encryption: on` in a security policy, every metadata block
// of its sessions leaves with the payload section (context, UUID, tenant,
// service, router and policy names) encrypted: AES-256-CBC, a random 16-byte
// IV first (the per-worker IV DRBG, iv_source.h), PKCS#7 padding, all counted
// in the payload length. The header section stays clear and gains TLV 16
// (4 bytes: the key version). The pair-key HMAC is computed over the block as
// sent (encrypt-then-MAC), so the receiver verifies before it decrypts.
//
// Key: one per peer, derived at config build from the pair key with the
// session-key PRK (crypto/keys.h) and its own HKDF info label:
//   key = HKDF-Expand(PRK = HKDF-Extract("waypoint svr session keys v1", pair key),
//                     info = "waypoint svr metadata key v1", L = 32)
// (session keys use the 16-byte UUID as info, so the two never coincide).
// Each pair-key version has its own metadata key (crypto/pair_keys.h); TLV 16
// names the version, and a block naming one we do not hold is dropped
// (unknown_key_version), as is bad padding.
#pragma once

#include <cstddef>
#include <cstdint>

#include "dataplane/crypto/engine.h"
#include "dataplane/crypto/iv_source.h"
#include "dataplane/svr/metadata.h"

namespace wp {

inline constexpr uint32_t kMetadataKeyVersion = 1;
inline constexpr char kMetadataKdfInfo[] = "waypoint svr metadata key v1";
// What encryption adds to a block at most: TLV 16, IV, a block of padding.
inline constexpr size_t kMetadataCryptoOverhead = 8 + kAesBlock + kAesBlock;
// Largest payload section we decrypt (ours are < 512 bytes).
inline constexpr size_t kMaxPlainMetadata = 1024;

void derive_metadata_key(CryptoEngine& engine, const HmacKey& session_prk, AesKey& out);

// Encrypts the payload section of the finished block at `b` (`len` bytes,
// room for `cap`) in place and adds TLV 16 to its header section. Returns the
// new block length, or 0 when it does not fit `cap`.
size_t seal_metadata_payload(CryptoEngine& engine, IvSource& ivs, const AesKey& key, uint8_t* b, size_t len,
                             size_t cap, uint32_t version = kMetadataKeyVersion);

enum class MetadataOpen : uint8_t { ok, unknown_key_version, bad_padding, malformed };

// Receiving (after the pair-key HMAC verified): decrypts the payload section
// of the block at `b`, decoded into `md` (payload_encrypted set), into
// `plain` (kMaxPlainMetadata bytes) and reads its TLVs into `md`; string
// views then point into `plain`.
MetadataOpen open_metadata_payload(CryptoEngine& engine, const AesKey& key, const uint8_t* b, Metadata& md,
                                   uint8_t* plain, uint32_t version = kMetadataKeyVersion);

}  // namespace wp
