// Offload feedback on a worker; see offload_follower.h.
#include "dataplane/worker/offload_follower.h"

#include <rte_ring_elem.h>

#include "dataplane/worker/offload_feedback.h"
#include "dataplane/worker/route6_step.h"

namespace wp {

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
    Session& s = *ref.session;
    for (int d = 0; d < 2; ++d) {
      s.packets[d] += f.packets[d];
      s.bytes[d] += f.bytes[d];
    }
    if (f.packets[0] || f.packets[1]) s.last_ms = ctx_.now_ms;
    ctx_.counters->add(Counter::offload_feedback);
    // Packets the worker forwarded itself (SYN/FIN/RST, cookie data) also
    // count as activity: end the session only if it is idle by its own clock
    // too, give or take the manager's poll period (offload.poll_ms <= 1 s).
    int32_t idle = static_cast<int32_t>(ctx_.now_ms - s.last_ms);
    const auto timeout = static_cast<int32_t>(SessionTable::timeout_ms(s, ctx_.shared.timeouts));
    if (f.kind == OffloadFeedbackKind::aged && idle + Route6Step::kOffloadPollSlackMs >= timeout) {
      ctx_.post_event(SessionEventKind::closed, s, SessionEndReason::idle_timeout);
      ctx_.remove_session(&s);
      ctx_.counters->add(Counter::offload_aged);
      ctx_.counters->add(Counter::sessions_expired);
      ctx_.count_active();
    }
  }
  if (ring6_ && route6_) {
    OffloadFeedback6 fb6[16];
    unsigned n6 = rte_ring_sc_dequeue_burst_elem(ring6_, fb6, sizeof(OffloadFeedback6), 16, nullptr);
    for (unsigned i = 0; i < n6; ++i) route6_->offload_feedback(fb6[i]);
    n += n6;
  }
  return n;
}

}  // namespace wp
