// Batched handoff with in-order hold; see handoff.h.
#include "dataplane/worker/handoff.h"

#include <rte_ring.h>

namespace wp {

Handoff::Handoff(WorkerContext& ctx)
    : ctx_(ctx), staged_(size_t{ctx.shared.workers} * kMaxBurst), n_staged_(ctx.shared.workers, 0) {
  owners_staged_.reserve(ctx.shared.workers);
}

void Handoff::stage(rte_mbuf* m, uint32_t owner) {
  if (held_n_) return hold(m, owner);  // behind what is already held
  if (n_staged_[owner] == kMaxBurst) send_staged();
  if (held_n_) return hold(m, owner);
  if (n_staged_[owner] == 0) owners_staged_.push_back(owner);
  staged(owner)[n_staged_[owner]++] = m;
}

uint32_t Handoff::send(uint32_t owner, rte_mbuf** pkts, uint32_t n) {
  unsigned sent =
      rte_ring_sp_enqueue_burst(ctx_.shared.handoff_ring(ctx_.id, owner), reinterpret_cast<void**>(pkts), n, nullptr);
  ctx_.counters->add(Counter::handoff_out, sent);
  ctx_.counters->add(Counter::handoff_bursts);
  return sent;
}

void Handoff::send_staged() {
  for (uint32_t owner : owners_staged_) {
    uint32_t n = n_staged_[owner];
    n_staged_[owner] = 0;
    rte_mbuf** pkts = staged(owner);
    uint32_t sent = send(owner, pkts, n);
    for (uint32_t i = sent; i < n; ++i) hold(pkts[i], owner);
  }
  owners_staged_.clear();
}

void Handoff::hold(rte_mbuf* m, uint32_t owner) {
  if (held_n_ == kMaxHeld) {  // only when a caller feeds bursts without polling
    ctx_.drop(m, DropReason::handoff_full);
    return;
  }
  if (held_n_ == 0 && !retrying_) {
    held_since_ms_ = ctx_.now_ms;
    ctx_.counters->add(Counter::handoff_held);
  }
  held_[held_n_] = m;
  held_owner_[held_n_++] = owner;
}

uint32_t Handoff::retry_held() {
  if (held_n_ == 0) return 0;
  // Each owner's held packets, in order, as one burst; an owner's ring that
  // takes only some keeps the rest (a prefix went, so the order holds).
  uint32_t n = held_n_;
  for (uint32_t i = 0; i < n; ++i) {
    uint32_t owner = held_owner_[i];
    if (n_staged_[owner] == 0) owners_staged_.push_back(owner);
    staged(owner)[n_staged_[owner]++] = held_[i];
  }
  held_n_ = 0;
  retrying_ = true;
  send_staged();
  retrying_ = false;
  uint32_t sent = n - held_n_;
  if (held_n_ == 0) return sent;
  // A slow owner is still an owner: the limit is on time without progress.
  if (sent) held_since_ms_ = ctx_.now_ms;
  if (ctx_.now_ms - held_since_ms_ >= kHoldMs) drop_held();
  return sent;
}

void Handoff::drop_held() {
  for (uint32_t i = 0; i < held_n_; ++i) ctx_.drop(held_[i], DropReason::handoff_full);
  held_n_ = 0;
}

}  // namespace wp
