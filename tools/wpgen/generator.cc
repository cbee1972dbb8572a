// wpgen traffic engine; see generator.h.
#include "tools/wpgen/generator.h"

#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "dataplane/ip/packet.h"

namespace wp::gen {

Generator::~Generator() { stop_ports(); }

void Generator::stop_ports() {
  for (int s = 0; s < 2; ++s) {
    if (!started_[s]) continue;
    for (uint16_t q = 0; q < opt_.queues; ++q)
      for (uint16_t i = 0; i < tx_[s][q].n; ++i) rte_pktmbuf_free(tx_[s][q].pkts[i]);
    rte_eth_dev_stop(port_[s]);
    rte_eth_dev_close(port_[s]);
    started_[s] = false;
  }
}

bool Generator::start(const GenOptions& opt, std::string& error) {
  opt_ = opt;
  if (opt_.queues == 0 || opt_.queues > kMaxQueues) return error = "--queues must be 1..16", false;
  if (opt_.tx_queues == 0 || opt_.tx_queues > opt_.queues) return error = "--tx-queues must be 1..queues", false;
  if (std::string e = opt_.plan.check(opt_.sessions); !e.empty()) return error = e, false;
  hz_ = rte_get_tsc_hz();
  established_bits_.assign((opt_.sessions + 63) / 64, 0);
  pool_ = rte_pktmbuf_pool_create("wpgen_pool", opt_.mbufs, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
                                  static_cast<int>(rte_socket_id()));
  if (!pool_) return error = std::string("mbuf pool: ") + rte_strerror(rte_errno) + " (raise EAL -m)", false;
  port_[kClient] = opt_.client_port;
  port_[kServer] = opt_.server_port;
  const char* names[2] = {"client", "server"};
  for (int s = 0; s < 2; ++s) {
    uint16_t p = port_[s];
    std::string what = std::string(names[s]) + " port " + std::to_string(p);
    if (!rte_eth_dev_is_valid_port(p)) return error = what + ": no such port (pass two --vdev)", false;
    rte_eth_dev_info info;
    if (rte_eth_dev_info_get(p, &info) != 0) return error = what + ": cannot query", false;
    if (info.max_rx_queues < opt_.queues || info.max_tx_queues < opt_.queues)
      return error = what + ": has " + std::to_string(info.max_rx_queues) + " queues, --queues wants " +
                     std::to_string(opt_.queues),
             false;
    rte_eth_conf conf{};
    if (int rc = rte_eth_dev_configure(p, opt_.queues, opt_.queues, &conf); rc != 0)
      return error = what + ": configure: " + rte_strerror(-rc), false;
    uint16_t rxd = 1024, txd = 1024;
    rte_eth_dev_adjust_nb_rx_tx_desc(p, &rxd, &txd);
    for (uint16_t q = 0; q < opt_.queues; ++q) {
      if (int rc = rte_eth_rx_queue_setup(p, q, rxd, rte_eth_dev_socket_id(p), nullptr, pool_); rc != 0)
        return error = what + ": rx queue " + std::to_string(q) + ": " + rte_strerror(-rc), false;
      if (int rc = rte_eth_tx_queue_setup(p, q, txd, rte_eth_dev_socket_id(p), nullptr); rc != 0)
        return error = what + ": tx queue " + std::to_string(q) + ": " + rte_strerror(-rc), false;
    }
    if (int rc = rte_eth_dev_start(p); rc != 0) return error = what + ": start: " + rte_strerror(-rc), false;
    started_[s] = true;
    rte_eth_promiscuous_enable(p);
    rte_ether_addr mac;
    rte_eth_macaddr_get(p, &mac);
    std::memcpy(mac_[s].b, mac.addr_bytes, 6);
  }
  // memif links come up when the peer connects: wait, or the first requests
  // would be counted as sent into a link that is down.
  uint64_t deadline = rte_get_tsc_cycles() + hz_ * opt_.setup_timeout_s;
  for (int s = 0; s < 2; ++s) {
    rte_eth_link link{};
    while (rte_eth_link_get_nowait(port_[s], &link) == 0 && link.link_status != RTE_ETH_LINK_UP) {
      if (rte_get_tsc_cycles() > deadline)
        return error = std::string(names[s]) + " port " + std::to_string(port_[s]) + ": link did not come up", false;
      usleep(10000);
    }
  }
  if (opt_.no_arp) {
    std::memset(gw_mac_[kClient].b, 0xff, 6);
    std::memset(gw_mac_[kServer].b, 0xff, 6);
    return true;
  }
  return resolve_gateways(error);
}

// ARP for both routers' LAN addresses every 200 ms until answered (memif
// links come up when the peer connects, so early requests may go nowhere).
bool Generator::resolve_gateways(std::string& error) {
  const Ipv4 gw[2] = {opt_.client_gw, opt_.server_gw};
  const Ipv4 self[2] = {opt_.client_self, opt_.server_self};
  uint64_t deadline = rte_get_tsc_cycles() + hz_ * opt_.setup_timeout_s;
  uint64_t next_ask = 0;
  while (!(gw_known_[kClient] && gw_known_[kServer])) {
    uint64_t now = rte_get_tsc_cycles();
    if (now > deadline)
      return error = std::string("no ARP reply from the ") + (gw_known_[kClient] ? "server" : "client") +
                     "-side gateway " + format_ipv4(gw[gw_known_[kClient] ? 1 : 0]) + " (is the router up?)",
             false;
    if (now >= next_ask) {
      for (int s = 0; s < 2; ++s) {
        if (gw_known_[s]) continue;
        rte_mbuf* m = rte_pktmbuf_alloc(pool_);
        if (!m) continue;
        uint16_t len = build_arp_request(rte_pktmbuf_mtod(m, uint8_t*), mac_[s], self[s], gw[s]);
        m->data_len = m->pkt_len = len;
        push(static_cast<Side>(s), 0, m);
      }
      next_ask = now + hz_ / 5;
    }
    poll(now);
    usleep(1000);
  }
  return true;
}

void Generator::push(Side side, uint16_t queue, rte_mbuf* m) {
  TxBuffer& b = tx_[side][queue];
  if (b.n == std::size(b.pkts)) flush(side, queue);
  if (b.n == std::size(b.pkts)) {  // peer not draining: only here does wpgen drop
    rte_pktmbuf_free(m);
    ++(side == kClient ? report_.client : report_.server).tx_dropped;
    return;
  }
  b.pkts[b.n++] = m;
}

void Generator::flush(Side side, uint16_t queue) {
  TxBuffer& b = tx_[side][queue];
  if (b.n == 0) return;
  uint16_t sent = rte_eth_tx_burst(port_[side], queue, b.pkts, b.n);
  (side == kClient ? report_.client : report_.server).tx += sent;
  if (sent < b.n) std::memmove(b.pkts, b.pkts + sent, (b.n - sent) * sizeof(rte_mbuf*));
  b.n = static_cast<uint16_t>(b.n - sent);
}

void Generator::flush_all() {
  for (int s = 0; s < 2; ++s)
    for (uint16_t q = 0; q < opt_.queues; ++q) flush(static_cast<Side>(s), q);
}

bool Generator::tx_backlogged() const {
  for (uint16_t q = 0; q < opt_.queues; ++q)
    if (tx_[kClient][q].n > kBurst) return true;
  return false;
}

uint32_t Generator::poll(uint64_t now) {
  rte_mbuf* pkts[kBurst];
  uint32_t total = 0;
  for (int s = 0; s < 2; ++s)
    for (uint16_t q = 0; q < opt_.queues; ++q) {
      uint16_t n = rte_eth_rx_burst(port_[s], q, pkts, kBurst);
      total += n;
      (s == kClient ? report_.client : report_.server).rx += n;
      for (uint16_t i = 0; i < n; ++i) handle(static_cast<Side>(s), pkts[i], now);
    }
  flush_all();
  return total;
}

void Generator::handle(Side side, rte_mbuf* m, uint64_t now) {
  const uint8_t* d = rte_pktmbuf_mtod(m, const uint8_t*);
  if (auto f = parse_frame(d, m->data_len)) {
    if (side == kServer)
      handle_server(m, *f, static_cast<uint16_t>(f->stamp.session % opt_.tx_queues));
    else
      handle_client(m, *f, now);
    return;
  }
  if (auto a = parse_arp(d, m->data_len)) return handle_arp(side, m, *a);
  ++(side == kClient ? report_.client : report_.server).unexpected;
  rte_pktmbuf_free(m);
}

void Generator::handle_arp(Side side, rte_mbuf* m, const ArpSeen& a) {
  Ipv4 gw = side == kClient ? opt_.client_gw : opt_.server_gw;
  if (a.sender_ip == gw) {  // replies and gratuitous announcements alike
    gw_mac_[side] = a.sender_mac;
    gw_known_[side] = true;
  }
  // We stand in for every host behind the port (clients, services); the
  // router's own address and gratuitous ARP are not ours to answer.
  if (a.op == 1 && a.target_ip != gw && a.target_ip != a.sender_ip) {
    uint16_t len = build_arp_reply(rte_pktmbuf_mtod(m, uint8_t*), mac_[side], a);
    m->data_len = m->pkt_len = len;
    ++(side == kClient ? report_.client : report_.server).arp_answered;
    push(side, 0, m);
    return;
  }
  rte_pktmbuf_free(m);
}

void Generator::handle_server(rte_mbuf* m, const SeenFrame& f, uint16_t queue) {
  ++report_.server_rx;
  // The last router must deliver the client's own addresses to the service.
  auto idx = opt_.plan.index({f.src, f.dst, f.sport, f.dport});
  if (!opt_.server_snat && (!idx || *idx != f.stamp.session)) ++report_.server_mismatch;
  echo_in_place(rte_pktmbuf_mtod(m, uint8_t*), mac_[kServer]);
  push(kServer, queue, m);
}

void Generator::handle_client(rte_mbuf* m, const SeenFrame& f, uint64_t now) {
  auto idx = opt_.plan.index({f.dst, f.src, f.dport, f.sport});
  rte_pktmbuf_free(m);
  if (!idx || *idx != f.stamp.session || *idx >= opt_.sessions) {
    ++report_.reply_mismatch;
    return;
  }
  ++report_.replies;
  last_reply_tsc_ = now;
  uint64_t ns = now > f.stamp.tsc ? (now - f.stamp.tsc) * 1000000000ull / hz_ : 0;
  uint64_t& word = established_bits_[*idx / 64];
  uint64_t bit = uint64_t{1} << (*idx % 64);
  if (word & bit) {
    report_.steady_latency.record(ns);
    return;
  }
  word |= bit;
  ++report_.established;
  last_established_tsc_ = now;
  report_.setup_latency.record(ns);
}

uint32_t Generator::send_requests(uint32_t n, bool first, uint64_t now) {
  rte_mbuf* pkts[kBurst];
  n = std::min<uint32_t>(n, kBurst);
  if (n == 0 || rte_pktmbuf_alloc_bulk(pool_, pkts, n) != 0) return 0;
  for (uint32_t i = 0; i < n; ++i) {
    uint32_t session;
    if (first) {
      session = static_cast<uint32_t>(report_.opened++);
    } else {
      // Steady traffic goes to established sessions only (the fast path).
      uint64_t tries = 0;
      do {
        session = cursor_;
        cursor_ = cursor_ + 1 >= report_.opened ? 0 : cursor_ + 1;
      } while (!is_established(session) && ++tries < report_.opened);
      if (!is_established(session)) {
        rte_pktmbuf_free_bulk(pkts + i, n - i);
        return i;
      }
    }
    uint16_t len = static_cast<uint16_t>((first ? opt_.first_frame : opt_.mix.frame(report_.requests)) - kFcsBytes);
    Stamp st{session, static_cast<uint32_t>(report_.requests), now};
    build_request(rte_pktmbuf_mtod(pkts[i], uint8_t*), len, mac_[kClient], gw_mac_[kClient], opt_.plan.tuple(session),
                  st);
    pkts[i]->data_len = pkts[i]->pkt_len = len;
    ++report_.requests;
    push(kClient, static_cast<uint16_t>(session % opt_.tx_queues), pkts[i]);
  }
  return n;
}

void Generator::open_sessions(uint64_t until, uint64_t window, double rate, uint64_t t0,
                              volatile std::sig_atomic_t* stop) {
  const uint64_t drain = hz_ * opt_.drain_ms / 1000;
  const uint64_t first = report_.opened;
  last_reply_tsc_ = t0;
  while (!*stop) {
    uint64_t now = rte_get_tsc_cycles();
    poll(now);
    if (report_.opened < until) {
      uint64_t room = window > inflight() ? window - inflight() : 0;
      uint64_t due = until - report_.opened;
      if (rate > 0) {
        double target = static_cast<double>(now - t0) * rate / static_cast<double>(hz_);
        uint64_t done = report_.opened - first;
        due = std::min<uint64_t>(due, target > done ? static_cast<uint64_t>(target) - done : 0);
      }
      uint32_t n = static_cast<uint32_t>(std::min<uint64_t>({room, due, kBurst}));
      if (!tx_backlogged()) send_requests(n, true, now);
      // A full window with no reply for the drain time: those are lost; go on.
      if (room == 0 && now - last_reply_tsc_ > drain) written_off_ = report_.requests - report_.replies;
    } else if (report_.established == until || now - last_reply_tsc_ > drain) {
      break;
    }
  }
}

GenReport Generator::run(volatile std::sig_atomic_t* stop) {
  const uint64_t drain = hz_ * opt_.drain_ms / 1000;
  uint64_t warm =
      opt_.warmup >= 0 ? static_cast<uint64_t>(opt_.warmup) : uint64_t{opt_.plan.clients} * opt_.plan.services;
  warm = std::min<uint64_t>(warm, opt_.sessions);
  open_sessions(warm, std::min<uint64_t>(kWarmupWindow, opt_.window), 0, rte_get_tsc_cycles(), stop);
  report_.warmup_sessions = report_.opened;
  report_.warmup_established = report_.established;
  written_off_ = report_.requests - report_.replies;
  // Setup phase: every other session's first packet, timed.
  uint64_t t0 = rte_get_tsc_cycles();
  last_established_tsc_ = t0;
  open_sessions(opt_.sessions, opt_.window, opt_.setup_rate, t0, stop);
  report_.setup_s = last_established_tsc_ > t0 ? static_cast<double>(last_established_tsc_ - t0) / hz_ : 0;
  // Steady phase: requests over the opened sessions (fast path).
  if (opt_.duration_s > 0 && report_.opened > 0 && !*stop) {
    written_off_ = report_.requests - report_.replies;
    uint64_t s0 = rte_get_tsc_cycles(), end = s0 + static_cast<uint64_t>(opt_.duration_s * hz_);
    uint64_t req0 = report_.requests, sent_at_start = req0;
    uint64_t delivered0 = report_.server_rx + report_.replies;
    uint64_t now = s0;
    last_reply_tsc_ = s0;
    while (!*stop && (now = rte_get_tsc_cycles()) < end) {
      poll(now);
      uint64_t room = opt_.window > inflight() ? opt_.window - inflight() : 0;
      uint64_t due = kBurst;
      if (opt_.pps > 0) {
        double target = static_cast<double>(now - s0) * opt_.pps / static_cast<double>(hz_);
        uint64_t sent = report_.requests - sent_at_start;
        due = target > sent ? static_cast<uint64_t>(target) - sent : 0;
      }
      if (!tx_backlogged()) send_requests(static_cast<uint32_t>(std::min<uint64_t>({room, due, kBurst})), false, now);
      if (room == 0 && now - last_reply_tsc_ > drain) written_off_ = report_.requests - report_.replies;
    }
    report_.steady_s = static_cast<double>(now - s0) / hz_;
    report_.steady_requests = report_.requests - req0;
    report_.steady_delivered = report_.server_rx + report_.replies - delivered0;
  }
  // Drain: late replies still count; what never comes back is lost.
  uint64_t d0 = rte_get_tsc_cycles();
  while (report_.replies < report_.requests) {
    uint64_t now = rte_get_tsc_cycles();
    if (now - d0 > drain) break;
    if (poll(now) == 0) usleep(100);
  }
  report_.stopped = *stop != 0;
  return report_;
}

}  // namespace wp::gen
