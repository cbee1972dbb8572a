// libFuzzer target for IPv4 reassembly (ip/reassembly.h, ReassemblyTable).
//
// Fragments reach a worker from the WAN in any order, duplicated,
// overlapping, late or never; the table must absorb any sequence within its
// fixed memory. The input is a short script that cuts fragments out of one
// source datagram and feeds them, with a clock that only moves forward:
//
//   byte 0       table size: 4 << (b & 3) slots (one to eight buckets)
//   byte 1       timeout: 20 ms x (1 + b)
//   bytes 2-5    start of the clock, ms, big endian (so it also wraps)
//   byte 6       number of ops that follow
//   6 bytes/op   [0] bits 0-3 which of 16 datagrams (its IP id), bit 4 MF,
//                    bits 5-7 IHL = 20 + 4 x v (options are NOPs)
//                [1] clock advance before the fragment, 8 ms units
//                [2-3] flags/offset word: offset in 8-byte units, 0x4000 DF
//                [4-5] fragment length, 0..8191
//   the rest     the datagram payload the fragments are cut from (repeated
//                as far as the table can hold; datagram k starts 13 x k
//                bytes into it so datagrams differ)
//
// Checked: in_use() never exceeds capacity(); `malformed` and `too_big` are
// returned exactly when the fragment says so; a completed datagram is as long
// as the last fragment said (plus the first fragment's header), holds exactly
// the bytes that were cut, has MF and offset cleared, DF as the first
// fragment had it and a valid header checksum; and once the clock is past
// every timeout a full sweep leaves the table empty. make_corpus.py writes
// seeds in this format from datagrams captured by the e2e tests.
#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "dataplane/ip/checksum.h"
#include "dataplane/ip/packet.h"
#include "dataplane/ip/reassembly.h"

namespace {

void check(bool ok) {
  if (!ok) __builtin_trap();
}

constexpr size_t kHeaderBytes = 7;
constexpr size_t kOpBytes = 6;
constexpr uint32_t kDatagrams = 16;
constexpr uint32_t kShift = 13;

// The bytes of datagram k start at base + kShift x k; past kMaxDatagram the
// table refuses fragments (too_big) without reading them.
std::vector<uint8_t> source_bytes(const uint8_t* payload, size_t len) {
  std::vector<uint8_t> b(wp::ReassemblyTable::kMaxDatagram + kShift * kDatagrams, 0);
  if (len == 0) return b;
  size_t have = std::min(len, b.size());
  std::memcpy(b.data(), payload, have);
  for (; have < b.size(); have *= 2) std::memcpy(b.data() + have, b.data(), std::min(have, b.size() - have));
  return b;
}

// What the script has had accepted for one datagram key, most recent first:
// a completed datagram can only be made of fragments accepted since its slot
// was taken, and it needs its own first and last fragment for that.
struct Expect {
  uint32_t total = 0;  // end of the last accepted MF=0 fragment
  uint8_t ihl = 0;     // header length of the last accepted offset-0 fragment
  bool df = false;     // its DF bit
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < kHeaderBytes) return 0;
  const uint32_t slots = 4u << (data[0] & 3);
  const uint32_t timeout_ms = 20u * (1u + data[1]);
  uint32_t now = wp::load_be32(data + 2);
  size_t ops = data[6];
  if (ops > (size - kHeaderBytes) / kOpBytes) ops = (size - kHeaderBytes) / kOpBytes;
  const uint8_t* op = data + kHeaderBytes;
  const std::vector<uint8_t> source = source_bytes(op + ops * kOpBytes, size - kHeaderBytes - ops * kOpBytes);

  wp::ReassemblyTable table(slots, timeout_ms);
  check(table.capacity() == slots && table.in_use() == 0);
  std::array<Expect, kDatagrams> expect{};
  std::vector<uint8_t> frag(60 + 8192);
  std::vector<uint8_t> out(60 + wp::ReassemblyTable::kMaxDatagram);

  for (size_t i = 0; i < ops; ++i, op += kOpBytes) {
    const uint32_t k = op[0] & 0x0f;
    const bool more = op[0] & 0x10;
    const uint8_t ihl = static_cast<uint8_t>(20 + 4 * (op[0] >> 5));
    now += 8u * op[1];
    const uint16_t fo = static_cast<uint16_t>(wp::load_be16(op + 2) & 0x5fff) | (more ? 0x2000 : 0);
    const uint32_t off = (fo & 0x1fffu) * 8;
    const uint16_t len = wp::load_be16(op + 4) & 0x1fff;

    // The fragment as the dataplane hands it over: a valid header, its data.
    uint8_t* ip = frag.data();
    std::memset(ip, 1, ihl);  // NOP options
    ip[0] = static_cast<uint8_t>(0x40 | ihl / 4);
    ip[1] = 0;
    wp::store_be16(ip + 2, static_cast<uint16_t>(ihl + len));
    wp::store_be16(ip + 4, static_cast<uint16_t>(0x1000 + k));
    wp::store_be16(ip + 6, fo);
    ip[8] = 64;
    ip[9] = 17;
    wp::store_be16(ip + 10, 0);
    wp::store_be32(ip + 12, 0xac100001);
    wp::store_be32(ip + 16, 0xac100002);
    wp::store_be16(ip + 10, wp::ipv4_header_checksum(ip));
    uint8_t* body = ip + ihl;
    if (off + len <= wp::ReassemblyTable::kMaxDatagram) std::memcpy(body, source.data() + kShift * k + off, len);

    const uint32_t used_before = table.in_use();
    wp::ReassemblyResult r = table.add(ip, body, len, now);
    check(table.in_use() <= table.capacity());
    const bool malformed = len == 0 || (more && len % 8 != 0);
    check((r == wp::ReassemblyResult::malformed) == malformed);
    if (!malformed) check((r == wp::ReassemblyResult::too_big) == (off + len > wp::ReassemblyTable::kMaxDatagram));

    if (r == wp::ReassemblyResult::pending || r == wp::ReassemblyResult::complete) {
      if (!more) expect[k].total = off + len;
      if (off == 0) {
        expect[k].ihl = ihl;
        expect[k].df = fo & 0x4000;
      }
    }
    if (r == wp::ReassemblyResult::table_full) check(table.in_use() == used_before);
    if (r == wp::ReassemblyResult::complete) {
      const uint32_t used = table.in_use();
      // A small buffer on some ops: take() must refuse it and still free the slot.
      const size_t cap = (op[1] & 1) && expect[k].total > 8 ? expect[k].ihl + 8u : out.size();
      const size_t n = table.take(out.data(), cap);
      check(table.in_use() == used - 1);
      const size_t want = size_t{expect[k].ihl} + expect[k].total;
      if (cap < want) {
        check(n == 0);
      } else {
        check(n == want);
        check(table.last_largest_fragment() > 20 && table.last_largest_fragment() <= 60 + expect[k].total);
        check(out[0] == (0x40 | expect[k].ihl / 4) && wp::load_be16(out.data() + 2) == n);
        check(wp::load_be16(out.data() + 4) == 0x1000 + k);
        check(wp::load_be16(out.data() + 6) == (expect[k].df ? 0x4000 : 0));
        check(wp::load_be16(out.data() + 10) == wp::ipv4_header_checksum(out.data()));
        check(std::memcmp(out.data() + expect[k].ihl, source.data() + kShift * k, expect[k].total) == 0);
      }
    }
    (void)table.expire(now, 1);
    (void)table.take_timeouts();
  }
  // Past every datagram's deadline, one sweep over the whole table empties it.
  now += timeout_ms;
  (void)table.expire(now, table.capacity());
  check(table.in_use() == 0);
  return 0;
}
