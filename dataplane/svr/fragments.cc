// IPv4 fragments in and out of a worker (docs/svr-wire-format.md TLV 1; ip_fragment.h,
// ip_reassembly.h hold the mechanics, this file the policy).
//
// Receiving. Non-first fragments carry no ports, so the owner rule cannot
// place them. Every fragment of a datagram goes to the worker chosen by
// fragment_class(src, dst, proto, IP id) (handoff ring if that is not the
// receiving worker); that worker reassembles it, and the whole datagram is
// then dispatched by the normal owner rule, a second handoff if its session
// lives elsewhere. The same path takes fragments arriving on the LAN.
// Reassembly happens before the HMAC is checked and before decryption:
// the trailer and ciphertext are only whole in the whole datagram.
//
// Sending. A packet over the egress MTU is fragmented after sealing (the
// HMAC covers L4 and up, never the IP header, so the IP id and flags may
// change). DF set: a UDP datagram is fragmented anyway: the overhead is
// ours, not the host's, and a UDP application rarely does path MTU discovery,
// so refusing it would black-hole it (counted as frag_df_cleared; the egress
// puts DF back from TLV 1). A TCP segment with DF that is still too big after
// MSS clamping is dropped as mtu_exceeded (the host's own PMTUD is the
// remedy). Our WAN fragments get a fresh IP id from a per-worker sequence
// stepping by the worker count (no two workers share one), because every
// session between two waypoints shares src, dst and proto: hosts' own ids
// would collide in the peer's reassembly table. First (metadata) packets
// that will be fragmented carry TLV 1 with that id and the host's original id
// and flags; the egress router restores them.
#include <cstring>

#include "dataplane/crypto/session_data.h"
#include "dataplane/ip/checksum.h"
#include "dataplane/ip/fragment.h"
#include "dataplane/ip/packet_edit.h"
#include "dataplane/worker/worker.h"

namespace wp {

uint32_t Worker::next_fragment_id() {
  frag_seq_ += shared_.workers ? shared_.workers : 1;
  return frag_seq_;
}

bool Worker::take_fragment(rte_mbuf*& m, ParsedPacket& pp) {
  uint32_t owner = owner_of_class(fragment_class(fragment_key(pkt_data(m) + pp.l3)), shared_.workers);
  if (owner != id_) {
    hand_off(m, owner);  // the same backpressure and order as every other handoff
    return false;
  }
  m = reassemble(m, pp);
  return m != nullptr;
}

rte_mbuf* Worker::reassemble(rte_mbuf* m, ParsedPacket& pp) {
  uint8_t* d = pkt_data(m);
  auto res = frags_.add(d + pp.l3, d + pp.l4, static_cast<uint16_t>(pp.end - pp.l4), now_ms_);
  if (uint32_t t = frags_.take_timeouts()) counters_->drop(DropReason::frag_timeout, t);
  switch (res) {
    case ReassemblyResult::pending:
      counters_->add(Counter::fragments_received);
      rte_pktmbuf_free(m);
      return nullptr;
    case ReassemblyResult::complete: break;
    case ReassemblyResult::duplicate: drop(m, DropReason::frag_duplicate); return nullptr;
    case ReassemblyResult::overlap: drop(m, DropReason::frag_overlap); return nullptr;
    case ReassemblyResult::too_many: drop(m, DropReason::frag_too_many); return nullptr;
    case ReassemblyResult::too_big: drop(m, DropReason::frag_too_big); return nullptr;
    case ReassemblyResult::table_full: drop(m, DropReason::frag_table_full); return nullptr;
    case ReassemblyResult::malformed: drop(m, DropReason::frag_malformed); return nullptr;
  }
  counters_->add(Counter::fragments_received);
  // The last fragment's mbuf carries the datagram: its data is in the table by now.
  uint8_t l2[kEthHdrLen];
  std::memcpy(l2, d, kEthHdrLen);
  m->data_off = RTE_PKTMBUF_HEADROOM;
  d = pkt_data(m);
  size_t room = m->buf_len - RTE_PKTMBUF_HEADROOM - kEthHdrLen;
  size_t n = frags_.take(d + kEthHdrLen, room);
  if (n == 0) {
    drop(m, DropReason::frag_too_big);
    return nullptr;
  }
  std::memcpy(d, l2, kEthHdrLen);
  m->data_len = static_cast<uint16_t>(kEthHdrLen + n);
  m->pkt_len = m->data_len;
  pp = parse_packet(d, m->data_len);
  if (pp.status != ParseStatus::ipv4) {
    drop(m, DropReason::parse_error);
    return nullptr;
  }
  counters_->add(Counter::datagrams_reassembled);
  return m;
}

void Worker::age_fragments() {
  if (frags_.in_use() == 0) return;
  if (uint32_t n = frags_.expire(now_ms_, 32)) counters_->drop(DropReason::frag_timeout, n);
}

bool Worker::fragment_tlv_due(const ParsedPacket& pp, const SideOut& out, size_t block_len, bool encrypt) const {
  // What sealing adds (crypto_edit.h): IV and up to a block of padding when
  // encrypted, and the HMAC trailer. Erring large only costs a TLV.
  size_t sealed = size_t{pp.end} - pp.l3 + block_len + kFragmentTlvLen + kHmacTagLen + (encrypt ? 32 : 0);
  return sealed > model().interfaces[out.iface].mtu;
}

FragmentInfo Worker::reserve_fragment_id(rte_mbuf* m, const ParsedPacket& pp) {
  uint8_t* ip = pkt_data(m) + pp.l3;
  FragmentInfo f;
  f.extended_id = next_fragment_id();
  f.original_ip_id = load_be16(ip + 4);
  f.flags_offset = load_be16(ip + 6);
  f.largest_fragment = static_cast<uint16_t>(pp.end - pp.l3);
  store_be16(ip + 4, static_cast<uint16_t>(f.extended_id));  // the header checksum is redone at signing
  counters_->add(Counter::fragment_tlv_sent);
  return f;
}

void Worker::restore_fragment_header(rte_mbuf* m, const ParsedPacket& pp, const FragmentInfo& f) {
  uint8_t* ip = pkt_data(m) + pp.l3;
  uint16_t id = load_be16(ip + 4), fo = load_be16(ip + 6);
  // A whole datagram by now: only the id and DF come back, never MF/offset.
  uint16_t new_fo = static_cast<uint16_t>((fo & ~0x4000) | (f.flags_offset & 0x4000));
  uint16_t check = load_be16(ip + 10);
  check = csum_update16(check, id, f.original_ip_id);
  check = csum_update16(check, fo, new_fo);
  store_be16(ip + 4, f.original_ip_id);
  store_be16(ip + 6, new_fo);
  store_be16(ip + 10, check);
  counters_->add(Counter::fragment_tlv_restored);
}

void Worker::transmit_sized(rte_mbuf* m, const ParsedPacket& pp, int iface, Ipv4 next_hop, bool id_reserved) {
  uint16_t mtu = model().interfaces[iface].mtu;
  if (pp.end - pp.l3 <= mtu) [[likely]]
    return transmit(m, iface, next_hop);
  uint8_t* ip = pkt_data(m) + pp.l3;
  if (load_be16(ip + 6) & 0x4000) {
    if (pp.proto == kProtoTcp) return drop(m, DropReason::mtu_exceeded);
    counters_->add(Counter::frag_df_cleared);
  }
  uint16_t id = id_reserved ? load_be16(ip + 4) : static_cast<uint16_t>(next_fragment_id());
  rte_mbuf* out[kMaxTxFragments];
  uint32_t n = fragment_ipv4(m, pp, mtu, id, out, kMaxTxFragments);
  if (n == 0) return drop(m, DropReason::frag_no_mbuf);
  counters_->add(Counter::packets_fragmented);
  counters_->add(Counter::fragments_sent, n);
  for (uint32_t i = 0; i < n; ++i) transmit(out[i], iface, next_hop);
}

// A TCP segment with DF that will not fit the WAN leg once sealed: the
// sender learns the MTU it may use (ICMP type 3 code 4, RFC 1191: the
// next-hop MTU less our worst-case per-packet overhead) instead of a silent
// drop. Only towards a sender on a LAN leg: one behind another waypoint
// would get it from the wrong addresses, so that case stays a counted drop.
bool Worker::refuse_oversize_tcp(rte_mbuf* m, const ParsedPacket& pp, const Session& s, Dir dir, const SideOut& out,
                                 bool need_md) {
  const uint8_t* ip = pkt_data(m) + pp.l3;
  if (pp.proto != kProtoTcp || need_md || !(load_be16(ip + 6) & 0x4000) || !(s.crypto & kCryptoHmacAll)) return false;
  const uint16_t mtu = model().interfaces[out.iface].mtu;
  const uint16_t extra = (s.crypto & kCryptoEncrypt) ? kCryptoOverhead : kSeqLen + kHmacTagLen;
  if (pp.end - pp.l3 + extra <= mtu) return false;
  const SideOut& back = dir == Dir::forward ? s.out_rev : s.out_fwd;
  rte_mbuf* c = back.peer < 0 ? rte_pktmbuf_alloc(m->pool) : nullptr;
  const uint16_t quote = static_cast<uint16_t>(pp.l4 - pp.l3 + 8);  // RFC 792: IP header + 64 bits
  auto* f = c ? reinterpret_cast<uint8_t*>(rte_pktmbuf_append(c, kEthHdrLen + 20 + 8 + quote)) : nullptr;
  if (f == nullptr) {
    if (c) rte_pktmbuf_free(c);
    drop(m, DropReason::mtu_exceeded);
    return true;
  }
  std::memset(f, 0, kEthHdrLen + 20 + 8);
  uint8_t* rip = f + kEthHdrLen;
  rip[0] = 0x45;
  store_be16(rip + 2, static_cast<uint16_t>(20 + 8 + quote));
  rip[8] = 64;
  rip[9] = kProtoIcmp;
  store_be32(rip + 12, model().interfaces[back.iface].addr);
  store_be32(rip + 16, pp.src);
  store_be16(rip + 10, ipv4_header_checksum(rip));
  uint8_t* icmp = rip + 20;
  icmp[0] = 3;  // destination unreachable
  icmp[1] = 4;  // fragmentation needed and DF set
  store_be16(icmp + 6, static_cast<uint16_t>(mtu - extra));
  std::memcpy(icmp + 8, ip, quote);
  store_be16(icmp + 2, csum_fold(csum_partial(icmp, 8u + quote)));
  counters_->add(Counter::icmp_frag_needed_sent);
  transmit(c, back.iface, back.next_hop);
  drop(m, DropReason::mtu_exceeded);
  return true;
}

}  // namespace wp
