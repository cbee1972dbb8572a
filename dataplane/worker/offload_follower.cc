// Offload feedback on a worker; see offload_follower.h.
#include "dataplane/worker/offload_follower.h"

#include <rte_ring_elem.h>

#include <algorithm>

#include "dataplane/ip/ipv6.h"
#include "dataplane/worker/offload_feedback.h"
#include "dataplane/worker/route6_step.h"

namespace wp {

void OffloadFollower::follow(Session& s, const uint64_t packets[2], const uint64_t bytes[2], OffloadFeedbackKind kind) {
  for (int d = 0; d < 2; ++d) {
    s.packets[d] += packets[d];
    s.bytes[d] += bytes[d];
  }
  if (packets[0] || packets[1]) s.last_ms = ctx_.now_ms;
  ctx_.counters->add(Counter::offload_feedback);
  // Packets the worker forwarded itself (SYN/FIN/RST, cookie data) also
  // count as activity: end the session only if it is idle by its own clock
  // too, give or take the manager's poll period (offload.poll_ms <= 1 s).
  int32_t idle = static_cast<int32_t>(ctx_.now_ms - s.last_ms);
  const auto timeout = static_cast<int32_t>(SessionTable::timeout_ms(s, ctx_.shared.timeouts));
  // The HA peer's session (handed back while its rules aged) is the peer's to end.
  if (kind == OffloadFeedbackKind::aged && !(s.flags & kPeerSession) &&
      idle + Route6Step::kOffloadPollSlackMs >= timeout) {
    ctx_.post_event(SessionEventKind::closed, s, SessionEndReason::idle_timeout);
    ctx_.remove_session(&s);  // and the Session6 it carries, if any
    ctx_.counters->add(Counter::offload_aged);
    ctx_.counters->add(Counter::sessions_expired);
    ctx_.count_active();
  }
}

uint32_t OffloadFollower::drain() {
  OffloadFeedback fb[16];
  unsigned n = rte_ring_sc_dequeue_burst_elem(ring_, fb, sizeof(OffloadFeedback), 16, nullptr);
  for (unsigned i = 0; i < n; ++i) {
    const OffloadFeedback& f = fb[i];
    SessionRef ref = ctx_.table.lookup(f.key);
    // The session may have ended (or been replaced) since the manager read the counters.
    if (!ref || ref.dir != Dir::forward || ref.session->uuid != f.uuid) {
      ctx_.counters->add(Counter::offload_feedback_stale);
      continue;
    }
    follow(*ref.session, f.packets, f.bytes, f.kind);
  }
  if (ring6_ && route6_) {
    OffloadFeedback6 fb6[16];
    unsigned n6 = rte_ring_sc_dequeue_burst_elem(ring6_, fb6, sizeof(OffloadFeedback6), 16, nullptr);
    for (unsigned i = 0; i < n6; ++i) {
      // Between IPv6 waypoints: the Session6 took the IPv6 counts; its SVR session counts the
      // packets as it carries them (an IPv4 header, 20 bytes shorter) and ages them both.
      Session* carrier = route6_->offload_feedback(fb6[i]);
      if (!carrier || carrier->uuid != fb6[i].uuid) continue;
      uint64_t bytes4[2];
      for (int d = 0; d < 2; ++d)
        bytes4[d] = fb6[i].bytes[d] - std::min(fb6[i].bytes[d], fb6[i].packets[d] * (kIpv6HdrLen - 20));
      follow(*carrier, fb6[i].packets, bytes4, fb6[i].kind);
    }
    n += n6;
  }
  return n;
}

}  // namespace wp
