// libFuzzer target for BFD control packets (paths/bfd.h: parse_bfd, then
// BfdSession::receive with its keyed SHA-1 check; RFC 5880 § 6.8.6).
//
// BFD packets arrive from the WAN on UDP 3784, so the parser and the
// session's reception rules see hostile bytes. One session (ours, local
// discriminator kBfdLocalDiscr) receives a sequence of packets while its clock
// advances, which walks the state machine (Down, Init, Up, detection
// timeouts, Poll/Final) and the authentication checks:
//
//   byte 0       bit 0: meticulous keyed SHA-1 with kBfdKey (fuzz_shared.h), else
//                none; bits 1-2: DetectMult - 1; bit 3: start administratively down
//   records      [length][clock advance, 10 ms units][length bytes: a packet]
//
// Records with a zero length still advance the clock (detection timeouts).
// Checked: a packet that parses claims no more bytes than it has; what
// receive() accepts becomes the remote state; every packet the session
// builds parses, has the F bit when a Final was due, and passes the
// reception checks (digest included) of a peer with the same key.
// wp_fuzz_seeds writes seeds in this format (a peer bringing the session
// up, with and without authentication).
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <random>

#include "dataplane/paths/bfd.h"
#include "tests/fuzz/fuzz_shared.h"

namespace {

void check(bool ok) {
  if (!ok) __builtin_trap();
}

using wp::fuzz::kBfdKeyId;
using wp::fuzz::kBfdLocalDiscr;

// What we send must be what a peer with the same configuration accepts.
void check_own_packet(wp::BfdSession& s, const wp::BfdConfig& cfg, uint64_t now, bool final_due) {
  uint8_t buf[wp::kBfdMaxLen];
  size_t n = s.build(buf, now);
  check(n == (cfg.auth.len ? wp::kBfdMaxLen : wp::kBfdHeaderLen));
  check(!s.final_due());
  wp::BfdPacket p;
  wp::BfdDiscard why;
  check(wp::parse_bfd(buf, n, p, why) && why == wp::BfdDiscard::none);
  check(p.my_discr == kBfdLocalDiscr && p.state == s.state() && p.final == final_due && !(p.poll && p.final));
  wp::BfdSession peer(p.your_discr ? p.your_discr : wp::fuzz::kBfdPeerDiscr, cfg, 0);
  check(peer.receive(p, buf, n, now) == wp::BfdDiscard::none);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const wp::BfdConfig cfg = wp::fuzz::bfd_config(data[0]);
  wp::BfdSession s(kBfdLocalDiscr, cfg, 1000);
  if (data[0] & wp::fuzz::kBfdModeAdminDown) s.set_admin_down(true);
  std::mt19937_64 rng(1);
  uint64_t now = 1000000;
  size_t off = 1;
  while (size - off >= 2) {
    const size_t len = data[off] <= size - off - 2 ? data[off] : size - off - 2;
    now += uint64_t{wp::fuzz::kBfdTickUs} * data[off + 1];
    off += 2;
    // An exact-size copy, as the packet's UDP payload would be.
    uint8_t pkt[256];
    std::memcpy(pkt, data + off, len);
    off += len;

    if (s.tick(now, rng)) check_own_packet(s, cfg, now, s.final_due());
    wp::BfdPacket p;
    wp::BfdDiscard why;
    bool ok = wp::parse_bfd(pkt, len, p, why);
    check(ok == (why == wp::BfdDiscard::none));
    if (!ok) continue;
    check(p.length <= len && p.length >= wp::kBfdHeaderLen && p.version == 1 && p.detect_mult > 0 && p.my_discr);
    wp::BfdDiscard got = s.receive(p, pkt, len, now);
    if (got == wp::BfdDiscard::none) {
      check(s.remote_discr() == p.my_discr && s.remote_state() == p.state);
      if (cfg.auth.len) check(p.auth && p.auth_type == 5 && p.auth_key_id == kBfdKeyId);
    } else {
      check(got == wp::BfdDiscard::unknown_your_discriminator || got == wp::BfdDiscard::auth_mismatch ||
            got == wp::BfdDiscard::auth_sequence || got == wp::BfdDiscard::auth_digest);
    }
    if (s.final_due()) check_own_packet(s, cfg, now, true);
  }
  return 0;
}
