// wp_bench_foundation: the foundation numbers of one dataplane worker
// (perf/README.md).
//
//   wp_bench_foundation [options] [-- EAL args]
//
// 1. Session setup rate: N distinct LAN first packets (UDP 100 B, TCP SYN 74 B,
//    unique 5-tuples) pre-built in batches (untimed), then fed through the real
//    worker loop (Worker::poll_once: rx -> dispatch -> tenant/service/policy ->
//    port pick -> UUID -> metadata -> HMAC (IPsec-MB) -> tx on net_null1).
//    Only poll_once is timed. The table has capacity N, so it ends full.
// 2. Memory: the same worker's table at N sessions: memory_bytes()/capacity,
//    and the RSS growth from before the worker existed to after the fill.
// 3. Established fast path: F of those sessions complete the SVR handshake
//    against an in-process egress router r2 (r1's forward metadata -> r2,
//    r2's reverse metadata -> r1, r1's first plain forward packet -> r2), so
//    no packet carries metadata any more. Then poll_once runs with an rx that
//    does exactly what net_null copy=1 rx does (bulk mbuf alloc + 64 B copy of
//    a frame, here one of F per-session frames) on both ports (LAN -> WAN
//    forward, WAN -> LAN reverse), and tx is rte_eth_tx_burst on net_null
//    copy=1. Mpps = packets out per second on this one core, both directions.
// 3b. IPv6, same run (perf/foundation6.h): a router r6 that routes IPv6 with
//    sessions (worker/route6_step.h: tenant, service, policy, route both ways,
//    session in the worker's SessionTable6 of the same capacity N). Setup
//    (cold, age out, warm) and the established fast path over the same F
//    flows as IPv4, both directions; bytes per IPv6 session the same way.
//    Printed beside the IPv4 figures with the ratio v6/v4.
// 4. Baseline in the same run: dpdk-testpmd io-fwd on net_null0/1 copy=1, one
//    forwarding core, both streams (port0->1, 1->0), run before and after the
//    fast path; testpmd_mpps = median of its per-second Tx-pps summed over
//    both ports. Our EAL main lcore defaults to CPU 1, the CPU testpmd's
//    forwarding lcore runs on (-l 0-1), so both hot loops share a CPU.
//
// Output: a human table, then one JSON line (scenario "foundation").
#include <fcntl.h>
#include <poll.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_ip.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "dataplane/control/eal.h"
#include "dataplane/control/ports.h"
#include "dataplane/control/router_model.h"
#include "dataplane/worker/shared.h"
#include "dataplane/worker/worker.h"
#include "dataplane/ip/ndp.h"
#include "mgmt/config_load.h"
#include "perf/foundation6.h"
#include "perf/report.h"

namespace {

using wp::FiveTuple;
using wp::Ipv4;
using wp::bench::median;

constexpr uint16_t kFrameLen = 64;  // net_null's default packet_size

// ---------------------------------------------------------------- options
struct Options {
  uint32_t sessions = 1'000'000;  // setup: first packets (= table capacity)
  uint32_t flows = 65536;         // fast path: established sessions cycled through
  uint32_t batch = 32768;         // setup: pre-built mbufs per batch
  uint32_t windows = 5;           // fast path: 1 s measurement windows (median)
  uint32_t dir_windows = 2;       // the same for each direction alone
  double window_s = 1.0;
  std::string testpmd = "dpdk-testpmd";
  uint32_t testpmd_seconds = 5;
  bool no_testpmd = false;
  std::string testpmd_lcores = "0-1";
  std::string commit;
  std::vector<std::string> eal = {"--no-huge",
                                  "--no-pci",
                                  "-m",
                                  "2048",
                                  "-l",
                                  "1",
                                  "--file-prefix",
                                  "wpbench",
                                  "--log-level=error",
                                  "--vdev",
                                  "net_null0,copy=1",
                                  "--vdev",
                                  "net_null1,copy=1"};
};

void usage() {
  std::fprintf(stderr,
               "usage: wp_bench_foundation [--sessions N] [--flows F] [--batch B] [--windows W] [--dir-windows W]\n"
               "         [--testpmd PATH | --no-testpmd] [--testpmd-seconds S] [--testpmd-lcores 0-1]\n"
               "         [--commit ID] [-- EAL args]\n"
               "default EAL args: --no-huge --no-pci -m 2048 -l 1 --file-prefix wpbench --log-level=error\n"
               "                  --vdev net_null0,copy=1 --vdev net_null1,copy=1\n");
}

bool parse_options(int argc, char** argv, Options& o) {
  std::vector<std::string> eal;
  bool have_eal = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> const char* { return i + 1 < argc ? argv[++i] : nullptr; };
    auto num = [&](uint32_t& v) {
      const char* s = next();
      if (!s) return false;
      v = static_cast<uint32_t>(std::strtoul(s, nullptr, 10));
      return true;
    };
    if (a == "--") {
      have_eal = true;
      for (++i; i < argc; ++i) eal.emplace_back(argv[i]);
      break;
    }
    bool ok = true;
    if (a == "--sessions")
      ok = num(o.sessions);
    else if (a == "--flows")
      ok = num(o.flows);
    else if (a == "--batch")
      ok = num(o.batch);
    else if (a == "--windows")
      ok = num(o.windows);
    else if (a == "--dir-windows")
      ok = num(o.dir_windows);
    else if (a == "--testpmd-seconds")
      ok = num(o.testpmd_seconds);
    else if (a == "--no-testpmd")
      o.no_testpmd = true;
    else if (a == "--testpmd")
      ok = (next() ? (o.testpmd = argv[i], true) : false);
    else if (a == "--testpmd-lcores")
      ok = (next() ? (o.testpmd_lcores = argv[i], true) : false);
    else if (a == "--commit")
      ok = (next() ? (o.commit = argv[i], true) : false);
    else if (a == "-h" || a == "--help")
      return usage(), false;
    else
      ok = false;
    if (!ok) {
      std::fprintf(stderr, "bad option %s\n", a.c_str());
      usage();
      return false;
    }
  }
  if (have_eal) o.eal = eal;
  if (o.sessions == 0 || o.flows == 0 || o.flows > o.sessions || o.batch == 0 || o.windows == 0) {
    std::fprintf(stderr, "need 0 < flows <= sessions, batch > 0, windows > 0\n");
    return false;
  }
  return true;
}

// ---------------------------------------------------------------- config
// The examples/ demo pair: r1 (branch, ingress) and r2 (headend, last hop).
const char* kKey = "ceadaf24a2966eaf7136022415ce5234925589639ea9b47c3416b22594ee400f";

std::string router_yaml(bool r1) {
  std::string y;
  y += std::string("router:\n  name: ") + (r1 ? "r1" : "r2") + "\n";
  y += std::string("  lan: {name: lan, device: net_null0, address: ") + (r1 ? "10.1.0.1/24" : "10.2.0.1/24") + "}\n";
  y += std::string("  wan:\n    - {name: wan0, device: net_null1, address: ") +
       (r1 ? "172.16.0.1/24" : "172.16.0.2/24") + "}\n";
  y += "tenants:\n  - {name: branch, prefixes: [10.1.0.0/25]}\n  - {name: guests, prefixes: [10.1.0.128/25]}\n";
  std::string peer = r1 ? ", next_peer: r2" : "";
  y += "services:\n";
  y += "  - {name: web, prefixes: [10.2.0.0/24], protocol: tcp, ports: [\"80\", \"8000\", \"5201\"]" + peer + "}\n";
  y += "  - {name: iperf-udp, prefixes: [10.2.0.0/24], protocol: udp, ports: [\"5201\"]" + peer + "}\n";
  y += "policies:\n  - {tenant: branch, service: web}\n  - {tenant: branch, service: iperf-udp}\n";
  y += std::string("peers:\n  - {name: ") + (r1 ? "r2" : "r1") + ", waypoints: [" + (r1 ? "172.16.0.2" : "172.16.0.1") +
       "], key: \"" + kKey + "\"}\n";
  return y;
}

// ---------------------------------------------------------------- frames
Ipv4 ip4(uint8_t a, uint8_t b, uint8_t c, uint8_t d) { return Ipv4{a} << 24 | Ipv4{b} << 16 | Ipv4{c} << 8 | d; }

// Ethernet + IPv4 + UDP/TCP, `len` bytes in all, valid checksums. TCP frames
// with `syn` carry 20 B of NOP options (data offset 10), like a real SYN.
uint16_t build_frame(uint8_t* f, uint16_t len, const FiveTuple& t, uint8_t tcp_flags) {
  std::memset(f, 0, len);
  static const uint8_t dmac[6] = {0x02, 0, 0, 0, 0, 0x01}, smac[6] = {0x02, 0, 0, 0, 0, 0x02};
  std::memcpy(f, dmac, 6);
  std::memcpy(f + 6, smac, 6);
  f[12] = 0x08;
  f[13] = 0x00;
  auto* ip = reinterpret_cast<rte_ipv4_hdr*>(f + 14);
  ip->version_ihl = 0x45;
  ip->total_length = rte_cpu_to_be_16(static_cast<uint16_t>(len - 14));
  ip->time_to_live = 64;
  ip->next_proto_id = t.proto;
  ip->src_addr = rte_cpu_to_be_32(t.src);
  ip->dst_addr = rte_cpu_to_be_32(t.dst);
  uint8_t* l4 = f + 34;
  wp::store_be16(l4, t.sport);
  wp::store_be16(l4 + 2, t.dport);
  if (t.proto == wp::kProtoUdp) {
    wp::store_be16(l4 + 4, static_cast<uint16_t>(len - 34));
    for (uint16_t i = 42; i < len; ++i) f[i] = static_cast<uint8_t>(i);
  } else {
    bool syn = tcp_flags & wp::kTcpSyn;
    uint8_t doff = syn ? 10 : 5;
    wp::store_be32(l4 + 4, 1000);
    if (!syn) wp::store_be32(l4 + 8, 2000);
    l4[12] = static_cast<uint8_t>(doff << 4);
    l4[13] = tcp_flags;
    wp::store_be16(l4 + 14, 65535);
    if (syn) std::memset(l4 + 20, 1, 20);  // NOP options
    for (uint16_t i = static_cast<uint16_t>(34 + doff * 4); i < len; ++i) f[i] = static_cast<uint8_t>(i);
  }
  ip->hdr_checksum = rte_ipv4_cksum(ip);
  uint16_t ck = rte_ipv4_udptcp_cksum(ip, l4);
  if (t.proto == wp::kProtoUdp)
    std::memcpy(l4 + 6, &ck, 2);
  else
    std::memcpy(l4 + 16, &ck, 2);
  return len;
}

// The i-th distinct client 5-tuple: 100 client hosts x 64000 source ports x
// server hosts; even i = UDP to iperf-udp (5201), odd i = TCP to web (80).
constexpr uint32_t kClientHosts = 100;
FiveTuple client_tuple(uint32_t i) {
  uint32_t rest = i / kClientHosts;
  bool udp = (i & 1) == 0;
  return FiveTuple{ip4(10, 1, 0, static_cast<uint8_t>(2 + i % kClientHosts)),
                   ip4(10, 2, 0, static_cast<uint8_t>(10 + rest / 64000)), static_cast<uint16_t>(1024 + rest % 64000),
                   static_cast<uint16_t>(udp ? 5201 : 80), udp ? wp::kProtoUdp : wp::kProtoTcp};
}
constexpr uint32_t kServerHosts = 10;  // enough for 6.4 M tuples

// ---------------------------------------------------------------- I/O
// Installed with Worker::set_io. Modes: pre-built mbufs (setup), net_null
// copy=1 style rx from frame templates (fast path), capture of tx (handshake).
struct BenchIo {
  uint16_t lan_port = 0, wan_port = 1;
  // pre-built
  rte_mbuf** pre = nullptr;
  uint32_t pre_n = 0, pre_pos = 0;
  // templates, [0] LAN rx, [1] WAN rx
  rte_mempool* pool = nullptr;
  const uint8_t* tmpl[2] = {nullptr, nullptr};
  uint32_t tmpl_n[2] = {0, 0};
  uint32_t tmpl_pos[2] = {0, 0};
  uint16_t frame_len = kFrameLen;  // bytes per template frame (IPv6: kFrameLen6)
  bool rx_on[2] = {false, false};
  uint64_t rx_nombuf = 0;
  // capture
  bool capture = false;
  std::vector<rte_mbuf*> captured;
};

uint16_t bench_rx(void* ctx, uint16_t port, uint16_t, rte_mbuf** pkts, uint16_t n) {
  auto& io = *static_cast<BenchIo*>(ctx);
  int side = port == io.lan_port ? 0 : 1;
  if (io.pre) {
    if (side != 0) return 0;
    uint32_t k = std::min<uint32_t>(n, io.pre_n - io.pre_pos);
    std::memcpy(pkts, io.pre + io.pre_pos, k * sizeof(rte_mbuf*));
    io.pre_pos += k;
    return static_cast<uint16_t>(k);
  }
  if (!io.rx_on[side]) return 0;
  // What net_null's eth_null_copy_rx does: bulk alloc, copy packet_size bytes.
  if (rte_pktmbuf_alloc_bulk(io.pool, pkts, n) != 0) {
    io.rx_nombuf++;
    return 0;
  }
  const uint8_t* base = io.tmpl[side];
  uint32_t pos = io.tmpl_pos[side], lim = io.tmpl_n[side];
  for (uint16_t i = 0; i < n; ++i) {
    const uint16_t len = io.frame_len;
    rte_memcpy(rte_pktmbuf_mtod(pkts[i], void*), base + size_t{pos} * len, len);
    pkts[i]->data_len = len;
    pkts[i]->pkt_len = len;
    pkts[i]->port = port;
    if (++pos == lim) pos = 0;
  }
  io.tmpl_pos[side] = pos;
  return n;
}

uint16_t bench_tx(void* ctx, uint16_t port, uint16_t queue, rte_mbuf** pkts, uint16_t n) {
  auto& io = *static_cast<BenchIo*>(ctx);
  if (!io.capture) return rte_eth_tx_burst(port, queue, pkts, n);
  for (uint16_t i = 0; i < n; ++i) {
    pkts[i]->port = port;  // re-fed as if received on this port of the other router
    io.captured.push_back(pkts[i]);
  }
  return n;
}

// ---------------------------------------------------------------- helpers
double now_s() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

size_t rss_bytes() {
  FILE* f = std::fopen("/proc/self/statm", "r");
  if (!f) return 0;
  unsigned long size = 0, resident = 0;
  if (std::fscanf(f, "%lu %lu", &size, &resident) != 2) resident = 0;
  std::fclose(f);
  return resident * static_cast<size_t>(sysconf(_SC_PAGESIZE));
}

uint64_t drops_total(const wp::WorkerCounters& c) {
  uint64_t t = 0;
  for (size_t i = 0; i < wp::kDropReasonCount; ++i) t += c.drops[i].load(std::memory_order_relaxed);
  return t;
}

std::string drops_text(const wp::WorkerCounters& c) {
  std::string s;
  for (size_t i = 0; i < wp::kDropReasonCount; ++i)
    if (uint64_t v = c.drops[i].load(std::memory_order_relaxed)) {
      if (!s.empty()) s += ", ";
      s += std::string(wp::kDropReasonNames[i]) + "=" + std::to_string(v);
    }
  return s.empty() ? "none" : s;
}

// One router: model, shared state, one worker on our lcore.
struct Router {
  std::shared_ptr<const wp::RouterModel> model;
  wp::DataplaneShared shared;
  std::unique_ptr<wp::Worker> worker;
  BenchIo io;
};

bool load_router(Router& r, const std::string& yaml, wp::Ports& ports, wp::HmacEngine& hmac, std::string& error) {
  auto loaded = wp::mgmt::load_config_text(yaml);
  if (!loaded.ok()) return error = "config: " + loaded.error_text(), false;
  r.model = wp::RouterModel::build(loaded.config, wp::Ports::resolve, &ports, hmac, error);
  if (!r.model) return false;
  r.shared.model.store(r.model.get());
  return r.shared.create_rings(1, 4096, static_cast<int>(rte_socket_id()), error);
}

// One worker on our lcore with an IPv4 table of `capacity` (the IPv6 one: shared.sessions6_per_worker).
bool start_worker(Router& r, uint32_t capacity, std::string& error) {
  r.worker = std::make_unique<wp::Worker>(0, r.shared, capacity, static_cast<int>(rte_socket_id()));
  if (!r.worker->ok()) return error = "worker: cannot allocate a table of " + std::to_string(capacity), false;
  r.io.lan_port = r.model->interfaces[0].port_id;
  r.io.wan_port = r.model->interfaces[1].port_id;
  r.worker->set_io(bench_rx, bench_tx, &r.io);
  r.worker->set_ports({r.io.lan_port, r.io.wan_port}, 0, 32);
  r.worker->set_now_ms(1000);
  return true;
}

bool make_router(Router& r, bool r1, wp::Ports& ports, wp::HmacEngine& hmac, uint32_t capacity, std::string& error) {
  if (!load_router(r, router_yaml(r1), ports, hmac, error)) return false;
  // Neighbors: every LAN host the sessions use and the peer's waypoint.
  uint8_t mac[6] = {0x02, 0xbe, 0x0c, 0, 0, 0};
  if (r1) {
    for (uint32_t h = 0; h < kClientHosts; ++h) {
      mac[5] = static_cast<uint8_t>(h);
      r.shared.neighbors.learn(0, ip4(10, 1, 0, static_cast<uint8_t>(2 + h)), mac);
    }
    r.shared.neighbors.learn(1, ip4(172, 16, 0, 2), mac);
  } else {
    for (uint32_t h = 0; h < kServerHosts; ++h) {
      mac[5] = static_cast<uint8_t>(h);
      r.shared.neighbors.learn(0, ip4(10, 2, 0, static_cast<uint8_t>(10 + h)), mac);
    }
    r.shared.neighbors.learn(1, ip4(172, 16, 0, 1), mac);
  }
  return start_worker(r, capacity, error);
}

// The IPv6 router (perf/foundation6.h): an IPv6 table of `capacity6`, the
// IPv4 one minimal (no IPv4 traffic); every client and the gateway resolved.
bool make_router6(Router& r, wp::Ports& ports, wp::HmacEngine& hmac, uint32_t capacity6, std::string& error) {
  if (!load_router(r, wp::bench::router6_yaml(), ports, hmac, error)) return false;
  r.shared.sessions6_per_worker = capacity6;
  uint8_t mac[6] = {0x02, 0xbe, 0x0c, 6, 0, 0};
  auto resolve = [&](int iface, const wp::Ipv6& a) {
    r.shared.neighbors6.begin(iface, a, 0);
    r.shared.neighbors6.advert(iface, a, mac, wp::kNaSolicited | wp::kNaOverride, 0);
  };
  for (uint32_t h = 0; h < wp::bench::kClientHosts6; ++h) {
    mac[5] = static_cast<uint8_t>(h);
    resolve(0, wp::bench::client_host6(h));
  }
  mac[4] = 1;
  resolve(1, wp::bench::kGateway6);
  if (!start_worker(r, 1024, error)) return false;
  const wp::SessionTable6* t = r.worker->route6().table();
  if (!t || t->capacity() != capacity6) return error = "r6: no IPv6 session table of " + std::to_string(capacity6), false;
  return true;
}

// Feeds mbufs to a router's worker (untimed, handshake) and returns what it sent.
std::vector<rte_mbuf*> feed(Router& r, std::vector<rte_mbuf*> in) {
  r.io.capture = true;
  r.io.captured.clear();
  for (size_t i = 0; i < in.size(); i += wp::kMaxBurst) {
    uint16_t n = static_cast<uint16_t>(std::min<size_t>(wp::kMaxBurst, in.size() - i));
    r.worker->receive(in.data() + i, n);
    r.worker->flush();
  }
  r.io.capture = false;
  return std::move(r.io.captured);
}

rte_mbuf* frame_mbuf(rte_mempool* pool, const FiveTuple& t, uint8_t flags, uint16_t len, uint16_t port) {
  rte_mbuf* m = rte_pktmbuf_alloc(pool);
  if (!m) {
    std::fprintf(stderr, "mbuf pool %s exhausted\n", pool->name);
    std::exit(2);
  }
  uint8_t* d = reinterpret_cast<uint8_t*>(rte_pktmbuf_append(m, len));
  build_frame(d, len, t, flags);
  m->port = port;
  return m;
}

// ---------------------------------------------------------------- testpmd
// CPU seconds (user + system) a process has used so far.
double proc_cpu_s(pid_t pid) {
  std::string path = "/proc/" + std::to_string(pid) + "/stat";
  FILE* f = std::fopen(path.c_str(), "r");
  if (!f) return -1;
  char buf[1024];
  size_t n = std::fread(buf, 1, sizeof buf - 1, f);
  std::fclose(f);
  buf[n] = 0;
  const char* p = std::strrchr(buf, ')');  // comm may contain spaces
  if (!p) return -1;
  unsigned long utime = 0, stime = 0;
  // Fields after comm: state(3) ... utime(14) stime(15).
  if (std::sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &utime, &stime) != 2) return -1;
  return double(utime + stime) / sysconf(_SC_CLK_TCK);
}

struct TestpmdResult {
  bool ok = false;
  std::vector<double> samples;    // Mpps per stats period, Tx-pps summed over ports
  double packets = 0, cpu_s = 0;  // over the sampled periods: for Mpps per CPU second
  std::string error;
  std::string cmdline;
};

std::vector<std::string> testpmd_args(const Options& o) {
  return {o.testpmd,
          "--no-huge",
          "--no-pci",
          "-m",
          "512",
          "-l",
          o.testpmd_lcores,
          "--file-prefix",
          "wpbench_tpm",
          "--vdev",
          "net_null0,copy=1",
          "--vdev",
          "net_null1,copy=1",
          "--",
          "--forward-mode=io",
          "--auto-start",
          "--total-num-mbufs=16384",
          "--nb-cores=1",
          "--stats-period",
          "1"};
}

// testpmd runs with its stdin a pipe we keep open (it stops on EOF) and its
// stdout and stderr a pipe we read.
struct Child {
  pid_t pid = -1;
  int in = -1, out = -1;  // our ends
};

bool spawn(const std::vector<std::string>& args, Child& c, std::string& error) {
  int in_pipe[2], out_pipe[2];
  if (pipe(in_pipe) != 0 || pipe(out_pipe) != 0) return error = "pipe failed", false;
  c.pid = fork();
  if (c.pid < 0) return error = "fork failed", false;
  if (c.pid == 0) {
    dup2(in_pipe[0], 0);
    dup2(out_pipe[1], 1);
    dup2(out_pipe[1], 2);
    close(in_pipe[1]);
    close(out_pipe[0]);
    std::vector<char*> av;
    for (auto& a : args) av.push_back(const_cast<char*>(a.c_str()));
    av.push_back(nullptr);
    execvp(av[0], av.data());
    std::perror("exec dpdk-testpmd");
    _exit(127);
  }
  close(in_pipe[0]);
  close(out_pipe[1]);
  c.in = in_pipe[1];
  c.out = out_pipe[0];
  return true;
}

// Reads testpmd's output until it exits after SIGINT. The SIGINT goes once
// testpmd_seconds full stats periods have come after the first (zero) and
// the partial one; under load the stats thread runs late, so this counts
// blocks rather than seconds. `cpu_at_block`: testpmd's CPU time as each
// stats block arrived. Returns its exit status.
int collect_testpmd(const Options& o, Child& c, std::string& out, std::vector<double>& cpu_at_block) {
  char buf[4096];
  double start = now_s();
  bool interrupted = false;
  auto count_tx = [&]() {
    size_t n = 0, q = 0;
    while ((q = out.find("Tx-pps:", q)) != std::string::npos) n++, q += 7;
    return n;
  };
  for (;;) {
    double t = now_s();
    bool enough = cpu_at_block.size() >= o.testpmd_seconds + 2;
    if (!interrupted && (enough || t - start > 3.0 * o.testpmd_seconds + 30)) {
      kill(c.pid, SIGINT);
      interrupted = true;
    }
    pollfd p{c.out, POLLIN, 0};
    if (poll(&p, 1, 100) > 0) {
      ssize_t n = read(c.out, buf, sizeof buf);
      if (n <= 0) break;
      out.append(buf, static_cast<size_t>(n));
      if (!interrupted)
        for (size_t blocks = count_tx() / 2; cpu_at_block.size() < blocks;) cpu_at_block.push_back(proc_cpu_s(c.pid));
    }
    if (interrupted && now_s() - t > 20) break;
  }
  close(c.out);
  close(c.in);
  int status = 0;
  waitpid(c.pid, &status, 0);
  return status;
}

// Per "Port statistics" block the Tx-pps of both ports summed (blocks that
// do not list exactly two ports are left out).
std::vector<double> tx_pps_blocks(const std::string& out) {
  std::vector<double> blocks;
  for (size_t pos = 0; (pos = out.find("Port statistics", pos)) != std::string::npos; ++pos) {
    size_t end = out.find("Port statistics", pos + 1);
    std::string b = out.substr(pos, end == std::string::npos ? std::string::npos : end - pos);
    double sum = 0;
    int ports = 0;
    for (size_t q = 0; (q = b.find("Tx-pps:", q)) != std::string::npos; q += 7) {
      sum += std::strtod(b.c_str() + q + 7, nullptr);
      ports++;
    }
    if (ports == 2) blocks.push_back(sum);
  }
  return blocks;
}

// The first non-zero period may be partial (forwarding started inside it):
// the samples are the periods after it.
void take_samples(const std::vector<double>& blocks, const std::vector<double>& cpu_at_block, TestpmdResult& res) {
  size_t first = 0;
  while (first < blocks.size() && blocks[first] <= 0) first++;
  for (size_t i = first + 1; i < blocks.size(); ++i) {
    res.samples.push_back(blocks[i] / 1e6);
    if (i < cpu_at_block.size() && cpu_at_block[i] >= 0 && cpu_at_block[i - 1] >= 0) {
      res.packets += blocks[i];  // per second, one stats period of ~1 s
      res.cpu_s += cpu_at_block[i] - cpu_at_block[i - 1];
    }
  }
}

TestpmdResult run_testpmd(const Options& o) {
  TestpmdResult res;
  const std::vector<std::string> args = testpmd_args(o);
  for (auto& a : args) res.cmdline += (res.cmdline.empty() ? "" : " ") + a;
  Child child;
  if (!spawn(args, child, res.error)) return res;
  std::string out;
  std::vector<double> cpu_at_block;
  int status = collect_testpmd(o, child, out, cpu_at_block);
  take_samples(tx_pps_blocks(out), cpu_at_block, res);
  if (out.find("cores=1") == std::string::npos)
    return res.error = "testpmd did not report exactly one forwarding core", res;
  if (res.samples.empty()) {
    res.error = "no throughput lines from testpmd (exit status " + std::to_string(status) + "); last output:\n" +
                out.substr(out.size() > 1500 ? out.size() - 1500 : 0);
    return res;
  }
  res.ok = true;
  return res;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  if (!parse_options(argc, argv, o)) return 2;

  std::vector<std::string> eal_args{argv[0]};
  eal_args.insert(eal_args.end(), o.eal.begin(), o.eal.end());
  size_t rss_start = rss_bytes();
  std::string error;
  if (!wp::eal_init(eal_args, error)) {
    std::fprintf(stderr, "%s\n", error.c_str());
    return 2;
  }
  unsigned cpu = sched_getcpu();

  // Ports: net_null0 = LAN, net_null1 = WAN, one queue each, 16384 mbufs
  // (the same pool size testpmd gets).
  auto r1cfg = wp::mgmt::load_config_text(router_yaml(true));
  if (!r1cfg.ok()) {
    std::fprintf(stderr, "config: %s\n", r1cfg.error_text().c_str());
    return 2;
  }
  wp::Ports ports;
  if (!ports.start(r1cfg.config, 1, 16384, error)) {
    std::fprintf(stderr, "ports: %s\n", error.c_str());
    return 2;
  }
  // Pre-built setup batches and the handshake frames (all F flows in flight at once).
  uint32_t setup_mbufs = std::max(o.batch, o.flows) + 2048;
  rte_mempool* setup_pool =
      rte_pktmbuf_pool_create("bench_setup", setup_mbufs, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE, rte_socket_id());
  if (!setup_pool) {
    std::fprintf(stderr, "cannot create a pool of %u mbufs (raise -m)\n", setup_mbufs);
    return 2;
  }
  wp::HmacEngine key_hmac;

  // ---------------------------------------------------------- 1+2. setup + memory
  size_t rss_before_table = rss_bytes();
  Router r1;
  if (!make_router(r1, true, ports, key_hmac, o.sessions, error)) {
    std::fprintf(stderr, "r1: %s\n", error.c_str());
    return 2;
  }
  wp::WorkerCounters& c1 = r1.worker->counters();
  const double hz = static_cast<double>(rte_get_tsc_hz());
  std::vector<rte_mbuf*> batch(o.batch);
  uint64_t build_cycles = 0;
  struct SetupPass {
    uint64_t created = 0, drops = 0;
    double seconds = 0, per_s = 0, cpu_seconds = 0;
    std::vector<std::pair<double, double>> by_fill;  // (fill at end of batch, sessions/s in that batch)
  };
  // One pass of o.sessions first packets through `r`'s worker; make_first(i)
  // builds the i-th (untimed); `made` counts the sessions it creates.
  auto setup_pass_of = [&](Router& r, wp::Counter made_counter, auto&& make_first) {
    SetupPass p;
    wp::WorkerCounters& c = r.worker->counters();
    uint64_t created0 = c.get(made_counter), drops0 = drops_total(c), cycles = 0;
    for (uint32_t base = 0; base < o.sessions; base += o.batch) {
      uint32_t n = std::min(o.batch, o.sessions - base);
      uint64_t b0 = rte_rdtsc();
      for (uint32_t i = 0; i < n; ++i) batch[i] = make_first(base + i);
      uint64_t before = c.get(made_counter);
      r.io.pre = batch.data();
      r.io.pre_n = n;
      r.io.pre_pos = 0;
      timespec c0, c1t;
      clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c0);
      uint64_t t0 = rte_rdtsc();
      build_cycles += t0 - b0;
      while (r.io.pre_pos < r.io.pre_n) r.worker->poll_once();
      uint64_t dt = rte_rdtsc() - t0;
      clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c1t);
      p.cpu_seconds += (c1t.tv_sec - c0.tv_sec) + (c1t.tv_nsec - c0.tv_nsec) * 1e-9;
      cycles += dt;
      r.io.pre = nullptr;
      double made = static_cast<double>(c.get(made_counter) - before);
      p.by_fill.push_back({double(base + n) / o.sessions, made / (double(dt) / hz)});
    }
    p.created = c.get(made_counter) - created0;
    p.drops = drops_total(c) - drops0;
    p.seconds = cycles / hz;
    p.per_s = p.created / p.seconds;
    return p;
  };
  auto setup_pass = [&]() {
    return setup_pass_of(r1, wp::Counter::sessions_created, [&](uint32_t i) {
      FiveTuple t = client_tuple(i);
      bool udp = t.proto == wp::kProtoUdp;
      return frame_mbuf(setup_pool, t, udp ? 0 : wp::kTcpSyn, udp ? 100 : 74, r1.io.lan_port);
    });
  };
  // Pass 1 (cold): the table's pages are first touched here. With --no-huge,
  // DPDK hands out untouched 4 KiB pages (rte_zmalloc skips the memset of
  // fresh memory), so this pass pays ~40k page faults, which are very slow
  // on this paravirtualised VM; with hugepages they happen at allocation.
  SetupPass cold = setup_pass();
  size_t rss_after_fill = rss_bytes();
  std::string setup_drop_text = drops_text(c1);
  const wp::SessionTable& table = r1.worker->table();
  double bytes_per_session = double(table.memory_bytes()) / table.capacity();
  double rss_per_session = double(rss_after_fill - rss_before_table) / std::max<uint32_t>(table.size(), 1);
  uint32_t filled = table.size();
  // Age every session out (idle timeouts passed), then pass 2 (warm): the
  // steady state of a router whose table memory is resident. Headline number.
  r1.worker->set_now_ms(r1.worker->now_ms() + 10'000'000);
  r1.worker->expire(o.sessions);
  uint32_t left = table.size();
  SetupPass warm = setup_pass();
  uint64_t created = warm.created;
  double setup_s = warm.seconds;
  double setup_per_s = warm.per_s;
  uint64_t setup_drops = cold.drops + warm.drops;
  if (left != 0) std::fprintf(stderr, "warning: %u sessions left after aging out\n", left);

  // ---------------------------------------------------------- 1b+2b. IPv6 setup + memory
  // The same first packets with IPv6 headers (20 B longer) through route6_step;
  // the table has the same capacity; cold, age out, warm as above.
  size_t rss_before_table6 = rss_bytes();
  Router r6;
  if (!make_router6(r6, ports, key_hmac, o.sessions, error)) {
    std::fprintf(stderr, "r6: %s\n", error.c_str());
    return 2;
  }
  wp::WorkerCounters& c6 = r6.worker->counters();
  const wp::SessionTable6& table6 = *r6.worker->route6().table();
  const uint8_t* lan6_mac = r6.model->interfaces[0].mac;
  const uint8_t* wan6_mac = r6.model->interfaces[1].mac;
  auto frame6_mbuf = [&](const wp::FiveTuple6& t, uint8_t flags, uint16_t len, uint16_t port, const uint8_t* dmac) {
    rte_mbuf* m = rte_pktmbuf_alloc(setup_pool);
    if (!m) {
      std::fprintf(stderr, "mbuf pool exhausted\n");
      std::exit(2);
    }
    wp::bench::build_frame6(reinterpret_cast<uint8_t*>(rte_pktmbuf_append(m, len)), len, t, flags, dmac);
    m->port = port;
    return m;
  };
  auto setup_pass6 = [&]() {
    return setup_pass_of(r6, wp::Counter::sessions6_created, [&](uint32_t i) {
      wp::FiveTuple6 t = wp::bench::client_tuple6(i);
      bool udp = t.proto == wp::kProtoUdp;
      return frame6_mbuf(t, udp ? 0 : wp::kTcpSyn, udp ? 120 : 94, r6.io.lan_port, lan6_mac);
    });
  };
  SetupPass cold6 = setup_pass6();
  size_t rss_after_fill6 = rss_bytes();
  std::string setup6_drop_text = drops_text(c6);
  double bytes_per_session6 = double(table6.memory_bytes()) / table6.capacity();
  double rss_per_session6 = double(rss_after_fill6 - rss_before_table6) / std::max<uint32_t>(table6.size(), 1);
  // Age out: the IPv6 sweep runs in poll_once (route6_step.cc age()); the clock
  // moves on each call so that a clock-paced sweep has a slice due every time.
  for (uint32_t i = 0; table6.size() != 0 && i < o.sessions / 256 + 64; ++i) {
    r6.worker->set_now_ms(r6.worker->now_ms() + 100'000);
    r6.worker->poll_once();
  }
  uint32_t left6 = table6.size();
  if (left6 != 0) std::fprintf(stderr, "warning: %u IPv6 sessions left after aging out\n", left6);
  r6.worker->set_now_ms(r6.worker->now_ms() + 1);
  SetupPass warm6 = setup_pass6();
  uint64_t setup6_drops = cold6.drops + warm6.drops;

  // ---------------------------------------------------------- 3. handshake for F flows
  Router r2;
  if (!make_router(r2, false, ports, key_hmac, o.flows + 1024, error)) {
    std::fprintf(stderr, "r2: %s\n", error.c_str());
    return 2;
  }
  rte_mempool* pool = ports.any_pool();
  auto lan_frames = [&](uint8_t tcp_flags_data) {
    std::vector<rte_mbuf*> v;
    for (uint32_t i = 0; i < o.flows; ++i) {
      FiveTuple t = client_tuple(i);
      v.push_back(frame_mbuf(setup_pool, t, t.proto == wp::kProtoTcp ? tcp_flags_data : 0, kFrameLen, r1.io.lan_port));
    }
    return v;
  };
  auto server_frames = [&]() {
    std::vector<rte_mbuf*> v;
    for (uint32_t i = 0; i < o.flows; ++i) {
      FiveTuple t = client_tuple(i).reversed();
      v.push_back(frame_mbuf(setup_pool, t, t.proto == wp::kProtoTcp ? wp::kTcpAck : 0, kFrameLen, r2.io.lan_port));
    }
    return v;
  };
  auto free_all = [](std::vector<rte_mbuf*>& v) {
    for (auto* m : v) rte_pktmbuf_free(m);
    v.clear();
  };
  wp::WorkerCounters& c2 = r2.worker->counters();
  uint64_t md_sent0 = c1.get(wp::Counter::metadata_sent);
  // (a) r1 forward metadata (sessions exist; not acked yet) -> r2 creates sessions.
  auto wan1 = feed(r1, lan_frames(wp::kTcpAck));
  auto lan2 = feed(r2, std::move(wan1));
  free_all(lan2);
  // (b) server replies -> r2 reverse metadata (TLV 18) -> r1 acks forward metadata.
  auto wan2 = feed(r2, server_frames());
  auto lan1 = feed(r1, std::move(wan2));
  free_all(lan1);
  // (c) r1's next forward packets carry no metadata -> r2 stops reverse metadata.
  uint64_t md_sent1 = c1.get(wp::Counter::metadata_sent);
  wan1 = feed(r1, lan_frames(wp::kTcpAck));
  bool fwd_plain = c1.get(wp::Counter::metadata_sent) == md_sent1;
  lan2 = feed(r2, std::move(wan1));
  free_all(lan2);
  // (d) server replies again: plain, these are r1's WAN-side fast-path frames.
  uint64_t rmd0 = c2.get(wp::Counter::reverse_metadata_sent);
  wan2 = feed(r2, server_frames());
  bool rev_plain = c2.get(wp::Counter::reverse_metadata_sent) == rmd0;
  uint64_t handshakes = c1.get(wp::Counter::handshakes_completed);
  if (!fwd_plain || !rev_plain || handshakes != o.flows || wan2.size() != o.flows) {
    std::fprintf(stderr,
                 "handshake incomplete: r1 handshakes %" PRIu64
                 "/%u, forward plain %d, reverse plain %d, "
                 "r2 sent %zu WAN frames; r1 drops: %s; r2 drops: %s\n",
                 handshakes, o.flows, fwd_plain, rev_plain, wan2.size(), drops_text(c1).c_str(),
                 drops_text(c2).c_str());
    return 3;
  }
  (void)md_sent0;
  std::vector<uint8_t> tmpl_lan(size_t{o.flows} * kFrameLen), tmpl_wan(size_t{o.flows} * kFrameLen);
  for (uint32_t i = 0; i < o.flows; ++i) {
    FiveTuple t = client_tuple(i);
    build_frame(&tmpl_lan[size_t{i} * kFrameLen], kFrameLen, t, t.proto == wp::kProtoTcp ? wp::kTcpAck : 0);
    rte_mbuf* m = wan2[i];
    if (m->data_len != kFrameLen) {
      std::fprintf(stderr, "unexpected r2 WAN frame length %u\n", m->data_len);
      return 3;
    }
    std::memcpy(&tmpl_wan[size_t{i} * kFrameLen], rte_pktmbuf_mtod(m, uint8_t*), kFrameLen);
  }
  free_all(wan2);

  // ---------------------------------------------------------- 4. baseline, fast path, baseline
  TestpmdResult tp1, tp2;
  if (!o.no_testpmd) tp1 = run_testpmd(o);

  r1.io.pool = pool;
  r1.io.tmpl[0] = tmpl_lan.data();
  r1.io.tmpl[1] = tmpl_wan.data();
  r1.io.tmpl_n[0] = r1.io.tmpl_n[1] = o.flows;
  double cpu_packets = 0, cpu_seconds = 0;  // bidirectional windows: Mpps per CPU second
  bool track_cpu = true;
  auto measure_of = [&](Router& r, bool fwd, bool rev, uint32_t windows) {
    wp::WorkerCounters& c = r.worker->counters();
    r.io.rx_on[0] = fwd;
    r.io.rx_on[1] = rev;
    std::vector<double> mpps;
    uint64_t win = static_cast<uint64_t>(o.window_s * hz);
    auto thread_cpu = [] {
      timespec ts;
      clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
      return ts.tv_sec + ts.tv_nsec * 1e-9;
    };
    // Warm-up: 0.2 s.
    for (uint64_t end = rte_rdtsc() + win / 5; rte_rdtsc() < end;) r.worker->poll_once();
    for (uint32_t w = 0; w < windows; ++w) {
      uint64_t tx0 = c.get(wp::Counter::tx_packets);
      double cpu0 = thread_cpu();
      uint64_t t0 = rte_rdtsc(), end = t0 + win, t1;
      do {
        for (int k = 0; k < 16; ++k) r.worker->poll_once();
      } while ((t1 = rte_rdtsc()) < end);
      double pk = double(c.get(wp::Counter::tx_packets) - tx0);
      mpps.push_back(pk / ((t1 - t0) / hz) / 1e6);
      if (track_cpu) {
        cpu_packets += pk;
        cpu_seconds += thread_cpu() - cpu0;
      }
    }
    r.io.rx_on[0] = r.io.rx_on[1] = false;
    return mpps;
  };
  auto measure = [&](bool fwd, bool rev, uint32_t windows) { return measure_of(r1, fwd, rev, windows); };
  uint64_t fp_drops0 = drops_total(c1),
           fp_md0 = c1.get(wp::Counter::metadata_sent) + c1.get(wp::Counter::reverse_metadata_sent);
  uint64_t fp_rx0 = c1.get(wp::Counter::rx_packets), fp_tx0 = c1.get(wp::Counter::tx_packets);
  // IPv6 frames: the same F flows, LAN -> WAN as the clients send them,
  // WAN -> LAN the servers' replies (routed: no handshake, nothing rewritten).
  std::vector<uint8_t> tmpl_lan6(size_t{o.flows} * wp::bench::kFrameLen6), tmpl_wan6(tmpl_lan6.size());
  for (uint32_t i = 0; i < o.flows; ++i) {
    wp::FiveTuple6 t = wp::bench::client_tuple6(i);
    uint8_t fl = t.proto == wp::kProtoTcp ? wp::kTcpAck : 0;
    wp::bench::build_frame6(&tmpl_lan6[size_t{i} * wp::bench::kFrameLen6], wp::bench::kFrameLen6, t, fl, lan6_mac);
    wp::bench::build_frame6(&tmpl_wan6[size_t{i} * wp::bench::kFrameLen6], wp::bench::kFrameLen6, t.reversed(), fl,
                            wan6_mac);
  }
  r6.io.pool = pool;
  r6.io.frame_len = wp::bench::kFrameLen6;
  r6.io.tmpl[0] = tmpl_lan6.data();
  r6.io.tmpl[1] = tmpl_wan6.data();
  r6.io.tmpl_n[0] = r6.io.tmpl_n[1] = o.flows;
  uint64_t fp6_drops0 = drops_total(c6), fp6_tx0 = c6.get(wp::Counter::tx_packets),
           fp6_fwd0 = c6.get(wp::Counter::ipv6_forwarded);
  // Both directions, IPv4 and IPv6 windows alternated (the VM's load moves).
  std::vector<double> bidir, bidir6;
  double cpu_packets6 = 0, cpu_seconds6 = 0;
  for (uint32_t w = 0; w < o.windows; ++w) {
    for (double x : measure(true, true, 1)) bidir.push_back(x);
    std::swap(cpu_packets, cpu_packets6);
    std::swap(cpu_seconds, cpu_seconds6);
    for (double x : measure_of(r6, true, true, 1)) bidir6.push_back(x);
    std::swap(cpu_packets, cpu_packets6);
    std::swap(cpu_seconds, cpu_seconds6);
  }
  track_cpu = false;
  std::vector<double> fwd_only = measure(true, false, o.dir_windows);
  std::vector<double> rev_only = measure(false, true, o.dir_windows);
  // A hot set: the first 1024 flows only (session and index lines stay in
  // cache), to tell per-packet work from memory latency.
  uint32_t hot_flows = std::min<uint32_t>(1024, o.flows);
  r1.io.tmpl_n[0] = r1.io.tmpl_n[1] = hot_flows;
  r1.io.tmpl_pos[0] = r1.io.tmpl_pos[1] = 0;
  std::vector<double> hot = measure(true, true, o.dir_windows);
  r1.io.tmpl_n[0] = r1.io.tmpl_n[1] = o.flows;
  uint64_t fp_drops = drops_total(c1) - fp_drops0;
  uint64_t fp_md = c1.get(wp::Counter::metadata_sent) + c1.get(wp::Counter::reverse_metadata_sent) - fp_md0;
  uint64_t fp_rx = c1.get(wp::Counter::rx_packets) - fp_rx0, fp_tx = c1.get(wp::Counter::tx_packets) - fp_tx0;
  std::vector<double> fwd_only6 = measure_of(r6, true, false, o.dir_windows);
  std::vector<double> rev_only6 = measure_of(r6, false, true, o.dir_windows);
  r6.io.tmpl_n[0] = r6.io.tmpl_n[1] = hot_flows;
  r6.io.tmpl_pos[0] = r6.io.tmpl_pos[1] = 0;
  std::vector<double> hot6 = measure_of(r6, true, true, o.dir_windows);
  uint64_t fp6_drops = drops_total(c6) - fp6_drops0, fp6_tx = c6.get(wp::Counter::tx_packets) - fp6_tx0,
           fp6_fwd = c6.get(wp::Counter::ipv6_forwarded) - fp6_fwd0;
  if (fp6_fwd != fp6_tx)
    std::fprintf(stderr, "IPv6 fast path: %" PRIu64 " sent but %" PRIu64 " routed as IPv6\n", fp6_tx, fp6_fwd);

  if (!o.no_testpmd) tp2 = run_testpmd(o);

  double mpps = median(bidir);
  std::vector<double> tp_all;
  for (auto* t : {&tp1, &tp2}) tp_all.insert(tp_all.end(), t->samples.begin(), t->samples.end());
  double testpmd_mpps = median(tp_all);
  double ratio = testpmd_mpps > 0 ? mpps / testpmd_mpps : 0;
  bool tp_ok = !o.no_testpmd && tp1.ok && tp2.ok;
  // Per CPU second actually received: this VM is shared, and a loop that was
  // descheduled for part of a window forwards nothing in that part.
  double mpps_cpu = cpu_seconds > 0 ? cpu_packets / cpu_seconds / 1e6 : 0;
  double tp_cpu_s = tp1.cpu_s + tp2.cpu_s;
  double testpmd_mpps_cpu = tp_cpu_s > 0 ? (tp1.packets + tp2.packets) / tp_cpu_s / 1e6 : 0;
  double ratio_cpu = testpmd_mpps_cpu > 0 ? mpps_cpu / testpmd_mpps_cpu : 0;
  // IPv6 beside IPv4: ratios v6/v4 of the same run.
  double mpps6 = median(bidir6);
  double mpps6_cpu = cpu_seconds6 > 0 ? cpu_packets6 / cpu_seconds6 / 1e6 : 0;
  double setup6_per_s = warm6.per_s, setup6_per_cpu_s = warm6.created / warm6.cpu_seconds;
  double setup_per_cpu_s = warm.created / warm.cpu_seconds;
  auto ratio_of = [](double a, double b) { return b > 0 ? a / b : 0; };
  double setup6_ratio = ratio_of(setup6_per_s, setup_per_s), setup6_ratio_cpu = ratio_of(setup6_per_cpu_s, setup_per_cpu_s);
  double mpps6_ratio = ratio_of(mpps6, mpps), mpps6_ratio_cpu = ratio_of(mpps6_cpu, mpps_cpu);
  double bytes6_over_v4 = bytes_per_session6 - bytes_per_session;

  // ---------------------------------------------------------- report
  auto fmt_list = [](const std::vector<double>& v) {
    std::string s;
    char b[32];
    for (double x : v) {
      std::snprintf(b, sizeof b, "%s%.2f", s.empty() ? "" : " ", x);
      s += b;
    }
    return s;
  };
  std::printf("\nWaypoint foundation benchmark: 1 worker on lcore %u (CPU %u), IPsec-MB %s, TSC %.2f GHz\n",
              rte_lcore_id(), cpu, std::string(r1.worker->hmac().arch()).c_str(), hz / 1e9);
  std::printf(
      "I/O: rx = bulk mbuf alloc + 64 B copy per packet (what net_null copy=1 rx does); tx = "
      "rte_eth_tx_burst on net_null copy=1.\n");
  std::printf("%-44s %s\n", "measure", "value");
  std::printf("%-44s %u (UDP 100 B / TCP SYN 74 B, unique 5-tuples)\n", "setup: first packets", o.sessions);
  std::printf("%-44s %" PRIu64 " cold + %" PRIu64 " warm (drops: %s)\n", "setup: sessions created", cold.created,
              created, setup_drop_text.c_str());
  std::printf("%-44s %.0f /s (%.3f s in poll_once, table memory resident)\n", "setup rate per core (warm)", setup_per_s,
              setup_s);
  std::printf("%-44s %.0f /s\n", "  warm, per CPU second (descheduling removed)", warm.created / warm.cpu_seconds);
  std::printf("%-44s %.0f /s at %.0f%% fill -> %.0f /s at 100%%\n", "  warm, first batch -> last batch",
              warm.by_fill.front().second, warm.by_fill.front().first * 100, warm.by_fill.back().second);
  std::printf("%-44s %.0f /s (%.3f s; first batch %.0f /s, last %.0f /s)\n", "  cold (first touch of table pages)",
              cold.per_s, cold.seconds, cold.by_fill.front().second, cold.by_fill.back().second);
  std::printf("%-44s %.0f ns/session (not timed above)\n", "  (pre-building a first-packet mbuf)",
              build_cycles / hz * 1e9 / (2.0 * o.sessions));
  std::printf("%-44s %.1f B (sizeof(Session) %zu, table %.1f MiB for %u)\n", "bytes per session (table memory)",
              bytes_per_session, sizeof(wp::Session), table.memory_bytes() / 1048576.0, table.capacity());
  (void)filled;
  std::printf("%-44s %.1f B (RSS %.1f -> %.1f MiB; process start %.1f MiB)\n", "  RSS growth per session",
              rss_per_session, rss_before_table / 1048576.0, rss_after_fill / 1048576.0, rss_start / 1048576.0);
  std::printf("%-44s %u of %u sessions, 64 B frames, handshakes done %" PRIu64 "\n", "fast path: flows", o.flows,
              table.size(), handshakes);
  std::printf("%-44s %.2f Mpps  [windows: %s]\n", "fast path both directions (mpps)", mpps, fmt_list(bidir).c_str());
  std::printf("%-44s %.2f Mpps\n", "  LAN->WAN only", median(fwd_only));
  std::printf("%-44s %.2f Mpps\n", "  WAN->LAN only", median(rev_only));
  std::printf("%-44s %.2f Mpps (both directions, %u flows)\n", "  hot set", median(hot), hot_flows);
  std::printf("%-44s rx %" PRIu64 " tx %" PRIu64 " drops %" PRIu64 " metadata %" PRIu64 " nombuf %" PRIu64 "\n",
              "  fast path counters", fp_rx, fp_tx, fp_drops, fp_md, r1.io.rx_nombuf);
  if (o.no_testpmd) {
    std::printf("%-44s skipped (--no-testpmd)\n", "testpmd io-fwd");
  } else {
    std::printf("%-44s %.2f Mpps  [before: %s | after: %s]\n", "testpmd io-fwd, 1 core, both ports", testpmd_mpps,
                fmt_list(tp1.samples).c_str(), fmt_list(tp2.samples).c_str());
    if (!tp1.ok) std::printf("  testpmd (before) failed: %s\n", tp1.error.c_str());
    if (!tp2.ok) std::printf("  testpmd (after) failed: %s\n", tp2.error.c_str());
    std::printf("%-44s %.2f (%.0f %%); hot set %.2f\n", "ratio vs testpmd", ratio, ratio * 100,
                testpmd_mpps > 0 ? median(hot) / testpmd_mpps : 0);
    std::printf("%-44s ours %.2f, testpmd %.2f Mpps per CPU-s: ratio %.2f\n", "per CPU second (descheduling removed)",
                mpps_cpu, testpmd_mpps_cpu, ratio_cpu);
    std::printf("  testpmd: %s\n", tp1.cmdline.c_str());
  }
  std::printf("%-44s %u first packets (UDP 120 B / TCP SYN 94 B), %" PRIu64 " cold + %" PRIu64 " warm (drops: %s)\n",
              "IPv6 setup (route6_step)", o.sessions, cold6.created, warm6.created, setup6_drop_text.c_str());
  std::printf("%-44s %.0f /s v6 vs %.0f /s v4: ratio %.2f (per CPU second %.0f vs %.0f: %.2f)\n",
              "IPv6 setup rate per core (warm)", setup6_per_s, setup_per_s, setup6_ratio, setup6_per_cpu_s,
              setup_per_cpu_s, setup6_ratio_cpu);
  std::printf("%-44s %.0f /s (cold, first touch of table pages)\n", "", cold6.per_s);
  std::printf("%-44s %.1f B v6 vs %.1f B v4: +%.1f B (sizeof(Session6) %zu; RSS growth %.1f B)\n",
              "IPv6 bytes per session (table memory)", bytes_per_session6, bytes_per_session, bytes6_over_v4,
              sizeof(wp::Session6), rss_per_session6);
  std::printf("%-44s %.2f Mpps v6 vs %.2f v4: ratio %.2f  [v6 windows: %s] (%u B frames)\n",
              "IPv6 fast path both directions", mpps6, mpps, mpps6_ratio, fmt_list(bidir6).c_str(),
              wp::bench::kFrameLen6);
  std::printf("%-44s %.2f vs %.2f Mpps per CPU-s: ratio %.2f\n", "  per CPU second (v6 vs v4)", mpps6_cpu, mpps_cpu,
              mpps6_ratio_cpu);
  std::printf("%-44s %.2f / %.2f Mpps; hot set %.2f Mpps\n", "  LAN->WAN only / WAN->LAN only", median(fwd_only6),
              median(rev_only6), median(hot6));
  std::printf("%-44s tx %" PRIu64 " routed %" PRIu64 " drops %" PRIu64 "\n", "  IPv6 fast path counters", fp6_tx,
              fp6_fwd, fp6_drops);
  std::printf("%-44s setup v6/v4 >= 0.90 %s, fast path v6/v4 >= 0.90 %s, bytes v6 - v4 <= 48 %s\n", "IPv6 targets",
              setup6_ratio >= 0.9 ? "MET" : "MISSED", mpps6_ratio >= 0.9 ? "MET" : "MISSED",
              bytes6_over_v4 <= 48 ? "MET" : "MISSED");
  std::printf("%-44s setup >= 1000000/s %s, ratio >= 0.60 %s, <= 256 B/session %s\n", "targets",
              setup_per_s >= 1e6 ? "MET" : "MISSED",
              !tp_ok         ? "n/a"
              : ratio >= 0.6 ? "MET"
                             : "MISSED",
              bytes_per_session <= 256 ? "MET" : "MISSED");

  bool huge = std::find(o.eal.begin(), o.eal.end(), "--no-huge") == o.eal.end();
  const std::string date = wp::bench::iso_date_now();
  std::printf(
      "{\"scenario\":\"foundation\",\"workers\":1,\"sessions\":%u,\"setup_per_s\":%.0f,\"mpps\":%.3f,"
      "\"testpmd_mpps\":%s,\"ratio_vs_testpmd\":%s,\"bytes_per_session\":%.1f,\"rss_bytes_per_session\":%.1f,"
      "\"setup_cold_per_s\":%.0f,\"setup_per_cpu_s\":%.0f,\"fast_path_flows\":%u,\"fwd_mpps\":%.3f,\"rev_mpps\":%.3f,"
      "\"mpps_cpu\":%.3f,\"testpmd_mpps_cpu\":%.3f,\"ratio_cpu_vs_testpmd\":%.3f,\"mpps_hot\":%.3f,\"ratio_hot_vs_"
      "testpmd\":%s,\"hot_flows\":%u,\"eal_memory\":\"%s\",\"frame_bytes\":%u,"
      "\"io\":\"net_null copy=1 (rx alloc+copy, tx copy+free) for both\",\"setup_drops\":%" PRIu64
      ",\"fast_path_drops\":%" PRIu64
      ",\"setup6_per_s\":%.0f,\"setup6_cold_per_s\":%.0f,\"setup6_per_cpu_s\":%.0f,\"setup6_ratio\":%.3f,"
      "\"setup6_ratio_cpu\":%.3f,\"mpps6\":%.3f,\"mpps6_cpu\":%.3f,\"mpps6_ratio\":%.3f,\"mpps6_ratio_cpu\":%.3f,"
      "\"fwd_mpps6\":%.3f,\"rev_mpps6\":%.3f,\"mpps6_hot\":%.3f,\"bytes_per_session6\":%.1f,"
      "\"bytes6_over_v4\":%.1f,\"rss_bytes_per_session6\":%.1f,\"frame_bytes6\":%u,\"setup6_drops\":%" PRIu64
      ",\"fast_path6_drops\":%" PRIu64 ",\"cpu\":%u,\"commit\":\"%s\",\"date\":\"%s\"}\n",
      o.sessions, setup_per_s, mpps, tp_ok ? std::to_string(testpmd_mpps).c_str() : "null",
      tp_ok ? std::to_string(ratio).c_str() : "null", bytes_per_session, rss_per_session, cold.per_s,
      warm.created / warm.cpu_seconds, o.flows, median(fwd_only), median(rev_only), mpps_cpu, testpmd_mpps_cpu,
      ratio_cpu, median(hot), tp_ok ? std::to_string(median(hot) / testpmd_mpps).c_str() : "null", hot_flows,
      huge ? "hugepages" : "no-huge 4k pages", kFrameLen, setup_drops, fp_drops, setup6_per_s, cold6.per_s,
      setup6_per_cpu_s, setup6_ratio, setup6_ratio_cpu, mpps6, mpps6_cpu, mpps6_ratio, mpps6_ratio_cpu,
      median(fwd_only6), median(rev_only6), median(hot6), bytes_per_session6, bytes6_over_v4, rss_per_session6,
      wp::bench::kFrameLen6, setup6_drops, fp6_drops, cpu, o.commit.c_str(), date.c_str());
  std::fflush(stdout);

  r1.worker.reset();
  r2.worker.reset();
  r6.worker.reset();
  r1.shared.free_rings();
  r2.shared.free_rings();
  r6.shared.free_rings();
  ports.stop();
  rte_eal_cleanup();
  return (setup_drops || fp_drops || setup6_drops || fp6_drops || fp6_fwd != fp6_tx) ? 1 : 0;
}
