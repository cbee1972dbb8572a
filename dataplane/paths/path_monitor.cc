// BFD sessions and path probes per path; see path_monitor.h.
#include "dataplane/paths/path_monitor.h"

#include <sys/time.h>

#include <cstdio>
#include <cstring>

#include "dataplane/ip/checksum.h"
#include "dataplane/ip/ipv6.h"
#include "dataplane/ip/nat64_packet.h"
#include "dataplane/ip/packet_edit.h"

namespace wp {
namespace {

constexpr uint8_t kProbeMagic[4] = {'W', 'P', 'P', 'B'};
constexpr uint8_t kProbeRequest = 1, kProbeReply = 2;

uint64_t wall_ms() {
  timeval tv;
  gettimeofday(&tv, nullptr);
  return uint64_t(tv.tv_sec) * 1000 + uint64_t(tv.tv_usec) / 1000;
}

// Fills IPv4 + UDP headers (TTL 255 for GTSM) and both checksums.
void fill_ip_udp(uint8_t* ip, Ipv4 src, Ipv4 dst, uint16_t sport, uint16_t dport, size_t payload_len) {
  uint16_t total = static_cast<uint16_t>(20 + 8 + payload_len);
  ip[0] = 0x45;
  ip[1] = 0xc0;  // DSCP CS6: network control, as BFD usually is
  store_be16(ip + 2, total);
  store_be16(ip + 4, 0);
  store_be16(ip + 6, 0x4000);  // DF
  ip[8] = kBfdTtl;
  ip[9] = kProtoUdp;
  store_be16(ip + 10, 0);
  store_be32(ip + 12, src);
  store_be32(ip + 16, dst);
  store_be16(ip + 10, ipv4_header_checksum(ip));
  uint8_t* udp = ip + 20;
  store_be16(udp, sport);
  store_be16(udp + 2, dport);
  store_be16(udp + 4, static_cast<uint16_t>(8 + payload_len));
  store_be16(udp + 6, 0);
  uint16_t c = l4_checksum(ip, udp, static_cast<uint16_t>(8 + payload_len));
  store_be16(udp + 6, c == 0 ? 0xffff : c);
}

// Fills IPv6 + UDP headers (hop limit 255, RFC 5881 § 5) and the UDP checksum.
void fill_ip6_udp(uint8_t* ip, const Ipv6& src, const Ipv6& dst, uint16_t sport, uint16_t dport,
                  size_t payload_len) {
  const uint16_t udp_len = static_cast<uint16_t>(8 + payload_len);
  store_be32(ip, 0x6c000000);  // traffic class CS6, as fill_ip_udp's DSCP
  store_be16(ip + 4, udp_len);
  ip[6] = kProtoUdp;
  ip[7] = kBfdTtl;
  store_ipv6(ip + 8, src);
  store_ipv6(ip + 24, dst);
  uint8_t* udp = ip + kIpv6HdrLen;
  store_be16(udp, sport);
  store_be16(udp + 2, dport);
  store_be16(udp + 4, udp_len);
  store_be16(udp + 6, 0);
  const uint16_t c = l4_checksum6(src, dst, kProtoUdp, udp, udp_len);
  store_be16(udp + 6, c == 0 ? 0xffff : c);  // never zero over IPv6 (RFC 8200 § 8.1)
}

}  // namespace

PathMonitorConfig PathMonitorConfig::from(const ::waypoint::config::PathMonitoring& pm) {
  PathMonitorConfig c;
  uint32_t tx = pm.tx_interval_ms() ? pm.tx_interval_ms() : 1000;
  c.bfd.desired_min_tx_us = tx * 1000;
  c.bfd.required_min_rx_us = (pm.rx_interval_ms() ? pm.rx_interval_ms() : 500) * 1000;
  c.bfd.detect_mult = static_cast<uint8_t>(pm.multiplier() ? pm.multiplier() : 3);
  const std::string& hex = pm.auth_key();
  if (!hex.empty()) {
    c.bfd.auth.id = static_cast<uint8_t>(pm.auth_key_id());
    c.bfd.auth.len = static_cast<uint8_t>(hex.size() / 2);
    for (size_t i = 0; i < c.bfd.auth.len; ++i)
      c.bfd.auth.key[i] = static_cast<uint8_t>(std::stoul(hex.substr(i * 2, 2), nullptr, 16));
  }
  c.hold_down_us = uint64_t{pm.hold_down_ms() ? pm.hold_down_ms() : 2000} * 1000;
  c.probe_interval_us = uint64_t{pm.probe_interval_ms() ? pm.probe_interval_ms() : tx} * 1000;
  return c;
}

PathMonitor::PathMonitor(PathTable& table, const PathMonitorConfig& cfg, rte_mempool* pool, uint64_t seed)
    : table_(table), cfg_(cfg), pool_(pool), rng_(seed) {
  entries_.reserve(table.size());
  for (size_t i = 0; i < table.size(); ++i) {
    // Random non-zero, distinct discriminators (§ 6.8.1: unique per system).
    uint32_t discr;
    bool clash;
    do {
      discr = static_cast<uint32_t>(rng_());
      clash = discr == 0;
      for (const Entry& e : entries_) clash |= e.bfd.local_discr() == discr;
    } while (clash);
    entries_.push_back(
        Entry{BfdSession(discr, cfg.bfd, static_cast<uint32_t>(rng_())), {}, BfdState::down, false, 0, 0, 0, {}});
  }
}

bool PathMonitor::input(rte_mbuf* m, const ParsedPacket& pp, int iface, uint64_t now_us) {
  if (pp.status != ParseStatus::ipv4 || pp.proto != kProtoUdp) return false;
  if (pp.dport == kBfdPort) {
    bfd_input(m, pp, iface, now_us);
    return true;
  }
  if (pp.dport == kPathProbePort) {
    probe_input(m, pp, iface, now_us);
    return true;
  }
  return false;
}

bool PathMonitor::input6(rte_mbuf* m, int iface, uint64_t now_us) {
  const uint8_t* d = pkt_data(m);
  const Ipv6View v = parse_ipv6_packet(d, m->data_len, kEthHdrLen);
  if (v.status != Ipv6Status::ok || v.proto != kProtoUdp || (v.dport != kBfdPort && v.dport != kPathProbePort))
    return false;
  int path = -1;
  for (size_t i = 0; i < table_.size() && path < 0; ++i) {
    const PathModel& pm = table_.path(i);
    if (pm.v6 && pm.iface == iface && pm.remote6 == v.src && pm.local6 == v.dst) path = static_cast<int>(i);
  }
  // UDP over IPv6 carries a checksum that must hold (a zero one included: RFC 8200 § 8.1).
  std::vector<uint8_t> udp(d + v.l4, d + v.end);
  bool sum_ok = udp.size() >= 8 && load_be16(udp.data() + 6) != 0;
  if (sum_ok) {
    const uint16_t sent = load_be16(udp.data() + 6);
    store_be16(udp.data() + 6, 0);
    const uint16_t c = l4_checksum6(v.src, v.dst, kProtoUdp, udp.data(), static_cast<uint32_t>(udp.size()));
    sum_ok = sent == (c == 0 ? 0xffff : c);
  }
  if (path < 0 || !sum_ok) {
    if (!entries_.empty()) table_.live(path < 0 ? 0 : path).bfd_discards.fetch_add(1, std::memory_order_relaxed);
    rte_pktmbuf_free(m);
    return true;
  }
  // From here the datagram in its path's stand-in form: the same checks and state as IPv4's.
  const PathModel& pm = table_.path(static_cast<size_t>(path));
  ParsedPacket pp{};
  pp.status = ParseStatus::ipv4;
  pp.l3 = kEthHdrLen;
  pp.proto = kProtoUdp;
  pp.src = pm.remote;
  pp.dst = pm.local;
  pp.sport = v.sport;
  pp.dport = v.dport;
  pp.ttl = v.hop_limit;
  pp.l4 = static_cast<uint16_t>(v.l4);
  pp.payload = static_cast<uint16_t>(v.payload);
  pp.end = static_cast<uint16_t>(v.end);
  return input(m, pp, iface, now_us);
}

void PathMonitor::bfd_input(rte_mbuf* m, const ParsedPacket& pp, int iface, uint64_t now_us) {
  const uint8_t* d = pkt_data(m) + pp.payload;
  size_t len = pp.payload_len();
  BfdPacket pkt;
  BfdDiscard why;
  int path = -1;
  // RFC 5881 § 5: TTL 255 or it came from further away than a neighbor.
  if (pp.ttl == kBfdTtl && parse_bfd(d, len, pkt, why)) {
    for (size_t i = 0; i < entries_.size(); ++i) {
      const PathModel& pm = table_.path(i);
      bool ours = pkt.your_discr != 0 ? entries_[i].bfd.local_discr() == pkt.your_discr
                                      : pm.iface == iface && pm.remote == pp.src && pm.local == pp.dst;
      if (ours) {
        path = static_cast<int>(i);
        break;
      }
    }
  }
  if (path < 0 || table_.path(path).remote != pp.src) {
    if (!entries_.empty()) table_.live(path < 0 ? 0 : path).bfd_discards.fetch_add(1, std::memory_order_relaxed);
    rte_pktmbuf_free(m);
    return;
  }
  Entry& e = entries_[path];
  PathLive& l = table_.live(path);
  if (e.bfd.receive(pkt, d, len, now_us) != BfdDiscard::none) {
    l.bfd_discards.fetch_add(1, std::memory_order_relaxed);
  } else {
    l.bfd_rx.fetch_add(1, std::memory_order_relaxed);
    if (e.bfd.final_due()) send_bfd(path, now_us);  // answer a Poll at once
  }
  rte_pktmbuf_free(m);
  if (publish(path, now_us)) table_.recompute();
}

void PathMonitor::probe_input(rte_mbuf* m, const ParsedPacket& pp, int iface, uint64_t now_us) {
  uint8_t* p = pkt_data(m) + pp.payload;
  if (pp.payload_len() < kPathProbeLen || std::memcmp(p, kProbeMagic, 4) != 0) {
    rte_pktmbuf_free(m);
    return;
  }
  if (p[4] == kProbeRequest) {
    // Reflect: same payload back to the sender, from the address it probed.
    int back = -1;
    for (size_t i = 0; i < table_.size(); ++i)
      if (table_.path(i).iface == iface && table_.path(i).remote == pp.src) back = static_cast<int>(i);
    if (back < 0) {
      rte_pktmbuf_free(m);
      return;
    }
    p[4] = kProbeReply;
    uint8_t payload[kPathProbeLen];
    std::memcpy(payload, p, kPathProbeLen);
    rte_pktmbuf_free(m);
    send_udp(static_cast<size_t>(back), kPathProbePort, pp.sport, payload, kPathProbeLen);
    return;
  }
  uint32_t discr = load_be32(p + 8), seq = load_be32(p + 12);
  for (size_t i = 0; i < entries_.size(); ++i) {
    if (entries_[i].bfd.local_discr() != discr || table_.path(i).remote != pp.src) continue;
    if (entries_[i].metrics.answered(seq, 0, now_us)) table_.live(i).probes_rx.fetch_add(1, std::memory_order_relaxed);
    break;
  }
  rte_pktmbuf_free(m);
}

bool PathMonitor::send_udp(size_t path, uint16_t sport, uint16_t dport, const uint8_t* payload, size_t len) {
  const PathModel& pm = table_.path(path);
  rte_mbuf* m = rte_pktmbuf_alloc(pool_);
  if (!m) return false;
  const size_t ip_udp = pm.v6 ? kIpv6HdrLen + 8 : 28;
  auto* f = reinterpret_cast<uint8_t*>(rte_pktmbuf_append(m, static_cast<uint16_t>(kEthHdrLen + ip_udp + len)));
  if (!f || !(pm.v6 ? send6_ != nullptr : send_ != nullptr)) {
    rte_pktmbuf_free(m);
    return false;
  }
  std::memset(f, 0, kEthHdrLen);
  if (pm.v6) {
    store_be16(f + 12, kEtherTypeIpv6);
    std::memcpy(f + kEthHdrLen + kIpv6HdrLen + 8, payload, len);
    fill_ip6_udp(f + kEthHdrLen, pm.local6, pm.remote6, sport, dport, len);
    send6_(send_ctx_, m, pm.iface, pm.next_hop6);
    return true;
  }
  store_be16(f + 12, kEtherTypeIpv4);
  std::memcpy(f + kEthHdrLen + 28, payload, len);
  fill_ip_udp(f + kEthHdrLen, pm.local, pm.remote, sport, dport, len);
  send_(send_ctx_, m, pm.iface, pm.next_hop);
  return true;
}

void PathMonitor::send_bfd(size_t path, uint64_t now_us) {
  uint8_t buf[kBfdMaxLen];
  size_t n = entries_[path].bfd.build(buf, now_us);
  // RFC 5881 § 4: a source port in 49152..65535, the same for the session's life.
  if (send_udp(path, static_cast<uint16_t>(kBfdSourcePortMin + path), kBfdPort, buf, n))
    table_.live(path).bfd_tx.fetch_add(1, std::memory_order_relaxed);
}

void PathMonitor::send_probe(size_t path, uint64_t now_us) {
  Entry& e = entries_[path];
  uint8_t p[kPathProbeLen] = {};
  std::memcpy(p, kProbeMagic, 4);
  p[4] = kProbeRequest;
  store_be32(p + 8, e.bfd.local_discr());
  store_be32(p + 12, ++e.probe_seq);
  store_be32(p + 16, static_cast<uint32_t>(now_us >> 32));
  store_be32(p + 20, static_cast<uint32_t>(now_us));
  e.metrics.sent(e.probe_seq, now_us);
  if (send_udp(path, kPathProbePort, kPathProbePort, p, sizeof p))
    table_.live(path).probes_tx.fetch_add(1, std::memory_order_relaxed);
}

void PathMonitor::poll(uint64_t now_us) {
  bool changed = false;
  uint64_t gap = last_poll_us_ ? now_us - last_poll_us_ : 0;
  last_poll_us_ = now_us;
  if (gap > PathMonitorConfig::kStallUs) {
    for (Entry& e : entries_) e.bfd.excuse(gap, now_us);
    std::fprintf(stderr, "waypointd: control thread stalled %llu ms; BFD detection times extended by that\n",
                 static_cast<unsigned long long>(gap / 1000));
  }
  const bool check_routes = route_check_ && now_us >= next_route_check_us_;
  if (check_routes) next_route_check_us_ = now_us + kRouteCheckUs;
  for (size_t i = 0; i < entries_.size(); ++i) {
    Entry& e = entries_[i];
    if (check_routes && table_.path(i).v6) e.routed = route_check_(send_ctx_, table_.path(i));
    if (e.bfd.tick(now_us, rng_)) send_bfd(i, now_us);
    if (e.bfd.state() == BfdState::up && now_us >= e.next_probe_us) {
      e.next_probe_us = now_us + cfg_.probe_interval_us;
      send_probe(i, now_us);
    }
    // An answer later than 3 probe periods (at least 1 s) is a lost probe.
    uint64_t timeout = cfg_.probe_interval_us * 3 > 1000000 ? cfg_.probe_interval_us * 3 : 1000000;
    e.metrics.expire(now_us, timeout);
    changed |= aggregate_flow(i, now_us);
    changed |= publish(i, now_us);
  }
  if (changed) table_.recompute();
}

bool PathMonitor::publish(size_t path, uint64_t now_us) {
  Entry& e = entries_[path];
  PathLive& l = table_.live(path);
  bool changed = false;
  BfdState s = e.bfd.state();
  if (s != e.last_state) {
    log_state(path, e.last_state, s, e.bfd.diag());
    if (s == BfdState::up) {
      e.up_since_us = now_us;
      l.went_up.fetch_add(1, std::memory_order_relaxed);
    } else if (e.last_state == BfdState::up) {
      l.went_down.fetch_add(1, std::memory_order_relaxed);
      e.metrics.reset();  // stale loss/latency must not judge the path when it returns
      e.flow.rebase = true;
      l.flow_measured.store(false, std::memory_order_relaxed);
    }
    e.last_state = s;
    l.bfd_state.store(static_cast<uint8_t>(s), std::memory_order_relaxed);
    l.last_change_ms.store(wall_ms(), std::memory_order_relaxed);
  }
  // The first Up is not a flap: no hold-down before it.
  bool usable = s == BfdState::up && (!e.ever_up || now_us - e.up_since_us >= cfg_.hold_down_us);
  if (usable && !e.ever_up) e.ever_up = true;
  usable = usable && e.routed;  // a withdrawn route takes the path down at once (BFD may take longer)
  if (usable != l.usable.load(std::memory_order_relaxed)) {
    l.usable.store(usable, std::memory_order_relaxed);
    std::fprintf(stderr, "waypointd: path %s (peer waypoint %s) %s at %llu ms\n", table_.path(path).name.c_str(),
                 (table_.path(path).v6 ? format_ipv6(table_.path(path).remote6) : format_ipv4(table_.path(path).remote))
                     .c_str(),
                 usable ? "usable" : "unusable",
                 static_cast<unsigned long long>(wall_ms()));
    changed = true;
  }
  // Metrics: publish, and re-rank only when a value an SLA looks at moved.
  bool measured = e.metrics.measured();
  uint32_t rtt = e.metrics.rtt_us(), jit = e.metrics.jitter_us(), loss = e.metrics.loss_permille();
  if (measured != l.measured.load(std::memory_order_relaxed) || rtt != l.rtt_us.load(std::memory_order_relaxed) ||
      jit != l.jitter_us.load(std::memory_order_relaxed) || loss != l.loss_permille.load(std::memory_order_relaxed)) {
    l.rtt_us.store(rtt, std::memory_order_relaxed);
    l.jitter_us.store(jit, std::memory_order_relaxed);
    l.loss_permille.store(loss, std::memory_order_relaxed);
    l.measured.store(measured, std::memory_order_relaxed);
    changed = true;
  }
  l.bfd_seq_gaps.store(e.bfd.auth_seq_gaps(), std::memory_order_relaxed);
  return changed;
}

bool FlowWindow::update(uint64_t now_us, uint64_t window_us, uint64_t sent_now, uint64_t received_now,
                        uint64_t rtt_sum_now, uint64_t rtt_n_now, uint64_t delta_sum_now, uint64_t delta_n_now) {
  if (start_us == 0) start_us = loss_at_us = time_at_us = now_us;
  if (rebase) {
    sent = sent_now, received = received_now, rtt_sum = rtt_sum_now, rtt_n = rtt_n_now;
    delta_sum = delta_sum_now, delta_n = delta_n_now;
    have_loss = have_time = rebase = false;
    start_us = now_us;
    return true;
  }
  if (now_us - start_us < window_us) return false;
  start_us = now_us;
  bool moved = false;
  uint64_t ds = sent_now - sent;
  if (ds >= kMinPackets) {
    // Signed over the window: a marker overtaken within a burst moves a few
    // packets between neighbouring blocks, which cancels in the sum.
    uint64_t dr = received_now - received;
    loss_permille = dr >= ds ? 0 : static_cast<uint32_t>((ds - dr) * 1000 / ds);
    sent = sent_now, received = received_now;
    have_loss = moved = true;
    loss_at_us = now_us;
  } else if (have_loss && now_us - loss_at_us > kStaleUs) {
    have_loss = false, moved = true;
  }
  if (rtt_n_now != rtt_n || delta_n_now != delta_n) {
    if (rtt_n_now != rtt_n) rtt_us = static_cast<uint32_t>((rtt_sum_now - rtt_sum) * 1000 / (rtt_n_now - rtt_n));
    if (delta_n_now != delta_n)
      jitter_us = static_cast<uint32_t>((delta_sum_now - delta_sum) * 1000 / (delta_n_now - delta_n));
    rtt_sum = rtt_sum_now, rtt_n = rtt_n_now, delta_sum = delta_sum_now, delta_n = delta_n_now;
    have_time = moved = true;
    time_at_us = now_us;
  } else if (have_time && now_us - time_at_us > kStaleUs) {
    have_time = false, moved = true;
  }
  return moved;
}

bool PathMonitor::aggregate_flow(size_t path, uint64_t now_us) {
  uint32_t period_ms = table_.flow_period_ms();
  if (period_ms == 0) return false;
  uint64_t sums[8] = {};
  for (uint32_t w = 0; w < table_.workers(); ++w) {
    const PathWorkerCounters& c = table_.counters(w, path);
    const std::atomic<uint64_t>* src[6] = {&c.flow_sent,        &c.flow_received,     &c.flow_rtt_ms_sum,
                                           &c.flow_rtt_samples, &c.flow_delta_ms_sum, &c.flow_delta_samples};
    for (int k = 0; k < 6; ++k) sums[k] += src[k]->load(std::memory_order_relaxed);
  }
  FlowWindow& f = entries_[path].flow;
  // At least a second, and a few blocks per window.
  uint64_t window_us = uint64_t{period_ms} * 4000 > 1000000 ? uint64_t{period_ms} * 4000 : 1000000;
  uint64_t sent_before = f.sent, received_before = f.received;
  if (!f.update(now_us, window_us, sums[0], sums[1], sums[2], sums[3], sums[4], sums[5])) return false;
  PathLive& l = table_.live(path);
  if (f.sent != sent_before) {
    l.flow_window_sent.store(f.sent - sent_before, std::memory_order_relaxed);
    l.flow_window_received.store(f.received - received_before, std::memory_order_relaxed);
  }
  // Loss and timing lapse together only when both have: one alone still judges the path.
  l.flow_loss_permille.store(f.have_loss ? f.loss_permille : 0, std::memory_order_relaxed);
  l.flow_rtt_us.store(f.have_time ? f.rtt_us : 0, std::memory_order_relaxed);
  l.flow_jitter_us.store(f.have_time ? f.jitter_us : 0, std::memory_order_relaxed);
  l.flow_measured.store(f.have_loss || f.have_time, std::memory_order_relaxed);
  return true;
}

void PathMonitor::log_state(size_t path, BfdState from, BfdState to, BfdDiag diag) {
  std::fprintf(stderr, "waypointd: path %s bfd %s -> %s (diag %u) at %llu ms\n", table_.path(path).name.c_str(),
               to_string(from), to_string(to), static_cast<unsigned>(diag), static_cast<unsigned long long>(wall_ms()));
}

}  // namespace wp
