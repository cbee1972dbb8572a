// Router-pair key versions and which one a sender uses (docs/svr-wire-format.md
// § Security, Pair-key rotation).
//
// A peer holds one or two pair-key versions at once (1..255): the key in
// use and, while rotating, the next one. Everything a pair key protects is
// derived per version: the metadata HMAC key, the session-key PRK
// (crypto/keys.h) and the metadata payload key (metadata_crypto.h). A block
// names the version that signed it (TLV 16; absent means version 1), so a
// receiver verifies with that version whichever it sends with itself.
//
// Which version to send with: a new key becomes the sender's only once both
// ends hold it. Every metadata block carries the versions its sender holds
// (TLV 22, absent means {1}); a worker remembers, per peer, what the peer
// said last (PeerKeyView) and signs with the newest version both hold;
// before it heard anything, with the oldest version it holds (the one the
// peer had before the rotation began). Session keys come from the version
// that signed the session's first block and are kept in the session's key
// slot, so sessions keyed from an old version keep working after the
// senders moved on, and after that version was removed from the config.
#pragma once

#include <cstddef>
#include <cstdint>

#include "dataplane/crypto/engine.h"
#include "dataplane/crypto/hmac.h"
#include "dataplane/crypto/key_version.h"
#include "dataplane/crypto/wipe.h"
#include "dataplane/session/session.h"
#include "dataplane/svr/metadata.h"

namespace wp {

inline constexpr size_t kMaxPairKeys = 2;  // versions a router holds per peer at once
inline constexpr size_t kMaxKeyPeers = kMaxSessionPeers;  // peers a worker remembers versions of (SideOut::peer)

struct PairKey {
  uint8_t version = 0;
  HmacKey mac;          // metadata HMAC (the pair key itself)
  HmacKey session_prk;  // HKDF-Extract of the pair key (crypto/keys.h)
  AesKey metadata_key;  // metadata payload key (metadata_crypto.h)
};

class PairKeyRing {
 public:
  PairKeyRing() = default;
  PairKeyRing(const PairKeyRing&) = default;
  PairKeyRing& operator=(const PairKeyRing&) = default;
  ~PairKeyRing() { wipe(keys_, sizeof keys_); }

  // Keeps the ring oldest first (key_version_newer); false when full or the version is taken.
  bool add(const PairKey& k);
  size_t size() const { return n_; }
  const PairKey& oldest() const { return keys_[0]; }
  const PairKey& newest() const { return keys_[n_ - 1]; }
  const PairKey* find(uint32_t version) const;
  KeyVersions versions() const;
  // The version to send with, given what the peer said it holds (nullptr:
  // nothing heard yet): the newest both hold, else the oldest we hold.
  const PairKey& choose(const KeyVersions* peer_holds) const;

 private:
  PairKey keys_[kMaxPairKeys];
  uint8_t n_ = 0;
};

// What each peer said it holds (TLV 22 of its last verified block), per
// worker: no locks, and a worker learns from the replies to its own
// sessions. An entry is tied to the peer's name (hash), so a config commit
// that renumbers peers forgets rather than misattributes.
class PeerKeyViews {
 public:
  void heard(int peer, uint32_t name_hash, const KeyVersions& held) {
    if (peer < 0 || static_cast<size_t>(peer) >= kMaxKeyPeers) return;
    views_[peer] = {name_hash, true, held};
  }
  const KeyVersions* of(int peer, uint32_t name_hash) const {
    if (peer < 0 || static_cast<size_t>(peer) >= kMaxKeyPeers) return nullptr;
    const View& v = views_[peer];
    return v.known && v.name_hash == name_hash ? &v.held : nullptr;
  }

 private:
  struct View {
    uint32_t name_hash = 0;
    bool known = false;
    KeyVersions held;
  };
  View views_[kMaxKeyPeers];
};

}  // namespace wp
