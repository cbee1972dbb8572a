// IPv6's face of the reassembly store; see ip/ipv6_reassembly.h.
#include "dataplane/ip/ipv6_reassembly.h"

#include <cstring>

#include "dataplane/ip/packet.h"

namespace wp {
namespace {

// Offset of the Next Header byte naming the header that starts at `end`, in
// per-fragment headers the walk has checked (hop-by-hop, destination
// options, routing: all sized by their second byte).
uint32_t naming_byte(const uint8_t* hdr, uint32_t end) {
  uint32_t at = 6;
  for (uint32_t h = kIpv6HdrLen; h < end; h += (hdr[h + 1] + 1u) * 8) at = h;
  return at;
}

}  // namespace

ReassemblyResult Ipv6ReassemblyTable::add(const uint8_t* frame, const Ipv6View& v, uint32_t now_ms) {
  if (v.status != Ipv6Status::fragment || !v.frag.present || v.frag.atomic) return ReassemblyResult::not_fragment;
  const uint32_t data_at = v.frag.header + 8u;
  DatagramKey key{v.src, v.dst, v.frag.id, 0, 6};
  // The header kept runs through the fragment header: take() reads its Next Header, then drops it.
  FragmentPiece f{v.frag.offset,
                  static_cast<uint16_t>(v.end - data_at),
                  v.frag.more,
                  frame + data_at,
                  frame + v.l3,
                  static_cast<uint16_t>(data_at - v.l3),
                  static_cast<uint16_t>(v.end - v.l3)};
  return store_.add(key, f, now_ms);
}

size_t Ipv6ReassemblyTable::take(uint8_t* out, size_t cap) {
  DatagramStore::Whole w = store_.take();
  last_largest_ = w.largest;
  const uint32_t keep = w.hdr_len - 8u;  // without the fragment header
  const size_t n = keep + size_t{w.total};
  if (n > cap || n - kIpv6HdrLen > 0xffff) return 0;
  std::memcpy(out, w.hdr, keep);
  out[naming_byte(w.hdr, keep)] = w.hdr[keep];
  std::memcpy(out + keep, w.data, w.total);
  store_be16(out + 4, static_cast<uint16_t>(n - kIpv6HdrLen));
  return n;
}

}  // namespace wp
