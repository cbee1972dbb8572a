// Source-NAT ports of one worker for internet breakout (docs/operations.md §
// Breakout), under the owner rule (session/owner.h).
//
// A reply from the internet carries the NAT port as its destination port and
// is dispatched like SVR traffic, by the class in that port:
// owner = ((port >> 1) & 63) % workers. So each worker allocates only ports
// of the classes it owns, and replies reach the worker holding the session
// with no lookup, lock or handoff. All ports of the waypoint range
// (16384-65534) are split that way, even and odd alike.
//
// Ports are endpoint-dependent, as in VPP's NAT44-ED and Linux conntrack: one
// port carries many sessions as long as their remote ends differ, because a
// reply is found by its whole 5-tuple (remote address and port included). So
// the limit is ports per remote endpoint (~49 k per protocol with 1 worker),
// not ports per router. take() hands the ports out in rotation and counts the
// sessions on each; the caller checks that the reply key is free in its
// session table (a session to the same remote end on that port, or an SVR
// session of the same address) and, if not, gives the port back and takes the
// next. Rotation means a port comes back to the same remote end only after
// every other port was handed out (the remote side's TIME_WAIT).
// One pool per protocol (TCP, UDP, ICMP echo identifiers), preallocated.
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
  // The next port of `proto` in rotation whose class this worker owns, its session
  // count raised; 0 when the protocol is not translated or no port can take more.
  uint16_t take(uint8_t proto);
  // One session less on `port`; ignored unless it is ours and in use.
  void give(uint8_t proto, uint16_t port);
  uint32_t available(uint8_t proto) const;   // ports with no session
  uint32_t capacity() const { return capacity_; }  // ports per protocol
  uint32_t uses(uint8_t proto, uint16_t port) const;

 private:
  static constexpr uint16_t kMaxUses = UINT16_MAX;
  struct Pool {
    uint32_t next = 0;                        // rotation position in ports_
    uint32_t idle = 0;                        // ports with no session
    std::vector<uint16_t> uses = std::vector<uint16_t>(65536);  // sessions per port value
  };
  std::vector<uint16_t> ports_;  // this worker's ports, ascending
  std::array<Pool, 3> pools_;
  uint32_t capacity_ = 0;
};

}  // namespace wp
