// wpgen's traffic engine: one lcore plays both ends of many UDP sessions
// through a device under test (docs/architecture.md § Tests).
//
// The client port sends each session's first request (a new 5-tuple for the
// router: first-packet path) at the configured setup rate, then, for the
// steady phase, requests round-robin over the opened sessions (fast path).
// The server port answers every request it receives by echoing it in place,
// so replies carry the request's stamp back: the client end counts a session
// established on its first reply, checks every reply's addresses against the
// plan (the routers must restore them exactly), and records the round trip
// from the stamp. A window bounds requests in flight so a slower DUT is
// measured, not flooded; requests with no reply when the run ends are lost.
// Transmit is backpressured (a full peer ring is retried, never dropped by
// the generator). Nothing allocates on the packet loop.
#pragma once

#include <rte_mbuf.h>

#include <csignal>
#include <cstdint>
#include <string>
#include <vector>

#include "tools/wpgen/flow_plan.h"
#include "tools/wpgen/frames.h"
#include "tools/wpgen/latency.h"
#include "tools/wpgen/size_mix.h"

namespace wp::gen {

struct GenOptions {
  FlowPlan plan;
  uint32_t sessions = 1000;
  double setup_rate = 0;                // new sessions per second; 0 = as fast as the window allows
  double pps = 0;                       // steady-phase requests per second; 0 = window-limited
  double duration_s = 0;                // steady phase
  SizeMix mix = *SizeMix::parse("64");  // steady-phase requests
  // A session's first packet (the router's first-packet path adds ~150 bytes
  // of metadata and HMAC to it, so a 1518-byte opener would exceed the MTU).
  uint16_t first_frame = 64;
  uint32_t window = 4096;  // requests in flight at most
  uint16_t client_port = 0, server_port = 1;
  uint16_t queues = 1;                    // rx/tx queues configured (and rx polled) per port
  uint16_t tx_queues = 1;                 // sessions are spread over this many tx queues (RSS stand-in)
  Ipv4 client_gw = 0, server_gw = 0;      // the routers' LAN addresses
  Ipv4 client_self = 0, server_self = 0;  // our source address for ARP requests
  uint32_t drain_ms = 1000;               // wait for late replies / stalled setup
  // Sessions opened before the timed setup phase, at most kWarmupWindow in
  // flight: they make both routers resolve every client, service and peer
  // address by ARP (a router queues only a few packets per unresolved
  // neighbor, so a burst of first packets to a new neighbor would be dropped
  // and measure ARP, not session setup). Default: clients x services.
  int64_t warmup = -1;
  // No routers to ARP for (a plain forwarder such as testpmd io-fwd between
  // the two ports): requests go to the broadcast MAC.
  bool no_arp = false;
  // A source-NAT box in between (the nftables baseline): the server end sees
  // a translated source, so only the client end's check applies.
  bool server_snat = false;
  uint32_t setup_timeout_s = 60;
  uint32_t mbufs = 32767;
};

struct PortCounters {
  uint64_t rx = 0, tx = 0, tx_dropped = 0, arp_answered = 0, unexpected = 0;
};

struct GenReport {
  uint64_t opened = 0, established = 0;
  uint64_t warmup_sessions = 0, warmup_established = 0;  // included in opened/established
  uint64_t requests = 0, server_rx = 0, replies = 0;
  uint64_t server_mismatch = 0, reply_mismatch = 0, duplicate_first = 0;
  double setup_s = 0;  // after warm-up: first session opened .. last session established
  double steady_s = 0;
  uint64_t steady_requests = 0, steady_delivered = 0;  // delivered: server rx + client rx
  LatencyHistogram setup_latency, steady_latency;
  PortCounters client, server;
  bool stopped = false;  // interrupted by a signal
  uint64_t lost() const { return requests > replies ? requests - replies : 0; }
  double setup_per_s() const {
    return setup_s > 0 ? static_cast<double>(established - warmup_established) / setup_s : 0;
  }
  double steady_pps() const { return steady_s > 0 ? static_cast<double>(steady_delivered) / steady_s : 0; }
};

class Generator {
 public:
  ~Generator();
  // Pool, both ports (queues, start), gateway MACs by ARP. False with `error`.
  bool start(const GenOptions& opt, std::string& error);
  GenReport run(volatile std::sig_atomic_t* stop);
  void stop_ports();

 private:
  static constexpr uint16_t kBurst = 32;
  static constexpr uint16_t kMaxQueues = 16;
  struct TxBuffer {
    uint16_t n = 0;
    rte_mbuf* pkts[2 * kBurst];
  };
  enum Side { kClient = 0, kServer = 1 };

  uint32_t poll(uint64_t now);
  void handle(Side side, rte_mbuf* m, uint64_t now);
  void handle_client(rte_mbuf* m, const SeenFrame& f, uint64_t now);
  void handle_server(rte_mbuf* m, const SeenFrame& f, uint16_t queue);
  void handle_arp(Side side, rte_mbuf* m, const ArpSeen& a);
  uint32_t send_requests(uint32_t n, bool first, uint64_t now);
  void push(Side side, uint16_t queue, rte_mbuf* m);
  void flush(Side side, uint16_t queue);
  void flush_all();
  bool tx_backlogged() const;
  bool resolve_gateways(std::string& error);
  uint64_t inflight() const { return report_.requests - report_.replies - written_off_; }
  bool is_established(uint32_t i) const { return established_bits_[i / 64] >> (i % 64) & 1; }
  // Opens sessions up to `until` with at most `window` in flight, paced by
  // `rate` from `t0`; returns when all are opened and answered (or stalled).
  void open_sessions(uint64_t until, uint64_t window, double rate, uint64_t t0, volatile std::sig_atomic_t* stop);
  static constexpr uint32_t kWarmupWindow = 8;

  GenOptions opt_;
  rte_mempool* pool_ = nullptr;
  uint16_t port_[2] = {0, 1};
  Mac mac_[2];
  Mac gw_mac_[2];
  bool gw_known_[2] = {false, false};
  bool started_[2] = {false, false};
  TxBuffer tx_[2][kMaxQueues];
  std::vector<uint64_t> established_bits_;
  GenReport report_;
  uint64_t written_off_ = 0;
  uint64_t hz_ = 1;
  uint64_t last_established_tsc_ = 0;
  uint64_t last_reply_tsc_ = 0;
  uint32_t cursor_ = 0;  // next session of the steady phase
};

}  // namespace wp::gen
