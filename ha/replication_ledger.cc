// Acknowledged replication; see replication_ledger.h.
#include "ha/replication_ledger.h"

namespace wp::ha {

void ReplicationLedger::sent(Message m) {
  ops_ += m.ops;
  kept_.push_back(std::move(m));
  while (ops_ > max_ops_ && kept_.size() > 1) {
    ops_ -= kept_.front().ops;
    forgotten_ += kept_.front().ops;
    kept_.pop_front();
  }
}

void ReplicationLedger::acked(uint64_t seq) {
  while (!kept_.empty() && kept_.front().seq <= seq) {
    ops_ -= kept_.front().ops;
    kept_.pop_front();
  }
}

std::deque<ReplicationLedger::Message> ReplicationLedger::take_unacked() {
  std::deque<Message> out;
  out.swap(kept_);
  ops_ = 0;
  return out;
}

uint64_t ReplicationLedger::lag_ms(uint64_t now_ms) const {
  if (kept_.empty()) return 0;
  uint64_t oldest = kept_.front().oldest_ms;
  return now_ms > oldest ? now_ms - oldest : 0;
}

}  // namespace wp::ha
