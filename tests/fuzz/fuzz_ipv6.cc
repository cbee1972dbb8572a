// libFuzzer target for the IPv6 header walk (ip/ipv6.h, parse_ipv6_packet)
// and IPv6 reassembly (ip/ipv6_reassembly.h, Ipv6ReassemblyTable).
//
// Any bytes may arrive as an IPv6 datagram: the walk must stay inside them
// and bound its work, and whatever it calls a fragment the table must absorb
// within its fixed memory. The input is a stream of datagrams with a clock
// that only moves forward:
//
//   byte 0       table size: 4 << (b & 3) slots (one to eight buckets)
//   byte 1       timeout: 20 ms x (1 + b)
//   then records [0] clock advance, 8 ms units
//                [1-2] datagram length, big endian (cut to what is left)
//                then the datagram, from its IPv6 header
//
// Checked: every offset of an accepted view lies inside the datagram and
// agrees with the header bytes (the Next Header byte names the protocol,
// the extension headers add up to where the upper layer starts, limits
// hold); atomic fragments are whole packets; the table returns `malformed`
// exactly when the fragment says so, never holds more than its capacity; a
// reassembled datagram has a payload length that matches and parses as IPv6
// again; once the clock is past every timeout a full sweep empties the table.
// Neighbor Discovery (ip/ndp.h): an NS/NA that the walk accepts is parsed on
// exactly its bytes, and an accepted one has a unicast target. NAT64
// (ip/nat64_packet.h): a TCP/UDP/ICMPv6 packet the walk accepts is translated
// to IPv4 in a copy and must parse as that IPv4 packet, inside the copy.
// The NAT64 worker's fragment path (worker/nat64_step.h § Fragments): a
// reassembled datagram is taken into a buffer the size of the worker's flat
// one behind an Ethernet header, parsed there, translated in place, and cut
// into IPv4 fragments (ip/ipv4_cut.h) for a 1500- and a 576-byte MTU; fed to
// the IPv4 reassembly table last first, the fragments must give back the
// translated datagram byte for byte (DF clear, the same id).
// The IPv6 fragments NAT64 sends clients (ip/ipv6_cut.h): a whole packet the
// walk accepts without extension headers is cut for a 1280- and a 600-byte
// MTU; fed to an IPv6 reassembly table last first, the fragments must give
// back the packet byte for byte.
// make_corpus.py writes seeds in this format (ipv6_seeds).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "dataplane/ip/ipv4_cut.h"
#include "dataplane/ip/ipv6_cut.h"
#include "dataplane/ip/ipv6.h"
#include "dataplane/ip/ipv6_reassembly.h"
#include "dataplane/ip/nat64_packet.h"
#include "dataplane/ip/ndp.h"
#include "dataplane/ip/packet.h"
#include "dataplane/ip/reassembly.h"

namespace {

void check(bool ok) {
  if (!ok) __builtin_trap();
}

void check_view(const std::vector<uint8_t>& d, const wp::Ipv6View& v) {
  if (v.status != wp::Ipv6Status::ok && v.status != wp::Ipv6Status::fragment) return;
  check(v.l3 == 0 && v.end <= d.size() && v.end >= wp::kIpv6HdrLen);
  check(v.l4 <= v.end && v.payload >= v.l4 && v.payload <= v.end);
  check(v.ext_headers <= wp::Ipv6View::kMaxExtHeaders && v.ext_bytes <= wp::Ipv6View::kMaxExtBytes);
  check(v.l4 == wp::kIpv6HdrLen + v.ext_bytes);
  check(v.next_at < v.l4 && d[v.next_at] == v.proto);
  check(v.frag.atomic == (v.frag.present && v.frag.offset == 0 && !v.frag.more));
  check((v.status == wp::Ipv6Status::fragment) == (v.frag.present && !v.frag.atomic));
  if (v.frag.present) check(v.frag.header + 8u <= v.l4 && d[v.frag.header] == v.frag.next);
}

void check_nd(const std::vector<uint8_t>& d, const wp::Ipv6View& v) {
  if (v.status != wp::Ipv6Status::ok || v.proto != wp::kProtoIcmpv6) return;
  const uint8_t type = d[v.l4];
  if (type != wp::kNdNeighborSolicit && type != wp::kNdNeighborAdvert) return;
  std::vector<uint8_t> icmp(d.begin() + v.l4, d.begin() + v.end);  // exact size
  wp::NdMessage nd;
  wp::NdStatus st = wp::parse_nd(icmp.data(), static_cast<uint32_t>(icmp.size()), v.src, v.dst, v.hop_limit, nd);
  if (st == wp::NdStatus::ok) check(!nd.target.is_multicast() && nd.type == type);
  (void)wp::icmpv6_checksum(v.src, v.dst, icmp.data(), static_cast<uint32_t>(icmp.size()));
}

// Translated in a copy that starts 14 bytes before the IPv6 header (the
// Ethernet header's place), so the result is an Ethernet frame.
void check_nat64(const std::vector<uint8_t>& d, const wp::Ipv6View& v) {
  if (v.status != wp::Ipv6Status::ok) return;
  std::vector<uint8_t> f(wp::kEthHdrLen + v.end, 0);
  std::copy(d.begin(), d.begin() + v.end, f.begin() + wp::kEthHdrLen);
  wp::Ipv6View fv = wp::parse_ipv6_packet(f.data(), static_cast<uint32_t>(f.size()), wp::kEthHdrLen);
  check(fv.status == wp::Ipv6Status::ok && fv.l4 == v.l4 + wp::kEthHdrLen);
  wp::Nat64Result r = wp::nat64_6to4(f.data(), fv, 0xc0000201, 0x0a02000a, 40000, 1);
  if (r.verdict != wp::Nat64Verdict::ok) return;
  check(r.shift >= 0 && r.shift + r.len <= static_cast<int32_t>(f.size()));
  wp::ParsedPacket pp = wp::parse_packet(f.data() + r.shift, r.len);
  check(pp.status == wp::ParseStatus::ipv4 && pp.src == 0xc0000201 && pp.dst == 0x0a02000a && pp.end == r.len);
}

void check_whole(const uint8_t* out, size_t n) {
  check(n >= wp::kIpv6HdrLen && out[0] >> 4 == 6 && wp::load_be16(out + 4) == n - wp::kIpv6HdrLen);
  std::vector<uint8_t> again(out, out + n);
  check(wp::parse_ipv6_packet(again.data(), static_cast<uint32_t>(n), 0).status != wp::Ipv6Status::malformed);
}

// The worker's flat buffer (Nat64Step::kFlatBytes): Ethernet, then the largest datagram the table gives.
constexpr size_t kFlatBytes = wp::kEthHdrLen + wp::DatagramStore::kMaxHeader + wp::DatagramStore::kMaxDatagram;

// A reassembled datagram (`n` bytes at `whole`) down the NAT64 fragment path.
void check_translate_and_cut(const uint8_t* whole, size_t n) {
  std::vector<uint8_t> f(kFlatBytes, 0);
  check(wp::kEthHdrLen + n <= f.size());
  std::copy(whole, whole + n, f.begin() + wp::kEthHdrLen);
  const wp::Ipv6View v = wp::parse_ipv6_packet(f.data(), static_cast<uint32_t>(wp::kEthHdrLen + n), wp::kEthHdrLen);
  if (v.status != wp::Ipv6Status::ok) return;
  const uint16_t id = 0x4242;
  const wp::Nat64Result r = wp::nat64_6to4(f.data(), v, 0xc0000201, 0x0a02000a, 40000, id);
  if (r.verdict != wp::Nat64Verdict::ok) return;
  check(r.shift >= 0 && static_cast<size_t>(r.shift) + r.len <= wp::kEthHdrLen + n);
  const uint8_t* ip = f.data() + r.shift + wp::kEthHdrLen;
  const uint32_t payload = r.len - wp::kEthHdrLen - 20u;
  for (uint32_t mtu : {1500u, 576u}) {
    const wp::Ipv4Cut cut = wp::ipv4_cut(payload, mtu);
    check(cut.count >= 1 && cut.chunk % 8 == 0 && cut.chunk + 20 <= mtu);
    if (cut.count == 1 || cut.count > wp::ReassemblyTable::kMaxFragments) continue;
    wp::ReassemblyTable t(4, 1000);
    std::vector<uint8_t> frag(20 + cut.chunk), out(20 + wp::ReassemblyTable::kMaxDatagram);
    size_t got = 0;
    for (uint32_t i = cut.count; i-- > 0;) {  // last first
      std::copy(ip, ip + 20, frag.begin());
      uint32_t len = 0;
      const uint32_t off = wp::ipv4_cut_header(frag.data(), cut, i, payload, len);
      check(len > 0 && off + len <= payload && (i + 1 == cut.count || len == cut.chunk));
      check(wp::ipv4_header_checksum_ok(frag.data()) && (wp::load_be16(frag.data() + 6) & 0x4000) == 0);
      std::copy(ip + 20 + off, ip + 20 + off + len, frag.begin() + 20);
      const wp::ReassemblyResult res = t.add(frag.data(), frag.data() + 20, static_cast<uint16_t>(len), 0);
      check(res == (i == 0 ? wp::ReassemblyResult::complete : wp::ReassemblyResult::pending));
      if (res == wp::ReassemblyResult::complete) got = t.take(out.data(), out.size());
    }
    check(got == 20u + payload && wp::load_be16(out.data() + 4) == id && wp::load_be16(out.data() + 6) == 0);
    check(std::equal(ip + 20, ip + 20 + payload, out.begin() + 20) && std::equal(ip + 12, ip + 20, out.begin() + 12));
  }
}

void check_cut6(const std::vector<uint8_t>& d, const wp::Ipv6View& v) {
  if (v.status != wp::Ipv6Status::ok || v.l4 != wp::kIpv6HdrLen) return;
  const uint32_t payload = v.end - wp::kIpv6HdrLen;
  for (uint32_t mtu : {1280u, 600u}) {
    const wp::Ipv6Cut cut = wp::ipv6_cut(payload, mtu);
    check(cut.count >= 1 && cut.chunk % 8 == 0 && cut.chunk + 48 <= mtu);
    if (cut.count == 1 || cut.count > wp::Ipv6ReassemblyTable::kMaxFragments ||
        payload > wp::Ipv6ReassemblyTable::kMaxDatagram)
      continue;
    wp::Ipv6ReassemblyTable t(4, 1000);
    std::vector<uint8_t> out(wp::DatagramStore::kMaxHeader + wp::DatagramStore::kMaxDatagram);
    size_t got = 0;
    for (uint32_t i = cut.count; i-- > 0;) {  // last first
      const uint32_t len = std::min(cut.chunk, payload - i * cut.chunk);
      std::vector<uint8_t> frag(48 + len);  // exact size
      uint32_t n = 0;
      const uint32_t off = wp::ipv6_cut_header(frag.data(), d.data(), cut, i, payload, d[6], 0x5151u, n);
      check(n == len && off + len <= payload && (i + 1 == cut.count || len == cut.chunk));
      std::copy(d.begin() + 40 + off, d.begin() + 40 + off + len, frag.begin() + 48);
      const wp::Ipv6View fv = wp::parse_ipv6_packet(frag.data(), static_cast<uint32_t>(frag.size()), 0);
      check(fv.status == wp::Ipv6Status::fragment && fv.frag.offset == off && fv.frag.more == (i + 1 < cut.count));
      const wp::ReassemblyResult res = t.add(frag.data(), fv, 0);
      check(res == (i == 0 ? wp::ReassemblyResult::complete : wp::ReassemblyResult::pending));
      if (res == wp::ReassemblyResult::complete) got = t.take(out.data(), out.size());
    }
    check(got == v.end && std::equal(d.begin(), d.begin() + v.end, out.begin()));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  wp::Ipv6ReassemblyTable table(4u << (data[0] & 3), 20u * (1u + data[1]));
  const uint32_t timeout_ms = 20u * (1u + data[1]);
  uint32_t now = 0;
  std::vector<uint8_t> out(wp::DatagramStore::kMaxHeader + wp::DatagramStore::kMaxDatagram);
  size_t pos = 2;
  while (size - pos >= 3) {
    now += 8u * data[pos];
    size_t len = wp::load_be16(data + pos + 1);
    pos += 3;
    if (len > size - pos) len = size - pos;
    std::vector<uint8_t> d(data + pos, data + pos + len);  // exact size: ASan sees any overread
    pos += len;
    wp::Ipv6View v = wp::parse_ipv6_packet(d.data(), static_cast<uint32_t>(d.size()), 0);
    check_view(d, v);
    check_nd(d, v);
    check_nat64(d, v);
    check_cut6(d, v);
    if (v.status != wp::Ipv6Status::fragment) continue;
    const uint32_t frag_len = v.end - (v.frag.header + 8u);
    wp::ReassemblyResult r = table.add(d.data(), v, now);
    check(table.in_use() <= table.capacity());
    check((r == wp::ReassemblyResult::malformed) == (frag_len == 0 || (v.frag.more && frag_len % 8 != 0)));
    if (r == wp::ReassemblyResult::complete) {
      size_t n = table.take(out.data(), out.size());
      check(n > 0);
      check_whole(out.data(), n);
      check_translate_and_cut(out.data(), n);
    }
    (void)table.expire(now, 1);
    (void)table.take_timeouts();
  }
  now += timeout_ms;
  (void)table.expire(now, table.capacity());
  check(table.in_use() == 0);
  return 0;
}
