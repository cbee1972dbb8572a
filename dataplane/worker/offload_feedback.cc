// A worker applies the offload manager's feedback to its own
// sessions (offload_feedback.h). Only the owner writes its table, so the
// manager never touches a live session.
#include <rte_ring.h>

#include "dataplane/worker/worker.h"

namespace wp {

uint32_t Worker::drain_offload_feedback() {
  OffloadFeedback fb[16];
  unsigned n = rte_ring_sc_dequeue_burst_elem(offload_feedback_, fb, sizeof(OffloadFeedback), 16, nullptr);
  for (unsigned i = 0; i < n; ++i) {
    const OffloadFeedback& f = fb[i];
    SessionRef ref = table_.lookup(f.key);
    // The session may have ended (or been replaced) since the manager read the counters.
    if (!ref || ref.dir != Dir::forward || ref.session->uuid != f.uuid) {
      counters_->add(Counter::offload_feedback_stale);
      continue;
    }
    Session& s = *ref.session;
    for (int d = 0; d < 2; ++d) {
      s.packets[d] += f.packets[d];
      s.bytes[d] += f.bytes[d];
    }
    if (f.packets[0] || f.packets[1]) s.last_ms = now_ms_;
    counters_->add(Counter::offload_feedback);
    // Packets the worker forwarded itself (SYN/FIN/RST, cookie data) also
    // count as activity: end the session only if it is idle by its own clock
    // too, give or take the manager's poll period (offload.poll_ms <= 1 s).
    constexpr int32_t kPollSlackMs = 2000;
    int32_t idle = static_cast<int32_t>(now_ms_ - s.last_ms);
    if (f.kind == OffloadFeedbackKind::aged &&
        idle + kPollSlackMs >= static_cast<int32_t>(SessionTable::timeout_ms(s, shared_.timeouts))) {
      post_event(SessionEventKind::closed, s, SessionEndReason::idle_timeout);
      table_.remove(&s);
      counters_->add(Counter::offload_aged);
      counters_->add(Counter::sessions_expired);
      counters_->sessions_active.store(table_.size(), std::memory_order_relaxed);
    }
  }
  return n;
}

}  // namespace wp
