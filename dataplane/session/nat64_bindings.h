// A worker's stateful NAT64 bindings (RFC 6146 § 3.1's Binding Information
// Base): (IPv6 source, port or echo identifier, protocol) <-> (IPv4 pool
// address, port), looked up both ways without allocation or locks.
//
// Ports come from a NatPorts of this worker's own (nat_ports.h), so an IPv4
// reply to a binding's port is dispatched to the worker that holds it by the
// class in the port, as breakout's are. The pool address of an IPv6 host is a
// keyed hash of its address: one host always appears as one IPv4 address
// ("paired" pooling, RFC 6146 § 3.5.1.1; RFC 4787 REQ-2), and ports are shared
// by all pool addresses (one NatPorts), which bounds a worker to its ~49 000 /
// workers ports per protocol whatever the pool size. Both indexes are
// 8-way buckets of slot numbers by SipHash of the key with a per-process
// secret; a full bucket refuses the binding (`full`) rather than evict a live
// one. Bindings expire after RFC 6146 § 4's idle times (UDP 5 min, TCP
// 2 h 4 min, ICMP echo 60 s); expire() sweeps a budget of slots per call.
// Protocols are the IPv4 side's (TCP, UDP, ICMP): the caller maps ICMPv6.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <vector>

#include "dataplane/ip/ipv4.h"
#include "dataplane/ip/ipv6.h"
#include "dataplane/ip/keyed_hash.h"
#include "dataplane/session/nat_ports.h"

namespace wp {

class Nat64Bindings {
 public:
  static constexpr uint32_t kWays = 8;
  static constexpr size_t kMaxPool = 16;
  static constexpr uint32_t kUdpMs = 300000, kTcpMs = 7440000, kIcmpMs = 60000;

  struct Binding {
    Ipv6 v6;
    uint16_t v6_port = 0;
    uint8_t proto = 0;  // 0: free slot
    Ipv4 v4 = 0;
    uint16_t v4_port = 0;
    uint32_t used_ms = 0;
  };
  enum class Made : uint8_t { found, created, no_pool, no_port, full };

  // `capacity`: bindings (a power of two, at least kWays); allocated here, once.
  Nat64Bindings(uint32_t capacity, uint32_t worker, uint32_t workers, HashSecret secret = boot_secret());
  void set_pool(std::span<const Ipv4> pool);  // the first kMaxPool addresses

  // The binding of an outbound packet, made when there is none.
  const Binding* outbound(const Ipv6& src, uint16_t port, uint8_t proto, uint32_t now_ms, Made& how);
  // The binding of an outbound packet if there is one (its idle clock restarted), else null:
  // what outbound() finds, for a caller that admits new bindings first (worker/nat64_step.h).
  const Binding* find(const Ipv6& src, uint16_t port, uint8_t proto, uint32_t now_ms);
  // The binding an inbound packet (to a pool address and port) belongs to, or null.
  const Binding* inbound(Ipv4 dst, uint16_t port, uint8_t proto, uint32_t now_ms);
  // Removes up to `budget` slots' worth of idle bindings; returns how many went.
  uint32_t expire(uint32_t now_ms, uint32_t budget);
  uint32_t size() const { return used_; }
  static uint32_t idle_ms(uint8_t proto);

 private:
  static constexpr uint32_t kEmpty = ~0u;
  uint32_t fwd_bucket(const Ipv6& src, uint16_t port, uint8_t proto) const;
  uint32_t rev_bucket(Ipv4 v4, uint16_t port, uint8_t proto) const;
  uint32_t* free_way(std::vector<uint32_t>& index, uint32_t bucket);
  void unindex(std::vector<uint32_t>& index, uint32_t bucket, uint32_t slot);
  void remove(uint32_t slot);

  HashSecret secret_;
  std::vector<Binding> slots_;
  std::vector<uint32_t> fwd_, rev_;  // buckets of kWays slot numbers
  std::vector<uint32_t> free_;       // free slot numbers, a stack
  NatPorts ports_;
  std::array<Ipv4, kMaxPool> pool_{};
  uint32_t pool_size_ = 0;
  uint32_t used_ = 0;
  uint32_t hand_ = 0;
};

}  // namespace wp
