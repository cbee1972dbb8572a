// IPv4 reassembly table; see ip/reassembly.h.
#include "dataplane/ip/reassembly.h"

#include <algorithm>
#include <cstring>

#include "dataplane/ip/checksum.h"
#include "dataplane/ip/packet.h"

namespace wp {

FragmentKey fragment_key(const uint8_t* ip) {
  return {load_be32(ip + 12), load_be32(ip + 16), load_be16(ip + 4), ip[9]};
}

uint32_t fragment_class(const FragmentKey& k) {
  // Murmur3 finaliser over the key: spreads one peer pair's consecutive IP ids
  // over all classes (and workers).
  uint64_t h = (uint64_t{k.src} << 32 | k.dst) ^ (uint64_t{k.id} << 8 | k.proto) * 0x9e3779b97f4a7c15ULL;
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  return static_cast<uint32_t>(h) & 63;
}

ReassemblyTable::ReassemblyTable(uint32_t slots, uint32_t timeout_ms, uint32_t per_source, HashSecret secret)
    : secret_(secret), timeout_ms_(timeout_ms) {
  uint32_t n = kWays;
  while (n < slots) n <<= 1;
  slots_.resize(n);
  data_.resize(size_t{n} * kMaxDatagram);
  // As many cells as slots (source_cell is 16 bits): an innocent source rarely shares the flooder's.
  per_cell_.resize(std::min<uint32_t>(n, 1u << 16));
  mask_ = n / kWays - 1;
  per_source_ = per_source ? per_source : std::max(kWays, n / 16);
}

uint32_t ReassemblyTable::bucket_of(const FragmentKey& k) const {
  uint64_t h = siphash13(secret_, uint64_t{k.src} << 32 | k.dst, uint64_t{k.id} << 8 | k.proto);
  return static_cast<uint32_t>(h) & mask_;
}

uint32_t ReassemblyTable::cell_of(Ipv4 src) const {
  // A different second word from any bucket_of() input, so cells and buckets are independent.
  uint64_t h = siphash13(secret_, src, uint64_t{1} << 63);
  return static_cast<uint32_t>(h) & static_cast<uint32_t>(per_cell_.size() - 1);
}

void ReassemblyTable::release(uint32_t i) {
  slots_[i].used = false;
  --per_cell_[slots_[i].source_cell];
  --used_;
}

ReassemblyResult ReassemblyTable::open(uint32_t at, const FragmentKey& key, uint32_t now_ms) {
  uint32_t cell = cell_of(key.src);
  if (per_cell_[cell] >= per_source_) return ReassemblyResult::source_limit;
  ++per_cell_[cell];
  Slot& s = slots_[at];
  s.key = key;
  s.used = true;
  s.source_cell = static_cast<uint16_t>(cell);
  s.hdr_len = s.pieces = 0;
  s.total = s.received = s.largest = 0;
  s.first_ms = now_ms;
  ++used_;
  return ReassemblyResult::pending;
}

ReassemblyResult ReassemblyTable::add(const uint8_t* ip, const uint8_t* data, uint16_t len, uint32_t now_ms) {
  FragmentKey key = fragment_key(ip);
  uint16_t fo = load_be16(ip + 6);
  bool more = fo & 0x2000;
  uint32_t off = (fo & 0x1fffu) * 8;
  uint8_t ihl = static_cast<uint8_t>((ip[0] & 0x0f) * 4);
  if (len == 0 || (more && len % 8 != 0)) return ReassemblyResult::malformed;

  uint32_t base = bucket_of(key) * kWays;
  uint32_t at = UINT32_MAX, spare = UINT32_MAX;
  for (uint32_t w = 0; w < kWays; ++w) {
    Slot& s = slots_[base + w];
    if (s.used && expired(s, now_ms)) {  // reclaim on the way: counted as a timeout
      release(base + w);
      ++timeouts_;
    }
    if (!s.used) {
      if (spare == UINT32_MAX) spare = base + w;
    } else if (s.key == key) {
      at = base + w;
    }
  }
  if (off + len > kMaxDatagram) {
    if (at != UINT32_MAX) release(at);
    return ReassemblyResult::too_big;
  }
  if (at == UINT32_MAX) {
    if (spare == UINT32_MAX) return ReassemblyResult::table_full;
    if (auto r = open(spare, key, now_ms); r != ReassemblyResult::pending) return r;
    at = spare;
  }
  Slot& s = slots_[at];
  uint32_t end = off + len;
  for (uint32_t i = 0; i < s.pieces; ++i) {
    const Piece& p = s.piece[i];
    if (p.off == off && p.len == len) return ReassemblyResult::duplicate;
    if (off < uint32_t{p.off} + p.len && p.off < end) {
      release(at);
      return ReassemblyResult::overlap;
    }
  }
  // The last fragment fixes the end; nothing may lie past it, and it comes once.
  bool contradicts = more ? (s.total && end > s.total) : (s.total || (s.received && end < max_end(s)));
  if (contradicts) {
    release(at);
    return ReassemblyResult::overlap;
  }
  if (s.pieces == kMaxFragments) {
    release(at);
    return ReassemblyResult::too_many;
  }
  if (!more) s.total = static_cast<uint16_t>(end);
  std::memcpy(data_of(at) + off, data, len);
  s.piece[s.pieces++] = Piece{static_cast<uint16_t>(off), len};
  s.received = static_cast<uint16_t>(s.received + len);
  if (ihl + len > s.largest) s.largest = static_cast<uint16_t>(ihl + len);
  if (off == 0) {
    s.hdr_len = ihl;
    std::memcpy(s.hdr, ip, ihl);
  }
  // No overlaps, so the bytes held add up to the total only when every hole is filled.
  if (s.total && s.received == s.total) {
    ready_ = at;
    return ReassemblyResult::complete;
  }
  return ReassemblyResult::pending;
}

uint16_t ReassemblyTable::max_end(const Slot& s) {
  uint32_t e = 0;
  for (uint32_t i = 0; i < s.pieces; ++i) e = std::max<uint32_t>(e, uint32_t{s.piece[i].off} + s.piece[i].len);
  return static_cast<uint16_t>(e);
}

size_t ReassemblyTable::take(uint8_t* out, size_t cap) {
  Slot& s = slots_[ready_];
  size_t n = size_t{s.hdr_len} + s.total;
  release(ready_);
  last_largest_ = s.largest;
  if (n > cap || n > 0xffff) return 0;
  std::memcpy(out, s.hdr, s.hdr_len);
  std::memcpy(out + s.hdr_len, data_of(ready_), s.total);
  store_be16(out + 2, static_cast<uint16_t>(n));
  store_be16(out + 6, static_cast<uint16_t>(load_be16(s.hdr + 6) & 0x4000));  // DF kept, MF and offset cleared
  store_be16(out + 10, 0);
  store_be16(out + 10, ipv4_header_checksum(out));
  return n;
}

uint32_t ReassemblyTable::expire(uint32_t now_ms, uint32_t budget) {
  uint32_t n = 0;
  const uint32_t size = capacity();
  for (uint32_t k = 0; k < budget && used_ > 0; ++k) {
    hand_ = (hand_ + 1) & (size - 1);
    if (slots_[hand_].used && expired(slots_[hand_], now_ms)) {
      release(hand_);
      ++n;
    }
  }
  return n;
}

}  // namespace wp
