// IP reassembly (RFC 791 § 3.2, RFC 8200 § 4.5; RFC 815 bookkeeping
// simplified), one table per worker (encrypted SVR packets that exceed the WAN
// MTU are fragmented after sealing; the receiver reassembles, then verifies
// and decrypts). DatagramStore holds the policy for both IP versions;
// ReassemblyTable is its IPv4 face, Ipv6ReassemblyTable (ipv6_reassembly.h)
// its IPv6 one: they only read keys and offsets out of headers and write the
// whole datagram's header back.
//
// The table is preallocated at start (fixed slots, fixed-size datagram
// buffers): the fast path copies each fragment's data into its slot and frees
// the fragment's mbuf, so a half-assembled datagram holds no mbufs and a
// flood of fragments cannot drain the packet pool. It is set-associative
// (4 ways per bucket); the bucket is a keyed hash (SipHash, per-process
// secret) of the whole key (IPv4: src, dst, proto, IP id; IPv6: src, dst,
// fragment id), so every bucket serves
// whatever classes reach this worker and a sender cannot aim at one. A full
// bucket refuses new datagrams (`table_full`) rather than evict a live one an
// attacker chose, and one source holds at most `per_source` half-assembled
// datagrams (`source_limit`; sources are counted in keyed-hash cells, so two
// may share a cell; an IPv6 source is its /64, which one host holds whole): a
// flood from one address keeps the rest of the table, and so every other
// source's datagrams, usable.
// Overlapping fragments drop the whole datagram (as RFC 5722 asks for IPv6:
// overlaps only serve evasion); an exact duplicate is dropped alone. A
// datagram not complete within the timeout is discarded by a paced sweep.
// Byte-oriented (no mbufs) so the policy is unit-tested without EAL.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "dataplane/ip/ipv4.h"
#include "dataplane/ip/ipv6.h"
#include "dataplane/ip/keyed_hash.h"

namespace wp {

struct FragmentKey {
  Ipv4 src = 0, dst = 0;
  uint16_t id = 0;
  uint8_t proto = 0;
  bool operator==(const FragmentKey&) const = default;
};

// The key of the IPv4 header at `ip` (fragment or not).
FragmentKey fragment_key(const uint8_t* ip);
// Affinity class (0..63) of a fragmented datagram: every fragment of it has
// the same one, ports or not, so all reach the same worker (docs/architecture.md § Sessions).
uint32_t fragment_class(const FragmentKey& k);

enum class ReassemblyResult : uint8_t {
  pending,     // absorbed; more fragments needed
  complete,    // absorbed and the datagram is whole: take() it now
  duplicate,   // same offset and length as a fragment already held: dropped
  overlap,     // overlaps held data, or contradicts the known end: datagram dropped
  too_many,    // more than kMaxFragments: datagram dropped
  too_big,     // would end past kMaxDatagram (or its header past kMaxHeader): datagram dropped
  table_full,  // no free way in the bucket: dropped
  source_limit,  // the source (its cell) already holds per_source datagrams: dropped
  malformed,   // non-last fragment not a multiple of 8 bytes, or empty
  not_fragment,  // IPv6: no fragment header, or an atomic one (RFC 6946): a whole packet, not held
};

// The key of a datagram in either IP version: an IPv4 address sits in the low
// word; IPv6 keys have no protocol (RFC 8200 § 4.5).
struct DatagramKey {
  Ipv6 src, dst;
  uint32_t id = 0;
  uint8_t proto = 0;
  uint8_t version = 4;
  bool operator==(const DatagramKey&) const = default;
};

// One fragment as a version's face hands it over.
struct FragmentPiece {
  uint32_t off = 0;              // bytes into the fragmentable part
  uint16_t len = 0;              // its data bytes
  bool more = false;             // MF / M
  const uint8_t* data = nullptr;
  const uint8_t* hdr = nullptr;  // kept from the offset-0 fragment: the header the whole datagram gets
  uint16_t hdr_len = 0;
  uint16_t wire_len = 0;         // the fragment's IP bytes (largest fragment, for PMTU)
};

// The version-neutral table: slots, buckets, source cells, piece
// bookkeeping, overlap and end rules, timeouts. Byte-oriented (no mbufs).
class DatagramStore {
 public:
  static constexpr uint32_t kWays = 4;
  static constexpr uint32_t kMaxFragments = 16;
  static constexpr uint32_t kMaxDatagram = 4096;  // fragmentable bytes; our mbufs hold < 2048 anyway
  static constexpr uint32_t kMaxHeader = kIpv6HdrLen + Ipv6View::kMaxExtBytes;
  static constexpr uint32_t kDefaultTimeoutMs = 2000;

  // The whole datagram after `complete`, valid until the next add().
  struct Whole {
    const uint8_t* hdr;
    uint16_t hdr_len;
    const uint8_t* data;
    uint16_t total;    // fragmentable bytes
    uint16_t largest;  // the largest fragment's IP bytes
  };

  // `slots` is rounded up to a power of two of at least kWays. `per_source`
  // 0 means slots / 16 (at least kWays): few enough that one source's
  // datagrams, spread by the hash, almost never fill a bucket.
  DatagramStore(uint32_t slots, uint32_t timeout_ms, uint32_t per_source, HashSecret secret);

  ReassemblyResult add(const DatagramKey& key, const FragmentPiece& f, uint32_t now_ms);
  // After `complete`: the datagram, its slot free again.
  Whole take();
  // Discards datagrams older than the timeout, visiting up to `budget` slots
  // from where the last call stopped; returns how many were discarded.
  uint32_t expire(uint32_t now_ms, uint32_t budget);
  // Datagrams discarded on timeout found in add() (a bucket reclaiming an old
  // slot) since the last call; expire() returns its own.
  uint32_t take_timeouts() {
    uint32_t n = timeouts_;
    timeouts_ = 0;
    return n;
  }
  uint32_t in_use() const { return used_; }
  uint32_t per_source() const { return per_source_; }
  uint32_t capacity() const { return static_cast<uint32_t>(slots_.size()); }

 private:
  struct Piece {
    uint16_t off, len;
  };
  struct Slot {
    DatagramKey key;
    bool used = false;
    uint16_t hdr_len = 0;  // 0 until the offset-0 fragment came
    uint8_t pieces = 0;
    uint16_t total = 0;  // payload length, known once the last fragment came
    uint16_t received = 0;
    uint16_t largest = 0;
    uint16_t source_cell = 0;
    uint32_t first_ms = 0;
    Piece piece[kMaxFragments];
  };
  static constexpr size_t kSlotBytes = kMaxHeader + kMaxDatagram;
  bool expired(const Slot& s, uint32_t now_ms) const { return now_ms - s.first_ms >= timeout_ms_; }
  void release(uint32_t i);
  uint32_t bucket_of(const DatagramKey& k) const;
  uint32_t cell_of(const DatagramKey& k) const;
  uint32_t find(const DatagramKey& key, uint32_t now_ms, uint32_t* spare);
  ReassemblyResult open(uint32_t at, const DatagramKey& key, uint32_t now_ms);
  ReassemblyResult place(uint32_t at, const FragmentPiece& f);
  static uint16_t max_end(const Slot& s);
  uint8_t* hdr_of(uint32_t i) { return bytes_.data() + size_t{i} * kSlotBytes; }
  uint8_t* data_of(uint32_t i) { return hdr_of(i) + kMaxHeader; }

  std::vector<Slot> slots_;
  std::vector<uint8_t> bytes_;  // per slot: kMaxHeader header bytes, then kMaxDatagram data bytes
  std::vector<uint16_t> per_cell_;  // datagrams held per source cell
  HashSecret secret_;
  uint32_t mask_;  // buckets - 1
  uint32_t per_source_;
  uint32_t timeout_ms_;
  uint32_t ready_ = 0;
  uint32_t hand_ = 0;
  uint32_t used_ = 0;
  uint32_t timeouts_ = 0;
};

// What the IPv4 and IPv6 faces share: the store and the calls that need no header.
class ReassemblyFace {
 public:
  // The largest fragment (IP bytes) of the datagram take() returned last.
  uint16_t last_largest_fragment() const { return last_largest_; }
  uint32_t expire(uint32_t now_ms, uint32_t budget) { return store_.expire(now_ms, budget); }
  uint32_t take_timeouts() { return store_.take_timeouts(); }
  uint32_t in_use() const { return store_.in_use(); }
  uint32_t per_source() const { return store_.per_source(); }
  uint32_t capacity() const { return store_.capacity(); }

 protected:
  ReassemblyFace(uint32_t slots, uint32_t timeout_ms, uint32_t per_source, HashSecret secret)
      : store_(slots, timeout_ms, per_source, secret) {}
  DatagramStore store_;
  uint16_t last_largest_ = 0;
};

// IPv4's face of the store.
class ReassemblyTable : public ReassemblyFace {
 public:
  static constexpr uint32_t kWays = DatagramStore::kWays;
  static constexpr uint32_t kMaxFragments = DatagramStore::kMaxFragments;
  static constexpr uint32_t kMaxDatagram = DatagramStore::kMaxDatagram;  // IP payload bytes
  static constexpr uint32_t kDefaultTimeoutMs = DatagramStore::kDefaultTimeoutMs;

  explicit ReassemblyTable(uint32_t slots = 256, uint32_t timeout_ms = kDefaultTimeoutMs, uint32_t per_source = 0,
                           HashSecret secret = boot_secret())
      : ReassemblyFace(slots, timeout_ms, per_source, secret) {}

  // One fragment: `ip` its IPv4 header (IHL bytes), `data`/`len` its payload.
  ReassemblyResult add(const uint8_t* ip, const uint8_t* data, uint16_t len, uint32_t now_ms);
  // After `complete`: writes the whole datagram (the first fragment's header,
  // offset and MF cleared, DF as the first fragment had it, length and
  // checksum fixed) into `out`; returns its length, or 0 when it does not fit
  // `cap` (the datagram is dropped either way: the slot is free again).
  size_t take(uint8_t* out, size_t cap);
};

}  // namespace wp
