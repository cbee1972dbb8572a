// IPv4 and IPv6 fragmentation; see ip/fragment.h.
#include "dataplane/ip/fragment.h"

#include <algorithm>
#include <cstring>

#include "dataplane/ip/checksum.h"
#include "dataplane/ip/ipv6.h"
#include "dataplane/ip/ipv6_cut.h"

namespace wp {
namespace {

void finish_header(uint8_t* ip, uint16_t total, uint16_t id, uint16_t flags_off) {
  store_be16(ip + 2, total);
  store_be16(ip + 4, id);
  store_be16(ip + 6, flags_off);
  store_be16(ip + 10, 0);
  store_be16(ip + 10, ipv4_header_checksum(ip));
}

}  // namespace

uint32_t fragment_ipv4(rte_mbuf* m, const ParsedPacket& pp, uint16_t mtu, uint16_t ip_id, rte_mbuf** out,
                       uint32_t cap) {
  uint8_t* d = rte_pktmbuf_mtod(m, uint8_t*);
  uint8_t* ip = d + pp.l3;
  const uint32_t ihl = pp.l4 - pp.l3;
  const uint32_t data = pp.end - pp.l4;
  const uint16_t orig = load_be16(ip + 6);
  const uint32_t base_off = (orig & 0x1fffu) * 8;
  const bool orig_more = orig & 0x2000;
  if (mtu < ihl + 8 || mtu < 28) return 0;
  const uint32_t first = (mtu - ihl) & ~7u;  // every fragment but the last carries a multiple of 8
  const uint32_t later = (mtu - 20u) & ~7u;
  uint32_t n = data <= first ? 1 : 1 + (data - first + later - 1) / later;
  if (n > cap) return 0;
  if (n > 1 && rte_pktmbuf_alloc_bulk(m->pool, out + 1, n - 1) != 0) return 0;
  out[0] = m;
  uint32_t off = first < data ? first : data;
  for (uint32_t i = 1; i < n; ++i) {
    uint32_t len = data - off < later ? data - off : later;
    rte_mbuf* f = out[i];
    uint8_t* fd = reinterpret_cast<uint8_t*>(rte_pktmbuf_append(f, static_cast<uint16_t>(pp.l3 + 20 + len)));
    if (fd == nullptr) {  // an MTU larger than the pool's mbufs: a config problem
      for (uint32_t k = 1; k < n; ++k) rte_pktmbuf_free(out[k]);
      return 0;
    }
    std::memcpy(fd, d, pp.l3 + 20u);
    fd[pp.l3] = 0x45;  // IHL 5: no options on later fragments
    std::memcpy(fd + pp.l3 + 20, d + pp.l4 + off, len);
    bool more = i + 1 < n || orig_more;
    finish_header(fd + pp.l3, static_cast<uint16_t>(20 + len), ip_id,
                  static_cast<uint16_t>((more ? 0x2000 : 0) | (base_off + off) / 8));
    f->port = m->port;
    off += len;
  }
  uint32_t first_len = first < data ? first : data;
  bool more = n > 1 || orig_more;
  finish_header(ip, static_cast<uint16_t>(ihl + first_len), ip_id,
                static_cast<uint16_t>((more ? 0x2000 : 0) | base_off / 8));
  uint16_t keep = static_cast<uint16_t>(pp.l3 + ihl + first_len);
  rte_pktmbuf_trim(m, static_cast<uint16_t>(m->pkt_len - keep));
  return n;
}

Fragment6Result fragment_ipv6(rte_mbuf* m, uint32_t mtu, uint32_t id, rte_mbuf** out, uint32_t cap) {
  uint8_t* f = rte_pktmbuf_mtod(m, uint8_t*);
  uint8_t hdr[kEthHdrLen + kIpv6HdrLen];
  std::memcpy(hdr, f, sizeof hdr);
  const uint8_t* ip = hdr + kEthHdrLen;
  const uint32_t payload = m->data_len - static_cast<uint32_t>(sizeof hdr);
  const Ipv6Cut cut = ipv6_cut(payload, mtu);
  const uint32_t n = cut.count;
  if (n < 2 || n > cap) return {Fragment6Status::too_big, 0};
  if (rte_pktmbuf_headroom(m) < kIpv6FragHdrLen) return {Fragment6Status::no_room, 0};
  out[0] = m;
  if (rte_pktmbuf_alloc_bulk(m->pool, out + 1, n - 1) != 0) return {Fragment6Status::no_mbuf, 0};
  const uint8_t next = ip[6];
  // The later fragments first, copied out of m's payload; then m becomes the first in place.
  for (uint32_t i = n - 1; i > 0; --i) {
    const uint32_t part = std::min(cut.chunk, payload - i * cut.chunk);
    auto* o = reinterpret_cast<uint8_t*>(
        rte_pktmbuf_append(out[i], static_cast<uint16_t>(sizeof hdr + kIpv6FragHdrLen + part)));
    if (!o) {  // an mbuf too small for one fragment: the MTU is beyond the pool's buffers
      rte_pktmbuf_free_bulk(out + 1, n - 1);
      return {Fragment6Status::too_big, 0};
    }
    std::memcpy(o, hdr, kEthHdrLen);
    uint32_t len = 0;
    const uint32_t off = ipv6_cut_header(o + kEthHdrLen, ip, cut, i, payload, next, id, len);
    std::memcpy(o + sizeof hdr + kIpv6FragHdrLen, f + sizeof hdr + off, len);
    out[i]->port = m->port;
    out[i]->hash = m->hash;
  }
  uint32_t part = 0;
  auto* o = reinterpret_cast<uint8_t*>(rte_pktmbuf_prepend(m, kIpv6FragHdrLen));  // the headroom was checked
  if (!o) {
    rte_pktmbuf_free_bulk(out + 1, n - 1);
    return {Fragment6Status::no_room, 0};
  }
  std::memcpy(o, hdr, kEthHdrLen);
  ipv6_cut_header(o + kEthHdrLen, ip, cut, 0, payload, next, id, part);
  rte_pktmbuf_trim(m, static_cast<uint16_t>(m->data_len - (sizeof hdr + kIpv6FragHdrLen + part)));
  return {Fragment6Status::ok, n};
}

}  // namespace wp
