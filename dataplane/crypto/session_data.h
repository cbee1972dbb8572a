// Packet edits for session data encryption and the per-packet HMAC trailer
// (docs/svr-wire-format.md § Security).
//
// Wire layout of a packet of an encrypting session on a WAN leg:
//   IP | L4 | [metadata block] | IV (16) | AES-256-CBC(data | PKCS#7 pad) | [seq (4)] | HMAC-SHA256-128 (16)
// The IV and padding exist only when there is data (a bare TCP ACK carries
// just the trailer). Packets signed with the session key (every packet that
// is not a metadata packet) carry a 32-bit sequence number before the tag
// for replay protection (replay_window.h); metadata packets are signed with
// the pair key and carry none. The HMAC covers [L4 header with zeroed checksum, tag),
// i.e. it is computed over the ciphertext (encrypt-then-MAC), and IP total
// length / UDP length count every byte. TCP sequence numbers are untouched:
// the next router restores the original data before any host sees it, as
// it does for metadata. Sessions that HMAC every packet without encrypting
// have the same layout without IV and padding.
//
// The encrypted packet grows by up to 48 bytes (IV + a full pad block +
// tag): TCP sessions get their MSS clamped on the SYN so segments fit the
// WAN MTU (clamp_mss).
#pragma once

#include <rte_mbuf.h>

#include <cstdint>

#include "dataplane/ip/ipv6.h"
#include "dataplane/ip/packet.h"

namespace wp {

inline constexpr uint16_t kSeqLen = 4;
inline constexpr uint16_t kCryptoOverhead = 16 + 16 + kSeqLen + 16;  // IV + worst-case pad + seq + HMAC

// Where the cipher runs, relative to the L4 header (the HMAC message start).
struct SealLayout {
  uint16_t cipher_off = 0;  // 0: nothing to cipher
  uint16_t cipher_len = 0;
  uint8_t* iv = nullptr;   // the 16 bytes before the ciphertext, inside the packet
  uint8_t* seq = nullptr;  // the sequence number before the tag (seq_len 4), or nullptr
};

// Sending: data is [payload + md_len, end). With `encrypt` and data present,
// opens a 16-byte IV gap before it and PKCS#7-pads it to whole blocks; then
// appends `seq_len` (0 or kSeqLen) bytes for the sequence number and reserves
// the HMAC trailer (lengths fixed, L4 checksum zeroed for signing). False
// when the mbuf has no room.
bool prepare_seal(rte_mbuf* m, ParsedPacket& pp, uint16_t md_len, bool encrypt, uint16_t seq_len, SealLayout& out);

// Receiving: where IV, ciphertext and sequence number are when data is
// [payload + md_len, end - trailer) and trailer = [seq_len] + tag (or 0 once
// stripped). False when the packet is too short or the ciphertext is
// not whole blocks (the caller drops it as crypto_short).
bool open_layout(rte_mbuf* m, const ParsedPacket& pp, uint16_t md_len, uint16_t trailer, uint16_t seq_len,
                 bool encrypted, SealLayout& out);

// After the HMAC verified and the data was decrypted: checks the padding
// (false: bad_padding, packet untouched) and removes the trailer, padding and
// IV; lengths and checksums are recomputed.
bool finish_open(rte_mbuf* m, ParsedPacket& pp, uint16_t md_len, uint16_t trailer, const SealLayout& l);

// Lowers the MSS option of a TCP SYN to `max_mss` (incremental checksum).
// Returns true when it changed the packet.
bool clamp_mss(rte_mbuf* m, const ParsedPacket& pp, uint16_t max_mss);
// The same for an IPv6 TCP SYN (RFC 1624 update of its checksum).
bool clamp_mss6(rte_mbuf* m, const Ipv6View& v, uint16_t max_mss);

}  // namespace wp
