// Session crypto on the fast path; see crypto_batch.h.
#include "dataplane/svr/crypto_batch.h"

#include <cstring>

#include "dataplane/crypto/adaptive.h"
#include "dataplane/control/waypoint6_addr.h"
#include "dataplane/crypto/replay_window.h"
#include "dataplane/ip/packet_edit.h"

namespace wp {

CryptoBatch::CryptoBatch(WorkerContext& ctx, Fragments& fragments) : ctx_(ctx), fragments_(fragments) {}

bool CryptoBatch::start(Session& s, const ParsedPacket& pp, const Metadata* md, DropReason& why) {
  const SecurityModel& sec = ctx_.rm().security[s.security];
  uint8_t c = 0;
  s.key_slot[0] = s.key_slot[1] = kNoKeySlot;
  if (s.nat) {  // breakout: no SVR leg, the data leaves as the client sent it
    s.crypto = 0;
    return true;
  }
  if (md == nullptr) {  // ingress: our policy decides
    // Adaptive: pending until data is seen; a UDP first packet settles it
    // right away in emit (decide_adaptive).
    if (sec.encrypt) c |= sec.adaptive ? kCryptoPending : kCryptoEncrypt;
  } else {  // egress / transit: the sender's TLV 11, and our policy while undecided
    int rest = pp.payload_len() - static_cast<int>(md->block_len()) - static_cast<int>(kHmacTagLen);
    if (md->session_data_encrypted) {
      c |= kCryptoEncrypt;
    } else if (sec.encrypt) {
      c |= rest > 0 ? kCryptoAdaptiveSkip : kCryptoPending;
    }
  }
  if (sec.encrypt || sec.hmac_every_packet || (c & kCryptoEncrypt)) c |= kCryptoHmacAll;
  s.crypto = c;
  s.key_slot[0] = s.key_slot[1] = kNoKeySlot;
  if (!(c & kCryptoHmacAll)) return true;
  for (int side = 0; side <= 1; ++side) {
    const SideOut& o = side == 0 ? s.out_rev : s.out_fwd;
    if (o.peer < 0) continue;
    uint32_t slot = ctx_.keys.allocate();
    if (slot == kNoKeySlot) {
      ctx_.release_keys(s);
      why = DropReason::key_slab_full;
      return false;
    }
    s.key_slot[side] = slot;
    // Side A's keys come from the version that signed the first block, the
    // onward side's from the version we sign ours with.
    const PairKey* pk = side == 0 && md ? ctx_.rm().peers[o.peer].keys.find(md->key_version()) : &ctx_.tx_key(o.peer);
    if (!pk) {  // read_metadata checked it: only a model swap in between
      ctx_.release_keys(s);
      why = DropReason::unknown_key_version;
      return false;
    }
    (side == 0 ? s.out_rev : s.out_fwd).key_version = pk->version;
    derive_session_keys(engine_, pk->session_prk, s.uuid, ctx_.keys.at(slot));
  }
  if (c & kCryptoEncrypt) ctx_.counters->add(Counter::sessions_encrypted);
  if (c & kCryptoAdaptiveSkip) ctx_.counters->add(Counter::sessions_adaptive_skip);
  return true;
}

void CryptoBatch::adopt_peer(Session& s, const uint32_t kept[2]) {
  // The derivation is a pure function of (pair key, UUID), so the keys are
  // the peer's without syncing key material. Sequence numbers are not
  // synced: start far ahead of the packets the peer had sent (the session's
  // synced counters), so the far end's replay window accepts them.
  constexpr uint32_t kTakeoverSeqJump = 1u << 24;
  for (int side = 0; side <= 1; ++side) {
    s.key_slot[side] = kept[side];
    const SideOut& o = side == 0 ? s.out_rev : s.out_fwd;
    if (kept[side] != kNoKeySlot || o.peer < 0 || !(s.crypto & kCryptoHmacAll)) continue;
    // The version the peer node derived from; a session older than the
    // synced version field (0) came from the oldest.
    const PairKeyRing& ring = ctx_.rm().peers[o.peer].keys;
    const PairKey* pk = s.key_version(side) ? ring.find(s.key_version(side)) : &ring.oldest();
    if (!pk) continue;  // that version is retired here: the session cannot be carried
    uint32_t slot = ctx_.keys.allocate();
    if (slot == kNoKeySlot) continue;  // packets of this session then leave unsealed and are refused
    s.key_slot[side] = slot;
    SessionKeys& k = ctx_.keys.at(slot);
    derive_session_keys(engine_, pk->session_prk, s.uuid, k);
    uint64_t sent = s.packets[side == 1 ? 0 : 1];  // forward packets leave on B
    k.tx_seq = static_cast<uint32_t>(sent) + kTakeoverSeqJump;
  }
}

void CryptoBatch::decide_adaptive(Session& s, const ParsedPacket& pp, const uint8_t* data, uint16_t len) {
  s.crypto = static_cast<uint8_t>(s.crypto & ~kCryptoPending);
  if (looks_encrypted(s.original.proto, s.original.sport, s.original.dport, data, len)) {
    s.crypto |= kCryptoAdaptiveSkip;
    ctx_.counters->add(Counter::sessions_adaptive_skip);
  } else {
    s.crypto |= kCryptoEncrypt;
    ctx_.counters->add(Counter::sessions_encrypted);
  }
}

void CryptoBatch::learn_decision(Session& s, const Metadata& md, int data_len) {
  if (md.session_data_encrypted) {
    s.crypto = static_cast<uint8_t>((s.crypto & ~kCryptoPending) | kCryptoEncrypt);
    ctx_.counters->add(Counter::sessions_encrypted);
  } else if (data_len > 0) {
    s.crypto = static_cast<uint8_t>((s.crypto & ~kCryptoPending) | kCryptoAdaptiveSkip);
    ctx_.counters->add(Counter::sessions_adaptive_skip);
  }
}

void CryptoBatch::clamp_mss(rte_mbuf* m, ParsedPacket& pp, const Session& s) {
  const SideOut& wan = s.side_b_wan() ? s.out_fwd : s.out_rev;
  if (wan.peer < 0) return;
  const RouterModel& rm = ctx_.rm();
  // No crypto: an IPv4 session on IPv6 waypoints (Emit), only the outer header grows.
  int extra = s.crypto ? kCryptoOverhead : 0;
  if (s.crypto & kCryptoPending) {
    // Adaptive: the handshake runs into the first data segments (both ways),
    // which then carry metadata too. Leave room for the larger, forward,
    // block: context, UUID, five names, TLV 11 and 18 (Emit::add_metadata).
    size_t names = rm.tenants[s.tenant].size() + rm.services[s.service].name.size() + rm.name.size() +
                   rm.peers[wan.peer].name.size() + rm.security[s.security].name.size();
    extra += static_cast<int>(kMetadataHeaderLen + 4 + 13 + 4 + 16 + 5 * 4 + names + 4 + 4);
    extra += 32;  // the peer's names may be longer than ours
  }
  // The WAN header: IPv4, or IPv6 (20 bytes more) between IPv6 waypoints,
  // whose stand-in addresses the session holds (control/waypoint6_addr.h).
  const int outer = is_waypoint6_standin(wan.tuple.dst) ? 40 : 20;
  int mss = rm.interfaces[wan.iface].mtu - outer - 20 - extra;
  if (mss < 536) mss = 536;  // RFC 9293 default; an MTU that small is a config problem
  if (::wp::clamp_mss(m, pp, static_cast<uint16_t>(mss))) ctx_.counters->add(Counter::mss_clamped);
}

bool CryptoBatch::encrypts_now(Session& s, const ParsedPacket& pp, Dir dir) {
  if (pp.payload_len() == 0 || !keys_of(s, leaving_side(dir))) return false;
  if (s.crypto & kCryptoEncrypt) return true;
  // Egress while pending: encrypt (reverse) data if our own policy encrypts.
  return (s.crypto & kCryptoPending) && ctx_.rm().security[s.security].encrypt;
}

bool CryptoBatch::seal(rte_mbuf* m, ParsedPacket& pp, Session& s, Dir dir, const SideOut& out, size_t md_len,
                       bool need_md, bool encrypt, bool frag_id_reserved) {
  SessionKeys* keys = keys_of(s, leaving_side(dir));
  SealLayout layout;
  uint16_t seq_len = need_md ? 0 : kSeqLen;
  if (!prepare_seal(m, pp, static_cast<uint16_t>(md_len), encrypt, seq_len, layout)) {
    ctx_.drop(m, DropReason::no_buffer_room);
    return false;
  }
  if (layout.iv) ivs_.next(layout.iv);
  if (layout.seq) store_be32(layout.seq, ++keys->tx_seq);  // seq only without metadata, see Emit
  ctx_.counters->add(Counter::fast_path_packets);
  ctx_.counters->add(Counter::fast_path_bytes, pp.end - pp.l3);
  ctx_.counters->add(Counter::packets_sealed);
  if (layout.cipher_len) ctx_.counters->add(Counter::packets_encrypted);
  // The block names the version it is signed with (write_key_tlvs).
  const HmacKey& mac = need_md ? ctx_.md_key(s, leaving_side(dir), out.peer).mac : keys->mac;
  // Over the MTU now? Fragmented after signing (Fragments::transmit).
  queue_sign(m, pp, mac, out.iface, out.next_hop, layout.cipher_len ? &keys->aes : nullptr, layout, frag_id_reserved);
  return true;
}

void CryptoBatch::queue_sign(rte_mbuf* m, const ParsedPacket& pp, const HmacKey& key, int iface, Ipv4 next_hop,
                             const AesKey* aes, const SealLayout& layout, bool frag_id_reserved) {
  if (sign_count_ == HmacEngine::kMaxSignBurst) sign_pending();
  sign_queue_[sign_count_++] = PendingSign{m, pp, &key, iface, next_hop, aes, layout, frag_id_reserved};
}

void CryptoBatch::sign_pending() {
  uint32_t n = sign_count_;
  sign_count_ = 0;
  if (n == 0) return;
  // AES-CBC and HMAC chained per job, the whole burst in the lanes.
  CryptoOp ops[HmacEngine::kMaxSignBurst];
  for (uint32_t i = 0; i < n; ++i) {
    const PendingSign& p = sign_queue_[i];
    uint8_t* d = pkt_data(p.m);
    CryptoOp& op = ops[i];
    op.msg = d + p.pp.l4;
    op.hash_len = static_cast<uint32_t>(p.pp.end - kHmacTagLen - p.pp.l4);
    op.mac = p.key;
    op.tag = d + p.pp.end - kHmacTagLen;
    op.aes = p.aes;
    op.cipher_off = p.layout.cipher_off;
    op.cipher_len = p.layout.cipher_len;
    op.iv = p.layout.iv;
  }
  engine_.seal_burst(ops, n);
  for (uint32_t i = 0; i < n; ++i) {
    PendingSign& p = sign_queue_[i];
    if (!ops[i].ok) {
      ctx_.drop(p.m, DropReason::crypto_error);
      continue;
    }
    finish_checksums(p.m, p.pp);
    fragments_.transmit(p.m, p.pp, p.iface, p.next_hop, p.frag_id_reserved);  // after sealing
  }
}

bool CryptoBatch::queue_open(rte_mbuf* m, const ParsedPacket& pp, Session& s, Dir dir, bool bare) {
  SessionKeys* keys = keys_of(s, arriving_side(dir));
  uint16_t md_len = bare ? kMetadataHeaderLen : 0;
  SealLayout layout;
  if (!keys || !open_layout(m, pp, md_len, kSeqLen + kHmacTagLen, kSeqLen, (s.crypto & kCryptoEncrypt) != 0, layout)) {
    ctx_.drop(m, DropReason::crypto_short);
    return false;
  }
  open_queue_[open_count_++] = PendingOpen{m, pp, &s, s.uuid, layout, dir, bare};
  return true;
}

uint32_t CryptoBatch::open_pending(Opened* out) {
  uint32_t n = open_count_;
  open_count_ = 0;
  if (n == 0) return 0;
  CryptoOp ops[kMaxBurst];
  for (uint32_t i = 0; i < n; ++i) {
    PendingOpen& p = open_queue_[i];
    SessionKeys& k = *keys_of(*p.s, arriving_side(p.dir));
    uint8_t* d = pkt_data(p.m);
    // The HMAC covers the L4 header with a zeroed checksum; finish_open()
    // recomputes the checksum afterwards.
    uint8_t* check = d + p.pp.l4 + l4_check_offset(p.pp.proto);
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
  engine_.open_burst(ops, n);
  uint32_t opened = 0;
  for (uint32_t i = 0; i < n; ++i) {
    PendingOpen& p = open_queue_[i];
    DropReason why;
    if (!p.s->in_use || p.s->uuid != p.uuid) {
      why = DropReason::session_closed;
    } else if (!ops[i].ok) {
      why = DropReason::bad_packet_hmac;
    } else if (!replay_accept(keys_of(*p.s, arriving_side(p.dir))->rx, load_be32(p.layout.seq))) {
      why = DropReason::replayed;
    } else if (!finish_open(p.m, p.pp, p.bare ? kMetadataHeaderLen : 0, kSeqLen + kHmacTagLen, p.layout)) {
      why = DropReason::bad_padding;
    } else {
      ctx_.counters->add(Counter::packets_opened);
      if (p.layout.cipher_len) ctx_.counters->add(Counter::packets_decrypted);
      out[opened++] = Opened{p.m, p.pp, p.s, p.dir, p.bare};
      continue;
    }
    ctx_.drop(p.m, why);
  }
  return opened;
}

bool CryptoBatch::decrypt_metadata_data(rte_mbuf* m, ParsedPacket& pp, Session& s, Dir dir) {
  SessionKeys* keys = keys_of(s, arriving_side(dir));
  SealLayout layout;
  if (!keys || !open_layout(m, pp, 0, 0, 0, true, layout)) {
    ctx_.drop(m, DropReason::crypto_short);
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
  if (engine_.open_burst(&op, 1) != 0) {
    ctx_.drop(m, DropReason::crypto_error);
    return false;
  }
  if (!finish_open(m, pp, 0, 0, layout)) {
    ctx_.drop(m, DropReason::bad_padding);
    return false;
  }
  ctx_.counters->add(Counter::packets_decrypted);
  return true;
}

size_t CryptoBatch::seal_metadata(uint8_t* block, size_t len, size_t cap, const Session& s, Dir dir,
                                  const SideOut& out) {
  if (len == 0 || !ctx_.rm().security[s.security].encrypt_metadata) return len;
  const PairKey& k = ctx_.md_key(s, leaving_side(dir), out.peer);
  size_t n = seal_metadata_payload(engine_, ivs_, k.metadata_key, block, len, cap, k.version);
  if (n) ctx_.counters->add(Counter::metadata_encrypted);
  return n;
}

bool CryptoBatch::open_metadata(rte_mbuf* m, const ParsedPacket& pp, Metadata& md, const PairKey& key) {
  switch (open_metadata_payload(engine_, key.metadata_key, pkt_data(m) + pp.payload, md, md_plain_, key.version)) {
    case MetadataOpen::ok: ctx_.counters->add(Counter::metadata_decrypted); return true;
    case MetadataOpen::unknown_key_version: ctx_.drop(m, DropReason::unknown_key_version); return false;
    case MetadataOpen::bad_padding: ctx_.drop(m, DropReason::bad_metadata_padding); return false;
    case MetadataOpen::malformed: ctx_.drop(m, DropReason::bad_metadata); return false;
  }
  return false;
}

}  // namespace wp
