// BFD control packets and the per-path session state machine .
//
// RFC 5880 asynchronous mode (no Demand, no Echo function): packet format
// § 4.1, keyed SHA-1 authentication § 4.4/§ 6.7.4 (we send and require the
// meticulous variant, type 5, whose sequence number moves on every packet so
// gaps in it count lost packets), reception § 6.8.6, transmission § 6.8.7,
// timers and detection time § 6.8.2-6.8.4, the 1 s floor on DesiredMinTx
// while not Up § 6.8.3 and Poll/Final sequences when our intervals change.
// RFC 5881 carries it over UDP 3784 with TTL 255; that wrapping is the
// PathMonitor's job. Everything here is pure: time comes in as microseconds
// and randomness from a caller's generator, so the unit tests walk the RFC's
// cases exactly. Not thread-safe: the control thread owns every session.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <random>

namespace wp {

inline constexpr uint16_t kBfdPort = 3784;  // RFC 5881 § 4 single-hop control
inline constexpr uint16_t kBfdSourcePortMin = 49152;
inline constexpr uint8_t kBfdTtl = 255;  // RFC 5881 § 5 GTSM
inline constexpr size_t kBfdHeaderLen = 24;
inline constexpr size_t kBfdSha1AuthLen = 28;  // type, len, key id, reserved, seq, 20-byte digest
inline constexpr size_t kBfdMaxLen = kBfdHeaderLen + kBfdSha1AuthLen;

enum class BfdState : uint8_t { admin_down = 0, down = 1, init = 2, up = 3 };
// RFC 5880 § 4.1 diagnostic codes we set.
enum class BfdDiag : uint8_t { none = 0, detect_timeout = 1, neighbor_down = 3, admin_down = 7 };
// Why a received packet was discarded (§ 6.8.6 in order), for counters.
enum class BfdDiscard : uint8_t {
  none,
  bad_version,
  bad_length,
  zero_multiplier,
  multipoint,
  zero_my_discriminator,
  unknown_your_discriminator,
  zero_your_discriminator,
  auth_mismatch,  // A bit and our auth config disagree, or wrong type/key id
  auth_sequence,  // replay / out of window
  auth_digest,
  count
};
const char* to_string(BfdState s);

struct BfdPacket {
  uint8_t version = 1;
  BfdDiag diag = BfdDiag::none;
  BfdState state = BfdState::down;
  bool poll = false, final = false, cpi = false, auth = false, demand = false, multipoint = false;
  uint8_t detect_mult = 0;
  uint8_t length = 0;
  uint32_t my_discr = 0, your_discr = 0;
  uint32_t desired_min_tx_us = 0, required_min_rx_us = 0, required_min_echo_rx_us = 0;
  uint8_t auth_type = 0, auth_key_id = 0;
  uint32_t auth_seq = 0;
};

// Header checks that need no session (§ 6.8.6, first six rules). On success
// `out` holds the fields; `why` says which rule failed otherwise.
bool parse_bfd(const uint8_t* p, size_t len, BfdPacket& out, BfdDiscard& why);

struct BfdAuthKey {
  uint8_t id = 0;
  uint8_t len = 0;  // 0 = no authentication
  std::array<uint8_t, 20> key{};
};

struct BfdConfig {
  uint32_t desired_min_tx_us = 1000000;
  uint32_t required_min_rx_us = 500000;
  uint8_t detect_mult = 3;
  BfdAuthKey auth;
};

class BfdSession {
 public:
  static constexpr uint32_t kSlowTxUs = 1000000;  // § 6.8.3: not less than 1 s while not Up

  BfdSession(uint32_t local_discr, const BfdConfig& cfg, uint32_t auth_seq_start);

  BfdState state() const { return state_; }
  BfdState remote_state() const { return remote_state_; }
  BfdDiag diag() const { return diag_; }
  uint32_t local_discr() const { return local_discr_; }
  uint32_t remote_discr() const { return remote_discr_; }
  bool poll_active() const { return poll_active_; }
  uint64_t detection_time_us() const;
  uint32_t tx_interval_us() const;  // before jitter
  // Sequence numbers that never arrived (meticulous auth only), for loss.
  uint64_t auth_seq_gaps() const { return seq_gaps_; }

  // § 6.8.6 from "select the session" on: the packet already passed
  // parse_bfd and was matched to this session (by Your Discriminator, or by
  // the path it arrived on when that is zero). `raw`/`len` are the bytes
  // for the digest check. Returns the discard reason (none = accepted); the
  // caller sends a Final at once when `final_due()` became true.
  BfdDiscard receive(const BfdPacket& pkt, const uint8_t* raw, size_t len, uint64_t now_us);
  bool final_due() const { return final_due_; }

  // Timers: call often. Declares Down when the detection time passed without
  // a packet (§ 6.8.4). True when a periodic packet is due now.
  bool tick(uint64_t now_us, std::mt19937_64& rng);
  // Builds the next control packet into `buf` (>= kBfdMaxLen); returns its
  // length. Sending a Final clears final_due().
  size_t build(uint8_t* buf, uint64_t now_us);

  // Administrative control (§ 6.8.16) and parameter changes (start a Poll).
  void set_admin_down(bool down);
  void set_intervals(uint32_t desired_min_tx_us, uint32_t required_min_rx_us);
  // Our own thread did not run for `stalled_us` (scheduler, VM): that time
  // does not count toward the detection time, or a busy host would declare
  // every path down at once for packets that are waiting in its rx queues.
  void excuse(uint64_t stalled_us, uint64_t now_us) {
    last_rx_us_ = last_rx_us_ + stalled_us < now_us ? last_rx_us_ + stalled_us : now_us;
  }

 private:
  void set_state(BfdState s, BfdDiag d);
  uint32_t desired_tx_now() const {
    return state_ == BfdState::up ? cfg_.desired_min_tx_us : std::max(cfg_.desired_min_tx_us, kSlowTxUs);
  }
  void schedule_tx(uint64_t now_us, std::mt19937_64& rng);
  bool digest_ok(const BfdPacket& pkt, const uint8_t* raw, size_t len) const;

  BfdConfig cfg_;
  BfdState state_ = BfdState::down;
  BfdState remote_state_ = BfdState::down;
  BfdDiag diag_ = BfdDiag::none;
  uint32_t local_discr_;
  uint32_t remote_discr_ = 0;
  uint32_t remote_min_rx_us_ = 1;  // § 6.8.1: initialised to 1
  uint32_t remote_desired_tx_us_ = 0;
  uint8_t remote_detect_mult_ = 0;
  uint32_t advertised_tx_us_ = 0;  // what our last packet said (Poll when it changes while Up)
  bool poll_active_ = false;
  bool final_due_ = false;
  uint64_t last_rx_us_ = 0;
  uint64_t next_tx_us_ = 0;
  uint32_t xmit_auth_seq_;
  uint32_t rcv_auth_seq_ = 0;
  bool auth_seq_known_ = false;
  uint64_t seq_gaps_ = 0;
};

}  // namespace wp
