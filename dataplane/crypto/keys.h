// Per-session key material and where it lives (docs/svr-wire-format.md § Security).
//
// Session data keys are HKDF-SHA256 (RFC 5869) of the router-pair key and
// the session UUID:
//   PRK  = HKDF-Extract(salt = "waypoint svr session keys v1", IKM = pair key)
//   OKM  = HKDF-Expand(PRK, info = session UUID (16 bytes), L = 64)
//   AES-256 key = OKM[0, 32), HMAC-SHA256 key = OKM[32, 64)
// The PRK depends only on the pair key, so its HMAC key schedule is computed
// once per peer when the config is built (PeerModel::session_prk) and a new
// session costs two HMAC jobs, one AES key expansion and one ipad/opad
// schedule. derive_session_keys is a pure function of (pair key, UUID): the HA
// peer re-derives the same keys from the synced UUID.
//
// The expanded keys (~550 B) do not belong in the 256-byte Session: they
// live in a per-worker KeySlab, a fixed array with a free list sized at start,
// and a session holds only the slot index. Only sessions that encrypt or
// HMAC every packet take a slot; the slot is wiped (explicit_bzero, wipe.h)
// when the session ends, the whole slab when it is freed. The slab's pages
// are marked MADV_DONTDUMP, so core dumps carry no session keys. A full slab
// refuses the new session with a drop reason.
#pragma once

#include <cstdint>
#include <span>

#include "dataplane/crypto/engine.h"
#include "dataplane/crypto/replay_window.h"
#include "dataplane/svr/metadata.h"

namespace wp {

inline constexpr uint8_t kSessionKdfSalt[] = "waypoint svr session keys v1";
inline constexpr uint32_t kNoKeySlot = UINT32_MAX;

// Keys of one WAN side of a session, plus the sequence state that goes
// with the session key (replay_window.h): tx for packets leaving on that
// side, rx for packets arriving on it.
struct SessionKeys {
  AesKey aes;
  HmacKey mac;
  uint32_t tx_seq = 0;
  ReplayWindow rx;
};

// The per-peer half of the derivation (HKDF-Extract), done at config build.
HmacKey session_prk(CryptoEngine& engine, std::span<const uint8_t> pair_key);
// The per-session half (HKDF-Expand + schedules).
void derive_session_keys(CryptoEngine& engine, const HmacKey& prk, const SessionUuid& uuid, SessionKeys& out);

class KeySlab {
 public:
  // Memory from the DPDK heap on `socket`, or anonymous pages when
  // socket < -1 (tests, benchmarks).
  KeySlab(uint32_t capacity, int socket);
  ~KeySlab();
  KeySlab(const KeySlab&) = delete;
  KeySlab& operator=(const KeySlab&) = delete;

  bool ok() const { return capacity_ == 0 || (keys_ != nullptr && free_ != nullptr); }
  uint32_t capacity() const { return capacity_; }
  uint32_t in_use() const { return capacity_ - free_top_; }
  // The slab's pages are excluded from core dumps (madvise MADV_DONTDUMP).
  bool dump_excluded() const { return dump_excluded_; }

  uint32_t allocate();          // kNoKeySlot when full
  void release(uint32_t slot);  // wipes the keys
  SessionKeys& at(uint32_t slot) { return keys_[slot]; }
  const SessionKeys& at(uint32_t slot) const { return keys_[slot]; }

 private:
  bool allocate_heap();
  bool allocate_dpdk(int socket);

  SessionKeys* keys_ = nullptr;
  size_t keys_bytes_ = 0;  // whole pages
  size_t page_ = 0;
  uint32_t* free_ = nullptr;
  uint32_t capacity_ = 0;
  uint32_t free_top_ = 0;
  bool dpdk_ = false;
  bool dump_excluded_ = false;
};

}  // namespace wp
