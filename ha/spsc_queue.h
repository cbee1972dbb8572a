// A bounded single-producer single-consumer queue between two threads (#17:
// the sync encoder hands encoded messages to the HA thread, sync_encoder.h).
//
// Ownership: exactly one thread calls push() (it owns tail_), exactly one
// other thread calls pop() (it owns head_); either may read size(). Each side
// publishes its index with a release store and reads the other's with an
// acquire load, so a slot's contents are visible to the consumer before it
// sees the slot as filled, and to the producer only after the consumer moved
// the value out. No locks, no allocation after construction. A full queue
// refuses the push (the producer keeps the value and decides: here, it stops
// draining the workers' event rings, whose own drops are counted).
#pragma once

#include <atomic>
#include <cstddef>
#include <memory>
#include <utility>

namespace wp::ha {

template <typename T>
class SpscQueue {
 public:
  // `capacity` is rounded up to a power of two (at least 2).
  explicit SpscQueue(size_t capacity) {
    size_t c = 2;
    while (c < capacity) c <<= 1;
    mask_ = c - 1;
    slots_ = std::make_unique<T[]>(c);
  }
  SpscQueue(const SpscQueue&) = delete;
  SpscQueue& operator=(const SpscQueue&) = delete;

  size_t capacity() const { return mask_ + 1; }
  // Producer only. False (v untouched) when full.
  bool push(T& v) {
    const size_t t = tail_.load(std::memory_order_relaxed);
    if (t - head_.load(std::memory_order_acquire) > mask_) return false;
    slots_[t & mask_] = std::move(v);
    tail_.store(t + 1, std::memory_order_release);
    return true;
  }
  // Consumer only. False when empty.
  bool pop(T& out) {
    const size_t h = head_.load(std::memory_order_relaxed);
    if (h == tail_.load(std::memory_order_acquire)) return false;
    out = std::move(slots_[h & mask_]);
    head_.store(h + 1, std::memory_order_release);
    return true;
  }
  // Either side; exact only when the other side is idle.
  size_t size() const { return tail_.load(std::memory_order_acquire) - head_.load(std::memory_order_acquire); }
  bool empty() const { return size() == 0; }

 private:
  size_t mask_ = 0;
  std::unique_ptr<T[]> slots_;
  alignas(64) std::atomic<size_t> head_{0};  // next slot to pop (consumer's)
  alignas(64) std::atomic<size_t> tail_{0};  // next slot to fill (producer's)
};

}  // namespace wp::ha
