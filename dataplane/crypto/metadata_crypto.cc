// Metadata payload-section encryption; see metadata_crypto.h.
#include "dataplane/crypto/metadata_crypto.h"
#include "dataplane/crypto/wipe.h"

#include <cstring>

#include "dataplane/ip/packet.h"

namespace wp {

void derive_metadata_key(CryptoEngine& engine, const HmacKey& session_prk, AesKey& out) {
  uint8_t key[kAesKeyLen];
  auto info = std::span(reinterpret_cast<const uint8_t*>(kMetadataKdfInfo), sizeof kMetadataKdfInfo - 1);
  engine.hkdf_expand(session_prk, info, key);
  engine.expand_aes_key(key, out);
  wipe(key, sizeof key);
}

size_t seal_metadata_payload(CryptoEngine& engine, IvSource& ivs, const AesKey& key, uint8_t* b, size_t len,
                             size_t cap, uint32_t version) {
  const size_t hl = load_be16(b + 8) & 0x0fff, pl = load_be16(b + 10);
  const size_t pad = kAesBlock - pl % kAesBlock;
  const size_t new_hl = hl + 8, new_pl = kAesBlock + pl + pad;
  if (hl + pl != len || new_hl > 0x0fff || new_pl > 0xffff || new_hl + new_pl > cap) return 0;
  // Move the payload behind the new TLV and the IV, pad it, then encrypt in place.
  uint8_t* iv = b + new_hl;
  uint8_t* ct = iv + kAesBlock;
  std::memmove(ct, b + hl, pl);
  std::memset(ct + pl, static_cast<int>(pad), pad);
  store_be16(b + hl, static_cast<uint16_t>(Tlv::security_id));
  store_be16(b + hl + 2, 4);
  store_be32(b + hl + 4, version);
  ivs.next(iv);
  CryptoOp op;
  op.msg = ct;
  op.cipher_off = 0;
  op.cipher_len = static_cast<uint32_t>(pl + pad);
  op.iv = iv;
  op.aes = &key;
  if (engine.seal_burst(&op, 1) != 0) return 0;
  store_be16(b + 8, static_cast<uint16_t>(kMetadataVersion << 12 | new_hl));
  store_be16(b + 10, static_cast<uint16_t>(new_pl));
  return new_hl + new_pl;
}

MetadataOpen open_metadata_payload(CryptoEngine& engine, const AesKey& key, const uint8_t* b, Metadata& md,
                                   uint8_t* plain, uint32_t version) {
  if (!md.has_security_id || md.security_id != version) return MetadataOpen::unknown_key_version;
  const size_t pl = md.payload_len;
  if (pl < 2 * kAesBlock || pl % kAesBlock != 0 || pl - kAesBlock > kMaxPlainMetadata) return MetadataOpen::malformed;
  const uint8_t* iv = b + md.header_len;
  const size_t n = pl - kAesBlock;
  std::memcpy(plain, iv + kAesBlock, n);
  CryptoOp op;
  op.msg = plain;
  op.cipher_off = 0;
  op.cipher_len = static_cast<uint32_t>(n);
  op.iv = iv;
  op.aes = &key;
  if (engine.open_burst(&op, 1) != 0) return MetadataOpen::malformed;
  const uint8_t pad = pkcs7_pad_len(plain + n - 1);  // n is at least one block
  if (pad == 0) return MetadataOpen::bad_padding;
  md.payload_encrypted = false;
  md.payload_decrypted = true;
  if (!decode_payload_tlvs(plain, n - pad, md)) return MetadataOpen::malformed;
  return MetadataOpen::ok;
}

}  // namespace wp
