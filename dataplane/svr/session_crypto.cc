// Session data encryption and the per-packet HMAC on the fast path
// (docs/svr-wire-format.md § Security). Layout: crypto_edit.h; replay: replay_window.h.
//
// Who decides. The ingress router decides, from its policy, whether the
// session's data is encrypted. With `adaptive`, the decision needs the
// session's first data: a UDP first packet has it; a TCP session is
// *pending* until its first forward data segment (normally a TLS
// ClientHello). Every metadata packet says whether its own data is
// encrypted (TLV 11 present: yes). Both routers keep metadata flowing while a
// session is pending: the egress router withholds the handshake ack (TLV 18)
// until a forward metadata packet with data told it the decision, so the
// ingress router keeps forward metadata on, and the egress keeps reverse
// metadata on until a forward packet comes without metadata. Hence every
// packet sent before both routers know the decision is a metadata packet
// that says what it is, and every packet after follows the session decision.
// While pending, the egress router encrypts reverse data if its own policy
// encrypts (server-first protocols never leave in clear by accident).
//
// Keys: one KeySlab slot per WAN side, HKDF-derived at session start
// (crypto_keys.h). Metadata packets are signed with the pair key; every
// other packet of a session with per-packet HMAC is signed with the session
// key and carries a sequence number. Encrypted sessions always HMAC every
// packet (encrypt-then-MAC: CBC without a MAC is malleable).
#include <cstring>

#include "dataplane/crypto/adaptive.h"
#include "dataplane/ip/packet_edit.h"
#include "dataplane/worker/worker.h"

namespace wp {
namespace {

constexpr int kSideA = 0, kSideB = 1;
int leaving_side(Dir d) { return d == Dir::forward ? kSideB : kSideA; }
int arriving_side(Dir d) { return d == Dir::forward ? kSideA : kSideB; }

}  // namespace

bool Worker::start_session_crypto(Session& s, const ParsedPacket& pp, const Metadata* md, DropReason& why) {
  const SecurityModel& sec = model().security[s.security];
  uint8_t c = 0;
  if (md == nullptr) {  // ingress: our policy decides
    // Adaptive: pending until data is seen; a UDP first packet settles it
    // right away in emit() (decide_adaptive).
    if (sec.encrypt) c |= sec.adaptive ? kCryptoPending : kCryptoEncrypt;
  } else {  // egress / transit: the sender's TLV 11, and our policy while undecided
    uint32_t trailer = kHmacTagLen;
    int rest = pp.payload_len() - static_cast<int>(md->block_len()) - static_cast<int>(trailer);
    if (md->session_data_encrypted) {
      c |= kCryptoEncrypt;
    } else if (sec.encrypt) {
      c |= rest > 0 ? kCryptoAdaptiveSkip : kCryptoPending;
    }
  }
  if (sec.encrypt || sec.hmac_every_packet || (c & kCryptoEncrypt)) c |= kCryptoHmacAll;
  s.crypto = c;
  s.key_slot[kSideA] = s.key_slot[kSideB] = kNoKeySlot;
  if (!(c & kCryptoHmacAll)) return true;
  for (int side = kSideA; side <= kSideB; ++side) {
    const SideOut& o = side == kSideA ? s.out_rev : s.out_fwd;
    if (o.peer < 0) continue;
    uint32_t slot = keys_.allocate();
    if (slot == kNoKeySlot) {
      end_session_crypto(s);
      why = DropReason::key_slab_full;
      return false;
    }
    s.key_slot[side] = slot;
    derive_session_keys(crypto_, model().peers[o.peer].session_prk, s.uuid, keys_.at(slot));
  }
  if (c & kCryptoEncrypt) counters_->add(Counter::sessions_encrypted);
  if (c & kCryptoAdaptiveSkip) counters_->add(Counter::sessions_adaptive_skip);
  return true;
}

void Worker::end_session_crypto(Session& s) {
  for (uint32_t& slot : s.key_slot) {
    if (slot != kNoKeySlot) keys_.release(slot);
    slot = kNoKeySlot;
  }
}

void Worker::remove_session(Session* s) {
  end_session_crypto(*s);
  table_.remove(s);
}

void Worker::adopt_peer_crypto(Session& s, const uint32_t kept[2]) {
  // The derivation is a pure function of (pair key, UUID), so the keys are
  // the peer's without syncing key material. Sequence numbers are not
  // synced: start far ahead of the packets the peer had sent (the session's
  // synced counters), so the far end's replay window accepts them.
  constexpr uint32_t kTakeoverSeqJump = 1u << 24;
  for (int side = kSideA; side <= kSideB; ++side) {
    s.key_slot[side] = kept[side];
    const SideOut& o = side == kSideA ? s.out_rev : s.out_fwd;
    if (kept[side] != kNoKeySlot || o.peer < 0 || !(s.crypto & kCryptoHmacAll)) continue;
    uint32_t slot = keys_.allocate();
    if (slot == kNoKeySlot) continue;  // packets of this session then leave unsealed and are refused
    s.key_slot[side] = slot;
    SessionKeys& k = keys_.at(slot);
    derive_session_keys(crypto_, model().peers[o.peer].session_prk, s.uuid, k);
    uint64_t sent = s.packets[side == kSideB ? 0 : 1];  // forward packets leave on B
    k.tx_seq = static_cast<uint32_t>(sent) + kTakeoverSeqJump;
  }
}

void Worker::on_session_expired(void* ctx, Session& s) { static_cast<Worker*>(ctx)->end_session_crypto(s); }

void Worker::decide_adaptive(Session& s, const ParsedPacket& pp, const uint8_t* data, uint16_t len) {
  s.crypto = static_cast<uint8_t>(s.crypto & ~kCryptoPending);
  if (looks_encrypted(s.original.proto, s.original.sport, s.original.dport, data, len)) {
    s.crypto |= kCryptoAdaptiveSkip;
    counters_->add(Counter::sessions_adaptive_skip);
  } else {
    s.crypto |= kCryptoEncrypt;
    counters_->add(Counter::sessions_encrypted);
  }
}

void Worker::clamp_session_mss(rte_mbuf* m, ParsedPacket& pp, const Session& s) {
  const SideOut& wan = s.side_b_wan() ? s.out_fwd : s.out_rev;
  if (wan.peer < 0) return;
  int extra = kCryptoOverhead;
  if (s.crypto & kCryptoPending) {
    // Adaptive: the handshake runs into the first data segments (both ways),
    // which then carry metadata too. Leave room for the larger, forward,
    // block: context, UUID, five names, TLV 11 and 18 (add_metadata).
    const RouterModel& rm = model();
    size_t names = rm.tenants[s.tenant].size() + rm.services[s.service].name.size() + rm.name.size() +
                   rm.peers[wan.peer].name.size() + rm.security[s.security].name.size();
    extra += static_cast<int>(kMetadataHeaderLen + 4 + 13 + 4 + 16 + 5 * 4 + names + 4 + 4);
    extra += 32;  // the peer's names may be longer than ours
  }
  int mss = model().interfaces[wan.iface].mtu - 20 - 20 - extra;
  if (mss < 536) mss = 536;  // RFC 9293 default; an MTU that small is a config problem
  if (clamp_mss(m, pp, static_cast<uint16_t>(mss))) counters_->add(Counter::mss_clamped);
}

bool Worker::encrypts_now(Session& s, const ParsedPacket& pp, Dir dir) {
  if (pp.payload_len() == 0 || !keys_of(s, leaving_side(dir))) return false;
  if (s.crypto & kCryptoEncrypt) return true;
  // Egress while pending: encrypt (reverse) data if our own policy encrypts.
  return (s.crypto & kCryptoPending) && model().security[s.security].encrypt;
}

bool Worker::seal_session_packet(rte_mbuf* m, ParsedPacket& pp, Session& s, Dir dir, const SideOut& out, size_t md_len,
                                 bool need_md, bool encrypt, bool frag_id_reserved) {
  SessionKeys* keys = keys_of(s, leaving_side(dir));
  SealLayout layout;
  uint16_t seq_len = need_md ? 0 : kSeqLen;
  if (!prepare_seal(m, pp, static_cast<uint16_t>(md_len), encrypt, seq_len, layout)) {
    drop(m, DropReason::no_buffer_room);
    return false;
  }
  if (layout.iv) ivs_.next(layout.iv);
  if (layout.seq) store_be32(layout.seq, ++keys->tx_seq);  // keys: seq only without metadata, see emit()
  counters_->add(Counter::fast_path_packets);
  counters_->add(Counter::fast_path_bytes, pp.end - pp.l3);
  counters_->add(Counter::packets_sealed);
  if (layout.cipher_len) counters_->add(Counter::packets_encrypted);
  const HmacKey& mac = need_md ? model().peers[out.peer].key : keys->mac;
  // Over the MTU now? Fragmented after signing (transmit_sized).
  queue_for_signing(m, pp, mac, out.iface, out.next_hop, layout.cipher_len ? &keys->aes : nullptr, layout,
                    frag_id_reserved);
  return true;
}

void Worker::queue_for_opening(rte_mbuf* m, const ParsedPacket& pp, Session& s, Dir dir, bool bare) {
  SessionKeys* keys = keys_of(s, arriving_side(dir));
  uint16_t md_len = bare ? kMetadataHeaderLen : 0;
  SealLayout layout;
  if (!keys || !open_layout(m, pp, md_len, kSeqLen + kHmacTagLen, kSeqLen, (s.crypto & kCryptoEncrypt) != 0, layout))
    return drop(m, DropReason::crypto_short);
  if (open_count_ == kMaxBurst) open_pending();
  open_queue_[open_count_++] = PendingOpen{m, pp, &s, s.uuid, layout, dir, bare};
}

void Worker::open_pending() {
  uint32_t n = open_count_;
  open_count_ = 0;
  if (n == 0) return;
  CryptoOp ops[kMaxBurst];
  for (uint32_t i = 0; i < n; ++i) {
    PendingOpen& p = open_queue_[i];
    SessionKeys& k = *keys_of(*p.s, arriving_side(p.dir));
    uint8_t* d = pkt_data(p.m);
    // The HMAC covers the L4 header with a zeroed checksum; finish_open()
    // recomputes the checksum afterwards.
    uint8_t* check = d + p.pp.l4 + (p.pp.proto == kProtoTcp ? 16 : 6);
    check[0] = check[1] = 0;
    CryptoOp& op = ops[i];
    op.msg = d + p.pp.l4;
    op.hash_len = static_cast<uint32_t>(p.pp.end - kHmacTagLen - p.pp.l4);
    op.cipher_off = p.layout.cipher_off;
    op.cipher_len = p.layout.cipher_len;
    op.iv = p.layout.iv;
    op.aes = p.layout.cipher_len ? &k.aes : nullptr;
    op.mac = &k.mac;
    op.tag = d + p.pp.end - kHmacTagLen;
  }
  crypto_.open_burst(ops, n);
  for (uint32_t i = 0; i < n; ++i) {
    PendingOpen& p = open_queue_[i];
    if (!p.s->in_use || p.s->uuid != p.uuid) {
      drop(p.m, DropReason::session_closed);
      continue;
    }
    if (!ops[i].ok) {
      drop(p.m, DropReason::bad_packet_hmac);
      continue;
    }
    SessionKeys& k = *keys_of(*p.s, arriving_side(p.dir));
    if (!replay_accept(k.rx, load_be32(p.layout.seq))) {
      drop(p.m, DropReason::replayed);
      continue;
    }
    uint16_t md_len = p.bare ? kMetadataHeaderLen : 0;
    if (!finish_open(p.m, p.pp, md_len, kSeqLen + kHmacTagLen, p.layout)) {
      drop(p.m, DropReason::bad_padding);
      continue;
    }
    counters_->add(Counter::packets_opened);
    if (p.layout.cipher_len) counters_->add(Counter::packets_decrypted);
    continue_wan(p.m, p.pp, *p.s, p.dir, p.bare);
  }
}

bool Worker::decrypt_metadata_data(rte_mbuf* m, ParsedPacket& pp, Session& s, Dir dir) {
  SessionKeys* keys = keys_of(s, arriving_side(dir));
  SealLayout layout;
  if (!keys || !open_layout(m, pp, 0, 0, 0, true, layout)) {
    drop(m, DropReason::crypto_short);
    return false;
  }
  if (layout.cipher_len == 0) return true;
  CryptoOp op;
  op.msg = pkt_data(m) + pp.l4;
  op.cipher_off = layout.cipher_off;
  op.cipher_len = layout.cipher_len;
  op.iv = layout.iv;
  op.aes = &keys->aes;
  op.mac = nullptr;  // the pair-key HMAC over the whole packet already verified
  if (crypto_.open_burst(&op, 1) != 0) {
    drop(m, DropReason::crypto_error);
    return false;
  }
  if (!finish_open(m, pp, 0, 0, layout)) {
    drop(m, DropReason::bad_padding);
    return false;
  }
  counters_->add(Counter::packets_decrypted);
  return true;
}

void Worker::learn_crypto_decision(Session& s, const Metadata& md, int data_len) {
  if (md.session_data_encrypted) {
    s.crypto = static_cast<uint8_t>((s.crypto & ~kCryptoPending) | kCryptoEncrypt);
    counters_->add(Counter::sessions_encrypted);
  } else if (data_len > 0) {
    s.crypto = static_cast<uint8_t>((s.crypto & ~kCryptoPending) | kCryptoAdaptiveSkip);
    counters_->add(Counter::sessions_adaptive_skip);
  }
}

void Worker::continue_wan(rte_mbuf* m, ParsedPacket& pp, Session& s, Dir dir, bool bare) {
  // A forward packet without metadata ends reverse metadata on this leg.
  if (dir == Dir::forward) s.flags &= static_cast<uint8_t>(~kRevMdPending);
  if (bare) {
    strip_at_payload(m, pp, kMetadataHeaderLen, 0);
    counters_->add(Counter::cookie_marker_stripped);
  }
  emit(m, pp, s, dir);
}

}  // namespace wp
