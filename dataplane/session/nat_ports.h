// Source-NAT ports of one worker for internet breakout (docs/operations.md §
// Breakout), under the owner rule (session/owner.h).
//
// A reply from the internet carries the NAT port as its destination port and
// is dispatched like SVR traffic, by the class in that port:
// owner = ((port >> 1) & 63) % workers. So each worker allocates only ports
// of the classes it owns, and replies reach the worker holding the session
// with no lookup, lock or handoff. All ports of the waypoint range
// (16384-65534) are split that way, even and odd alike (SVR's port pairs
// differ from a breakout tuple in the remote address, and a clash is checked
// at binding). One pool per protocol (TCP, UDP, ICMP echo identifiers),
// preallocated at start: a FIFO of free ports, so a freed port waits behind
// all others before it is reused (the remote side's TIME_WAIT), and an in-use
// bitmap so a port that is not ours or not in use is never given back twice.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

namespace wp {

class NatPorts {
 public:
  NatPorts(uint32_t worker, uint32_t workers);

  // Pool index of an IP protocol, or -1 when breakout does not translate it.
  static int pool_of(uint8_t proto);
  // A free port of `proto` whose class this worker owns; 0 when none is left.
  uint16_t take(uint8_t proto);
  // Gives `port` back; ignored unless it is ours and in use.
  void give(uint8_t proto, uint16_t port);
  uint32_t available(uint8_t proto) const;
  uint32_t capacity() const { return capacity_; }  // ports per protocol

 private:
  struct Pool {
    std::vector<uint16_t> ring;  // free ports, FIFO
    uint32_t head = 0, count = 0;
    std::array<uint64_t, 1024> used{};  // one bit per port value
  };
  std::array<Pool, 3> pools_;
  uint32_t capacity_ = 0;
};

}  // namespace wp
