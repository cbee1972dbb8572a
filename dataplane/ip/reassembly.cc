// The reassembly store and its IPv4 face; see ip/reassembly.h.
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

DatagramStore::DatagramStore(uint32_t slots, uint32_t timeout_ms, uint32_t per_source, HashSecret secret)
    : secret_(secret), timeout_ms_(timeout_ms) {
  uint32_t n = kWays;
  while (n < slots) n <<= 1;
  slots_.resize(n);
  bytes_.resize(size_t{n} * kSlotBytes);
  // As many cells as slots (source_cell is 16 bits): an innocent source rarely shares the flooder's.
  per_cell_.resize(std::min<uint32_t>(n, 1u << 16));
  mask_ = n / kWays - 1;
  per_source_ = per_source ? per_source : std::max(kWays, n / 16);
}

uint32_t DatagramStore::bucket_of(const DatagramKey& k) const {
  uint64_t h;
  if (k.version == 4) {
    h = siphash13(secret_, k.src.lo << 32 | k.dst.lo, uint64_t{k.id} << 8 | k.proto);
  } else {  // 288 bits of key: chained, each step keyed, so no two keys share the input words
    uint64_t w = siphash13(secret_, k.src.hi, k.src.lo);
    w = siphash13(secret_, w ^ k.dst.hi, k.dst.lo);
    h = siphash13(secret_, w, uint64_t{k.id} | uint64_t{6} << 56);
  }
  return static_cast<uint32_t>(h) & mask_;
}

uint32_t DatagramStore::cell_of(const DatagramKey& k) const {
  // A different second word from any bucket_of() input, so cells and buckets are independent.
  // An IPv6 sender holds its whole /64: that is its source.
  uint64_t h = k.version == 4 ? siphash13(secret_, k.src.lo, uint64_t{1} << 63)
                              : siphash13(secret_, k.src.hi, uint64_t{1} << 63 | 6);
  return static_cast<uint32_t>(h) & static_cast<uint32_t>(per_cell_.size() - 1);
}

void DatagramStore::release(uint32_t i) {
  slots_[i].used = false;
  --per_cell_[slots_[i].source_cell];
  --used_;
}

ReassemblyResult DatagramStore::open(uint32_t at, const DatagramKey& key, uint32_t now_ms) {
  uint32_t cell = cell_of(key);
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

// The slot holding `key` (UINT32_MAX if none) and in *spare the first free
// way of its bucket; expired ways are reclaimed on the way.
uint32_t DatagramStore::find(const DatagramKey& key, uint32_t now_ms, uint32_t* spare) {
  uint32_t base = bucket_of(key) * kWays;
  uint32_t at = UINT32_MAX;
  *spare = UINT32_MAX;
  for (uint32_t w = 0; w < kWays; ++w) {
    Slot& s = slots_[base + w];
    if (s.used && expired(s, now_ms)) {  // reclaim on the way: counted as a timeout
      release(base + w);
      ++timeouts_;
    }
    if (!s.used) {
      if (*spare == UINT32_MAX) *spare = base + w;
    } else if (s.key == key) {
      at = base + w;
    }
  }
  return at;
}

ReassemblyResult DatagramStore::add(const DatagramKey& key, const FragmentPiece& f, uint32_t now_ms) {
  if (f.len == 0 || (f.more && f.len % 8 != 0)) return ReassemblyResult::malformed;
  uint32_t spare;
  uint32_t at = find(key, now_ms, &spare);
  if (f.off + f.len > kMaxDatagram || (f.off == 0 && f.hdr_len > kMaxHeader)) {
    if (at != UINT32_MAX) release(at);
    return ReassemblyResult::too_big;
  }
  if (at == UINT32_MAX) {
    if (spare == UINT32_MAX) return ReassemblyResult::table_full;
    if (auto r = open(spare, key, now_ms); r != ReassemblyResult::pending) return r;
    at = spare;
  }
  return place(at, f);
}

// Checks `f` against what slot `at` holds, then copies it in.
ReassemblyResult DatagramStore::place(uint32_t at, const FragmentPiece& f) {
  Slot& s = slots_[at];
  uint32_t end = f.off + f.len;
  for (uint32_t i = 0; i < s.pieces; ++i) {
    const Piece& p = s.piece[i];
    if (p.off == f.off && p.len == f.len) return ReassemblyResult::duplicate;
    if (f.off < uint32_t{p.off} + p.len && p.off < end) {
      release(at);
      return ReassemblyResult::overlap;
    }
  }
  // The last fragment fixes the end; nothing may lie past it, and it comes once.
  bool contradicts = f.more ? (s.total && end > s.total) : (s.total || (s.received && end < max_end(s)));
  if (contradicts) {
    release(at);
    return ReassemblyResult::overlap;
  }
  if (s.pieces == kMaxFragments) {
    release(at);
    return ReassemblyResult::too_many;
  }
  if (!f.more) s.total = static_cast<uint16_t>(end);
  std::memcpy(data_of(at) + f.off, f.data, f.len);
  s.piece[s.pieces++] = Piece{static_cast<uint16_t>(f.off), f.len};
  s.received = static_cast<uint16_t>(s.received + f.len);
  if (f.wire_len > s.largest) s.largest = f.wire_len;
  if (f.off == 0) {
    s.hdr_len = f.hdr_len;
    std::memcpy(hdr_of(at), f.hdr, f.hdr_len);
  }
  // No overlaps, so the bytes held add up to the total only when every hole is filled.
  if (s.total && s.received == s.total) {
    ready_ = at;
    return ReassemblyResult::complete;
  }
  return ReassemblyResult::pending;
}

uint16_t DatagramStore::max_end(const Slot& s) {
  uint32_t e = 0;
  for (uint32_t i = 0; i < s.pieces; ++i) e = std::max<uint32_t>(e, uint32_t{s.piece[i].off} + s.piece[i].len);
  return static_cast<uint16_t>(e);
}

DatagramStore::Whole DatagramStore::take() {
  const Slot& s = slots_[ready_];
  release(ready_);
  return {hdr_of(ready_), s.hdr_len, data_of(ready_), s.total, s.largest};
}

uint32_t DatagramStore::expire(uint32_t now_ms, uint32_t budget) {
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

ReassemblyResult ReassemblyTable::add(const uint8_t* ip, const uint8_t* data, uint16_t len, uint32_t now_ms) {
  FragmentKey k = fragment_key(ip);
  DatagramKey key{{0, k.src}, {0, k.dst}, k.id, k.proto, 4};
  uint16_t fo = load_be16(ip + 6);
  uint8_t ihl = static_cast<uint8_t>((ip[0] & 0x0f) * 4);
  FragmentPiece f{(fo & 0x1fffu) * 8, len, (fo & 0x2000) != 0, data, ip, ihl, static_cast<uint16_t>(ihl + len)};
  return store_.add(key, f, now_ms);
}

size_t ReassemblyTable::take(uint8_t* out, size_t cap) {
  DatagramStore::Whole w = store_.take();
  size_t n = size_t{w.hdr_len} + w.total;
  last_largest_ = w.largest;
  if (n > cap || n > 0xffff) return 0;
  std::memcpy(out, w.hdr, w.hdr_len);
  std::memcpy(out + w.hdr_len, w.data, w.total);
  store_be16(out + 2, static_cast<uint16_t>(n));
  store_be16(out + 6, static_cast<uint16_t>(load_be16(w.hdr + 6) & 0x4000));  // DF kept, MF and offset cleared
  store_be16(out + 10, 0);
  store_be16(out + 10, ipv4_header_checksum(out));
  return n;
}

}  // namespace wp
