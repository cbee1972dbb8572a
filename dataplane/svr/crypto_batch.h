// Session data encryption and the per-packet HMAC on the fast path
// (docs/svr-wire-format.md § Security; bytes: crypto/session_data.h,
// replay: crypto/replay_window.h, TLV 16: crypto/metadata_crypto.h).
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
// (crypto/keys.h). Metadata packets are signed with the pair key; every
// other packet of a session with per-packet HMAC is signed with the session
// key and carries a sequence number. Encrypted sessions always HMAC every
// packet (encrypt-then-MAC: CBC without a MAC is malleable).
//
// Batches. Packets to seal wait in the sign queue, packets to verify and
// decrypt in the open queue, until the end of the burst: IPsec-MB's
// multi-buffer lanes then run full instead of flushing one job at a time.
// Sealed packets leave through Fragments::transmit; opened ones are handed
// back to the caller (WanInput) to continue.
//
// TLV 16: the sender's session policy decides which metadata blocks are
// encrypted (forward blocks at the ingress router, reverse blocks at the
// egress). A receiver opens any block that names our key version, whatever
// its own policy says: the names it needs to apply that policy are inside.
//
// Pair-key versions (crypto/pair_keys.h): metadata is signed (and its
// payload encrypted) with the version WorkerContext::tx_key picks; a
// session's keys come from the version of its first block and stay in its
// slots, so a rotation never re-keys a live session.
#pragma once

#include <rte_mbuf.h>

#include <cstdint>

#include "dataplane/crypto/engine.h"
#include "dataplane/crypto/hmac.h"
#include "dataplane/crypto/iv_source.h"
#include "dataplane/crypto/keys.h"
#include "dataplane/crypto/metadata_crypto.h"
#include "dataplane/crypto/session_data.h"
#include "dataplane/ip/packet.h"
#include "dataplane/session/session.h"
#include "dataplane/svr/fragments.h"
#include "dataplane/svr/metadata.h"
#include "dataplane/worker/context.h"

namespace wp {

class CryptoBatch {
 public:
  CryptoBatch(WorkerContext& ctx, Fragments& fragments);
  bool ok() const { return hmac_.ok() && engine_.ok() && ivs_.ok(); }
  HmacEngine& hmac() { return hmac_; }
  CryptoEngine& engine() { return engine_; }

  // Session start: crypto flags from the policy (ingress, md == nullptr) or
  // the sender's TLV 11 (egress, transit), and a key slot per WAN side.
  bool start(Session& s, const ParsedPacket& pp, const Metadata* md, DropReason& why);
  // A session synced from the HA peer: our slots (`kept`), or fresh ones
  // derived from the pair key and the UUID, with the sequence moved ahead.
  void adopt_peer(Session& s, const uint32_t kept[2]);
  // The ingress router settles an adaptive session on its first data.
  void decide_adaptive(Session& s, const ParsedPacket& pp, const uint8_t* data, uint16_t len);
  // Egress while pending: forward metadata with data (or TLV 11) settles it.
  void learn_decision(Session& s, const Metadata& md, int data_len);
  void clamp_mss(rte_mbuf* m, ParsedPacket& pp, const Session& s);
  bool encrypts_now(Session& s, const ParsedPacket& pp, Dir dir);
  bool hmacs_every_packet(Session& s, Dir dir) { return (s.crypto & kCryptoHmacAll) && keys_of(s, leaving_side(dir)); }

  // Queues a packet leaving on a WAN leg for sealing (encrypt + HMAC) at the
  // end of the burst; false means dropped (counted). `md_len` bytes of
  // metadata precede the data.
  bool seal(rte_mbuf* m, ParsedPacket& pp, Session& s, Dir dir, const SideOut& out, size_t md_len, bool need_md,
            bool encrypt, bool frag_id_reserved = false);
  // Seals the queue in one burst and transmits it (fragmenting what needs it).
  void sign_pending();

  // Queues a steady-state WAN packet of a session with per-packet HMAC for
  // verification (and decryption); false means dropped (counted). Not when open_full().
  bool queue_open(rte_mbuf* m, const ParsedPacket& pp, Session& s, Dir dir, bool bare_marker);
  struct Opened {
    rte_mbuf* m;
    ParsedPacket pp;
    Session* s;
    Dir dir;
    bool bare;
  };
  // Opens the queue in one burst; what verified, passed the replay window
  // and decrypted is in `out` (up to kMaxBurst), the rest is dropped.
  uint32_t open_pending(Opened* out);
  bool open_full() const { return open_count_ == kMaxBurst; }  // open_pending() before queueing more
  bool open_empty() const { return open_count_ == 0; }
  // A metadata packet (HMAC already verified with the pair key) whose data is
  // encrypted: decrypt it now.
  bool decrypt_metadata_data(rte_mbuf* m, ParsedPacket& pp, Session& s, Dir dir);

  // TLV 16: encrypts a finished block's payload section when the policy asks
  // (returns the new length, 0 on overflow); opens a received one (false:
  // dropped and counted).
  size_t seal_metadata(uint8_t* block, size_t len, size_t cap, const Session& s, Dir dir, const SideOut& out);
  bool open_metadata(rte_mbuf* m, const ParsedPacket& pp, Metadata& md, const PairKey& key);

  static int leaving_side(Dir d) { return d == Dir::forward ? 1 : 0; }
  static int arriving_side(Dir d) { return d == Dir::forward ? 0 : 1; }
  SessionKeys* keys_of(Session& s, int side) {
    return s.key_slot[side] == kNoKeySlot ? nullptr : &ctx_.keys.at(s.key_slot[side]);
  }

 private:
  void queue_sign(rte_mbuf* m, const ParsedPacket& pp, const HmacKey& key, int iface, Ipv4 next_hop, const AesKey* aes,
                  const SealLayout& layout, bool frag_id_reserved);

  WorkerContext& ctx_;
  Fragments& fragments_;
  HmacEngine hmac_;
  CryptoEngine engine_;  // bursts on the best arch
  IvSource ivs_{engine_};
  uint8_t md_plain_[kMaxPlainMetadata];  // an opened TLV 16 payload, read by the caller's Metadata
  struct PendingSign {
    rte_mbuf* m;
    ParsedPacket pp;
    const HmacKey* key;
    int iface;
    Ipv4 next_hop;
    const AesKey* aes;  // encrypt `layout` first
    SealLayout layout;
    bool frag_id_reserved;  // TLV 1 named the IP id its fragments get
  };
  PendingSign sign_queue_[HmacEngine::kMaxSignBurst];
  uint32_t sign_count_ = 0;
  struct PendingOpen {
    rte_mbuf* m;
    ParsedPacket pp;
    Session* s;
    SessionUuid uuid;  // the session may be replaced later in the same burst
    SealLayout layout;
    Dir dir;
    bool bare;
  };
  PendingOpen open_queue_[kMaxBurst];
  uint32_t open_count_ = 0;
};

}  // namespace wp
