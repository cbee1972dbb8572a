// BFD packet codec and session state machine; see bfd.h (RFC 5880).
#include "dataplane/paths/bfd.h"

#include <openssl/evp.h>

#include <cstring>

#include "dataplane/ip/packet.h"

namespace wp {
namespace {

constexpr uint8_t kAuthMeticulousSha1 = 5;  // § 4.4

void sha1(const uint8_t* p, size_t len, uint8_t out[20]) {
  unsigned int n = 0;
  EVP_Digest(p, len, out, &n, EVP_sha1(), nullptr);
}

}  // namespace

const char* to_string(BfdState s) {
  switch (s) {
    case BfdState::admin_down: return "admin_down";
    case BfdState::down: return "down";
    case BfdState::init: return "init";
    case BfdState::up: return "up";
  }
  return "?";
}

bool parse_bfd(const uint8_t* p, size_t len, BfdPacket& out, BfdDiscard& why) {
  why = BfdDiscard::bad_length;
  if (len < kBfdHeaderLen) return false;
  out.version = p[0] >> 5;
  out.diag = static_cast<BfdDiag>(p[0] & 0x1f);
  out.state = static_cast<BfdState>(p[1] >> 6);
  out.poll = p[1] & 0x20, out.final = p[1] & 0x10, out.cpi = p[1] & 0x08;
  out.auth = p[1] & 0x04, out.demand = p[1] & 0x02, out.multipoint = p[1] & 0x01;
  out.detect_mult = p[2];
  out.length = p[3];
  out.my_discr = load_be32(p + 4);
  out.your_discr = load_be32(p + 8);
  out.desired_min_tx_us = load_be32(p + 12);
  out.required_min_rx_us = load_be32(p + 16);
  out.required_min_echo_rx_us = load_be32(p + 20);
  if (out.version != 1) return why = BfdDiscard::bad_version, false;
  // Length covers the header (and auth section when A is set) and must not
  // exceed what the UDP payload holds.
  if (out.length < (out.auth ? kBfdHeaderLen + 2 : kBfdHeaderLen) || out.length > len) return false;
  if (out.auth) {
    out.auth_type = p[24];
    uint8_t alen = p[25];
    if (alen < 2 || kBfdHeaderLen + alen > out.length) return false;
    if (out.auth_type == kAuthMeticulousSha1 || out.auth_type == 4) {
      if (alen != kBfdSha1AuthLen) return false;
      out.auth_key_id = p[26];
      out.auth_seq = load_be32(p + 28);
    }
  }
  if (out.detect_mult == 0) return why = BfdDiscard::zero_multiplier, false;
  if (out.multipoint) return why = BfdDiscard::multipoint, false;
  if (out.my_discr == 0) return why = BfdDiscard::zero_my_discriminator, false;
  // Your Discriminator zero is legal only from a peer that is Down or AdminDown.
  if (out.your_discr == 0 && out.state != BfdState::down && out.state != BfdState::admin_down)
    return why = BfdDiscard::zero_your_discriminator, false;
  why = BfdDiscard::none;
  return true;
}

BfdSession::BfdSession(uint32_t local_discr, const BfdConfig& cfg, uint32_t auth_seq_start)
    : cfg_(cfg), local_discr_(local_discr), xmit_auth_seq_(auth_seq_start) {}

uint64_t BfdSession::detection_time_us() const {
  if (remote_detect_mult_ == 0) return 0;
  return uint64_t{remote_detect_mult_} * std::max(cfg_.required_min_rx_us, remote_desired_tx_us_);
}

uint32_t BfdSession::tx_interval_us() const { return std::max(desired_tx_now(), remote_min_rx_us_); }

void BfdSession::set_state(BfdState s, BfdDiag d) {
  if (s == state_) return;
  bool speed_changes = (s == BfdState::up || state_ == BfdState::up) && cfg_.desired_min_tx_us < kSlowTxUs;
  state_ = s;
  diag_ = d;
  // Tell the peer now rather than at the next (possibly 1 s slow) tick: it
  // must learn our new state, and after Up the faster rate it will time us by.
  next_tx_us_ = 0;
  // DesiredMinTx moves across the 1 s floor: tell the peer with a Poll.
  if (speed_changes && s == BfdState::up) poll_active_ = true;
  if (s != BfdState::up) poll_active_ = false;
}

bool BfdSession::digest_ok(const BfdPacket& pkt, const uint8_t* raw, size_t len) const {
  if (pkt.length > kBfdMaxLen || pkt.length > len || pkt.length < kBfdHeaderLen + kBfdSha1AuthLen) return false;
  uint8_t copy[kBfdMaxLen];
  std::memcpy(copy, raw, pkt.length);
  std::memset(copy + 32, 0, 20);
  std::memcpy(copy + 32, cfg_.auth.key.data(), cfg_.auth.len);
  uint8_t digest[20];
  sha1(copy, pkt.length, digest);
  // Constant-time compare: the digest is a secret-derived value.
  uint8_t diff = 0;
  for (int i = 0; i < 20; ++i) diff |= static_cast<uint8_t>(digest[i] ^ raw[32 + i]);
  return diff == 0;
}

BfdDiscard BfdSession::receive(const BfdPacket& pkt, const uint8_t* raw, size_t len, uint64_t now_us) {
  if (pkt.your_discr != 0 && pkt.your_discr != local_discr_) return BfdDiscard::unknown_your_discriminator;
  bool want_auth = cfg_.auth.len != 0;
  if (pkt.auth != want_auth) return BfdDiscard::auth_mismatch;
  if (want_auth) {
    if (pkt.auth_type != kAuthMeticulousSha1 || pkt.auth_key_id != cfg_.auth.id) return BfdDiscard::auth_mismatch;
    // § 6.7.4 meticulous: strictly after the last one, within 3 x DetectMult.
    uint32_t ahead = pkt.auth_seq - rcv_auth_seq_;
    if (auth_seq_known_ && (ahead == 0 || ahead > 3u * pkt.detect_mult)) return BfdDiscard::auth_sequence;
    if (!digest_ok(pkt, raw, len)) return BfdDiscard::auth_digest;
    if (auth_seq_known_) seq_gaps_ += ahead - 1;
    rcv_auth_seq_ = pkt.auth_seq;
    auth_seq_known_ = true;
  }
  remote_discr_ = pkt.my_discr;
  remote_state_ = pkt.state;
  remote_min_rx_us_ = pkt.required_min_rx_us;
  remote_desired_tx_us_ = pkt.desired_min_tx_us;
  remote_detect_mult_ = pkt.detect_mult;
  last_rx_us_ = now_us;
  if (pkt.final) poll_active_ = false;
  if (pkt.poll) final_due_ = true;
  if (state_ == BfdState::admin_down) return BfdDiscard::none;
  if (pkt.state == BfdState::admin_down) {
    if (state_ != BfdState::down) set_state(BfdState::down, BfdDiag::neighbor_down);
  } else if (state_ == BfdState::down) {
    if (pkt.state == BfdState::down)
      set_state(BfdState::init, BfdDiag::none);
    else if (pkt.state == BfdState::init)
      set_state(BfdState::up, BfdDiag::none);
  } else if (state_ == BfdState::init) {
    if (pkt.state == BfdState::init || pkt.state == BfdState::up) set_state(BfdState::up, BfdDiag::none);
  } else if (pkt.state == BfdState::down) {  // Up
    set_state(BfdState::down, BfdDiag::neighbor_down);
  }
  return BfdDiscard::none;
}

void BfdSession::schedule_tx(uint64_t now_us, std::mt19937_64& rng) {
  // § 6.8.7: 75-100 % of the interval (75-90 % with DetectMult 1) so peers
  // do not self-synchronise.
  uint32_t interval = tx_interval_us();
  uint32_t span = cfg_.detect_mult == 1 ? 15 : 25;
  uint32_t pct = 75 + static_cast<uint32_t>(rng() % (span + (cfg_.detect_mult == 1 ? 0 : 1)));
  next_tx_us_ = now_us + uint64_t{interval} * pct / 100;
}

bool BfdSession::tick(uint64_t now_us, std::mt19937_64& rng) {
  if ((state_ == BfdState::init || state_ == BfdState::up) && detection_time_us() != 0 &&
      now_us - last_rx_us_ > detection_time_us()) {
    set_state(BfdState::down, BfdDiag::detect_timeout);
    remote_discr_ = 0;  // § 6.8.1: reset when the Detection Time expires
    remote_state_ = BfdState::down;
    auth_seq_known_ = false;
  }
  // A peer asking for RequiredMinRx 0 wants no periodic packets (§ 6.8.7).
  if (remote_min_rx_us_ == 0) return final_due_;
  if (now_us >= next_tx_us_) {
    schedule_tx(now_us, rng);
    return true;
  }
  return final_due_;
}

size_t BfdSession::build(uint8_t* buf, uint64_t) {
  bool auth = cfg_.auth.len != 0;
  size_t len = auth ? kBfdHeaderLen + kBfdSha1AuthLen : kBfdHeaderLen;
  bool fin = final_due_;
  final_due_ = false;
  buf[0] = static_cast<uint8_t>(1 << 5 | (static_cast<uint8_t>(diag_) & 0x1f));
  // P and F never together (§ 6.8.7): a Final answers, the next periodic polls.
  uint8_t flags = static_cast<uint8_t>(static_cast<uint8_t>(state_) << 6);
  if (fin) flags |= 0x10;
  if (poll_active_ && !fin) flags |= 0x20;
  if (auth) flags |= 0x04;
  buf[1] = flags;
  buf[2] = cfg_.detect_mult;
  buf[3] = static_cast<uint8_t>(len);
  store_be32(buf + 4, local_discr_);
  store_be32(buf + 8, remote_discr_);
  store_be32(buf + 12, desired_tx_now());
  store_be32(buf + 16, state_ == BfdState::admin_down ? 0 : cfg_.required_min_rx_us);
  store_be32(buf + 20, 0);  // we run no Echo function
  advertised_tx_us_ = desired_tx_now();
  if (auth) {
    uint8_t* a = buf + kBfdHeaderLen;
    a[0] = kAuthMeticulousSha1;
    a[1] = kBfdSha1AuthLen;
    a[2] = cfg_.auth.id;
    a[3] = 0;
    store_be32(a + 4, ++xmit_auth_seq_);  // meticulous: every packet
    std::memset(a + 8, 0, 20);
    std::memcpy(a + 8, cfg_.auth.key.data(), cfg_.auth.len);
    uint8_t digest[20];
    sha1(buf, len, digest);
    std::memcpy(a + 8, digest, 20);
  }
  return len;
}

void BfdSession::set_admin_down(bool down) {
  if (down)
    set_state(BfdState::admin_down, BfdDiag::admin_down);
  else if (state_ == BfdState::admin_down)
    set_state(BfdState::down, BfdDiag::none);
}

void BfdSession::set_intervals(uint32_t desired_min_tx_us, uint32_t required_min_rx_us) {
  bool changed = desired_min_tx_us != cfg_.desired_min_tx_us || required_min_rx_us != cfg_.required_min_rx_us;
  cfg_.desired_min_tx_us = desired_min_tx_us;
  cfg_.required_min_rx_us = required_min_rx_us;
  if (changed && state_ == BfdState::up) {
    poll_active_ = true;
    next_tx_us_ = 0;
  }
}

}  // namespace wp
