// ESP packet layout in tunnel mode (RFC 4303 § 2, RFC 4106 for GCM), what
// the worker writes and checks around the cipher:
//
//   | SPI (4) | Sequence low (4) | IV (8 GCM / 16 CBC) | payload ... |
//   | padding 1,2,3... | pad length (1) | next header (1) | ICV (16) |
//
// The encrypted part (payload through next header) is a multiple of 4 bytes
// for GCM and of 16 for CBC. Padding bytes are 1, 2, 3, ... (§ 2.4 default);
// a receiver that finds other values drops the packet (`bad_padding`), as the
// RFC allows, since a sender of ours or strongSwan never sends them. The
// next header of a tunnel-mode packet is 4 (IPv4) or 41 (IPv6); 59 (no next
// header) is a dummy packet (§ 2.6), dropped and counted, never forwarded.
// No allocation, no DPDK: pointer and length in, verdict out.
#pragma once

#include <cstddef>
#include <cstdint>

namespace wp {

inline constexpr size_t kEspHeaderLen = 8;  // SPI + sequence
inline constexpr size_t kEspTrailerMin = 2;  // pad length + next header
inline constexpr size_t kEspIcvLen = 16;     // HMAC-SHA256-128 and GCM-16 alike
inline constexpr uint8_t kEspNextIpv4 = 4, kEspNextIpv6 = 41, kEspNextNone = 59;

enum class EspCipher : uint8_t { aes256_gcm16, aes256_cbc_hmac_sha256 };
inline constexpr size_t esp_iv_len(EspCipher c) { return c == EspCipher::aes256_gcm16 ? 8 : 16; }
inline constexpr size_t esp_block(EspCipher c) { return c == EspCipher::aes256_gcm16 ? 4 : 16; }

// Bytes of padding after `payload` bytes so that payload + padding + 2 fills
// the cipher's block.
inline constexpr size_t esp_pad_len(EspCipher c, size_t payload) {
  const size_t b = esp_block(c);
  return (b - (payload + kEspTrailerMin) % b) % b;
}

// The whole ESP packet's length for an inner packet of `payload` bytes.
inline constexpr size_t esp_packet_len(EspCipher c, size_t payload) {
  return kEspHeaderLen + esp_iv_len(c) + payload + esp_pad_len(c, payload) + kEspTrailerMin + kEspIcvLen;
}

// Writes padding 1, 2, ..., pad length and next header after a payload that
// ends at `end`; returns the bytes written.
inline size_t esp_write_trailer(uint8_t* end, size_t pad, uint8_t next_header) {
  for (size_t i = 0; i < pad; ++i) end[i] = static_cast<uint8_t>(i + 1);
  end[pad] = static_cast<uint8_t>(pad);
  end[pad + 1] = next_header;
  return pad + kEspTrailerMin;
}

enum class EspTrailer : uint8_t { ok, too_short, bad_padding, dummy, bad_next_header };

struct EspTrailerInfo {
  size_t payload_len = 0;  // inner packet bytes
  uint8_t next_header = 0;
};

// Checks the decrypted part `plain` (payload .. next header, `len` bytes).
inline EspTrailer esp_read_trailer(const uint8_t* plain, size_t len, EspTrailerInfo& out) {
  if (len < kEspTrailerMin) return EspTrailer::too_short;
  const uint8_t pad = plain[len - 2], next = plain[len - 1];
  if (size_t{pad} + kEspTrailerMin > len) return EspTrailer::too_short;
  uint8_t bad = 0;
  const uint8_t* p = plain + len - kEspTrailerMin - pad;
  for (uint8_t i = 0; i < pad; ++i) bad |= static_cast<uint8_t>(p[i] ^ (i + 1));
  if (bad) return EspTrailer::bad_padding;
  if (next == kEspNextNone) return EspTrailer::dummy;
  if (next != kEspNextIpv4 && next != kEspNextIpv6) return EspTrailer::bad_next_header;
  out.payload_len = len - kEspTrailerMin - pad;
  out.next_header = next;
  return EspTrailer::ok;
}

}  // namespace wp
