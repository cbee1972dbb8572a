// benchmark: session sync throughput and full resync time between two
// waypoint HA nodes over a real Corosync CPG group (perf/bench_ha.sh runs two
// of these in two network namespaces, each beside its own corosync).
//
//   wp_bench_ha --mode raw|sync|resync --role sender|receiver --sessions N [-- EAL args]
//
// raw:    the baseline, measured in the same run: 48 KB messages (one full
//         sync batch) multicast as fast as CPG flow control allows.
// sync:   the sender's worker creates N sessions and posts their events into
//         its HA ring (waiting for room, so the ring never drops); the HA node
//         batches them to the peer, whose HA node decodes them and whose
//         worker inserts them into its own table. The receiver times first to
//         last session applied.
// resync: the sender holds N sessions before the receiver joins; the
//         receiver times join -> every chunk applied (HaStatus last_resync_ms).
// The receiver prints one JSON line; the script adds the table.
#include <rte_eal.h>
#include <rte_ring_elem.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <thread>

#include "dataplane/control/eal.h"
#include "dataplane/control/router_model.h"
#include "dataplane/session/owner.h"
#include "dataplane/worker/worker.h"
#include "ha/cpg_transport.h"
#include "ha/ha_node.h"

namespace {

using namespace wp;
using Clock = std::chrono::steady_clock;
constexpr const char* kKey = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }
uint64_t realtime_us() {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count());
}
// sync: the sender writes when it posted its first event here (both nodes run
// on one host, so one clock); the receiver times from it to its last session
// applied. Without it the receiver times first to last session applied, which
// reads as instant when a starved receiver gets every message in one dispatch.
std::string g_start_file;
void write_start(uint64_t us) {
  if (g_start_file.empty()) return;
  const std::string tmp = g_start_file + ".tmp";
  if (FILE* f = std::fopen(tmp.c_str(), "w")) {
    std::fprintf(f, "%lu\n", us);
    std::fclose(f);
    std::rename(tmp.c_str(), g_start_file.c_str());
  }
}
uint64_t read_start() {
  unsigned long us = 0;
  if (FILE* f = g_start_file.empty() ? nullptr : std::fopen(g_start_file.c_str(), "r")) {
    if (std::fscanf(f, "%lu", &us) != 1) us = 0;
    std::fclose(f);
  }
  return us;
}
using ha::epoch_ms;

config::Config hub_config(bool a) {
  config::Config c;
  c.mutable_router()->set_name(a ? "hub-a" : "hub-b");
  auto* l = c.mutable_router()->mutable_lan();
  l->set_name("lan");
  l->set_device("lan0");
  l->set_address(a ? "10.2.0.2/24" : "10.2.0.3/24");
  auto* w = c.mutable_router()->add_wan();
  w->set_name("wan0");
  w->set_device("wan0");
  w->set_address(a ? "172.16.0.2/24" : "172.16.0.3/24");
  auto* t = c.add_tenants();
  t->set_name("branch");
  t->add_prefixes("10.1.0.0/16");
  auto* s = c.add_services();
  s->set_name("web");
  s->add_prefixes("10.2.0.0/24");
  s->set_protocol("tcp");
  auto* p = c.add_policies();
  p->set_tenant("branch");
  p->set_service("web");
  auto* peer = c.add_peers();
  peer->set_name("r1");
  peer->add_waypoints("172.16.0.1");
  peer->set_key(kKey);
  return c;
}

// Session i as hub-a holds it: distinct client tuple, waypoint ports of its class.
Session make_session(const RouterModel& rm, uint32_t i, std::vector<uint32_t>& per_class, uint32_t now) {
  Session s;
  s.original = {0x0a010000u + (i >> 6), 0x0a02000au, static_cast<uint16_t>(1024 + (i & 63) * 997 % 60000), 80, 6};
  uint32_t cls = affinity_class(s.original);
  uint32_t k = per_class[cls]++;
  auto port = [&](uint32_t v, uint32_t odd) {
    return static_cast<uint16_t>((kWaypointPortMin / 2 + cls + kAffinityClasses * (v % 384)) * 2 + odd);
  };
  s.out_rev = {{0xac100002u, 0xac100001u, port(k / 384, 1), port(k, 0), 6}, 0xac100001u, 1, 0};
  s.out_fwd = {s.original, s.original.dst, 0, -1};
  for (int b = 0; b < 4; ++b) s.uuid[b] = static_cast<uint8_t>(i >> (8 * b));
  s.tenant = 0;
  s.service = 0;
  s.security = static_cast<int16_t>(rm.policy(0, 0));
  s.flags = kReverseSeen;
  s.created_ms = s.last_ms = now;
  s.in_use = 1;
  return s;
}

class RawCounter : public ha::TransportHandler {
 public:
  void on_message(const ha::Member& from, const void*, size_t len) override {
    if (from.node == self) return;
    if (messages++ == 0) first = Clock::now();
    bytes += len;
  }
  void on_membership(const std::vector<ha::Member>& m, const std::vector<ha::Member>&,
                     const std::vector<ha::Member>&) override {
    members = m.size();
  }
  void on_quorum(bool, const std::vector<uint32_t>&) override {}  // the raw CPG rate does not depend on it
  uint32_t self = 0;
  size_t members = 0;
  uint64_t messages = 0, bytes = 0;
  Clock::time_point first;
};

int run_raw(bool sender, uint32_t count, const std::string& group, size_t msg_bytes) {
  ha::CpgTransport t;
  std::string err;
  if (!t.open(group, err)) return std::fprintf(stderr, "%s\n", err.c_str()), 2;
  RawCounter rc;
  rc.self = t.local_node();
  while (rc.members < 2) t.dispatch(rc), std::this_thread::sleep_for(std::chrono::milliseconds(5));
  if (sender) {
    std::string msg(msg_bytes, 'x');
    for (uint32_t sent = 0; sent < count;) {
      auto r = t.send(msg);
      if (r == ha::Transport::SendResult::sent)
        ++sent;
      else if (r == ha::Transport::SendResult::failed)
        return 2;
      t.dispatch(rc);
    }
    std::this_thread::sleep_for(std::chrono::seconds(2));  // let the receiver finish before we leave
    return 0;
  }
  auto start = Clock::now();
  while (rc.messages < count && since(start) < 60) {
    if (!t.dispatch(rc)) return 2;
    std::this_thread::sleep_for(std::chrono::microseconds(50));
  }
  double s = std::chrono::duration<double>(Clock::now() - rc.first).count();
  std::printf(
      "{\"bench\":\"ha\",\"mode\":\"raw\",\"messages\":%lu,\"bytes\":%lu,\"seconds\":%.3f,\"messages_per_s\":%.0f,"
      "\"mbytes_per_s\":%.1f}\n",
      rc.messages, rc.bytes, s, rc.messages / s, rc.bytes / s / 1e6);
  return rc.messages == count ? 0 : 1;
}

// One HA node over a one-worker dataplane, as waypointd runs them.
struct Hub {
  HmacEngine hmac;
  std::shared_ptr<const RouterModel> model;
  DataplaneShared shared;
  std::unique_ptr<Worker> worker;
  std::unique_ptr<ha::HaNode> node;
  std::vector<uint32_t> per_class = std::vector<uint32_t>(kAffinityClasses, 0);
  Clock::time_point start;

  // Polls the node until done() or `limit_s` seconds after start.
  template <typename Done>
  bool until(Done done, double limit_s) {
    while (!done() && since(start) < limit_s)
      if (node->poll(epoch_ms()) == 0) std::this_thread::sleep_for(std::chrono::microseconds(50));
    return done();
  }
};

bool g_compress = true;  // --no-compress: batches as plain protobuf (the code before #17)
uint32_t g_ack_ms = 0;   // --ack-ms: HaSettings::ack_interval_ms (0: the default)
bool g_sender_thread = true;  // --inline-sender: the encoder on the HA thread (as before the sender thread)

bool make_hub(Hub& h, bool sender, uint32_t n, const std::string& group, size_t batch_bytes, std::string& err) {
  h.model = RouterModel::build(hub_config(sender), nullptr, nullptr, h.hmac, err);
  if (!h.model || !h.shared.create_rings(1, 1024, SOCKET_ID_ANY, err)) return false;
  h.shared.model.store(h.model.get());
  h.shared.ha.peer_addresses.push_back({sender ? 0xac100003u : 0xac100002u, 1});
  if (!h.shared.enable_events(EventConsumer::ha, 1u << 16, SOCKET_ID_ANY, err) ||
      !h.shared.ha.create(1, 1u << 16, SOCKET_ID_ANY, err))
    return false;
  h.worker = std::make_unique<Worker>(0, h.shared, n + n / 4 + 1024, SOCKET_ID_ANY);
  if (!h.worker->ok()) return err = "session table of " + std::to_string(n) + ": give EAL more memory (-m)", false;
  ha::HaSettings hs;
  hs.node_id = sender ? 1 : 2;
  hs.limits.max_bytes = batch_bytes;
  hs.compress = g_compress;
  hs.sender_thread = g_sender_thread;
  if (g_ack_ms) hs.ack_interval_ms = g_ack_ms;
  h.node = std::make_unique<ha::HaNode>(h.shared, hs, [group](std::string& e) -> std::unique_ptr<ha::Transport> {
    auto t = std::make_unique<ha::CpgTransport>();
    if (!t->open(group, e)) return nullptr;
    return t;
  });
  return true;
}

// Resync: the full state exists before the peer arrives.
bool fill_table(Hub& h, uint32_t n, std::string& err) {
  for (uint32_t i = 0; i < n; ++i) {
    Session* p = h.worker->table().allocate();
    *p = make_session(*h.model, i, h.per_class, 0);
    if (!h.worker->table().insert(p)) return err = "duplicate session " + std::to_string(i), false;
  }
  return true;
}

// Sync: posts creations as a worker would, as fast as the HA ring takes them.
void post_creations(Hub& h, uint32_t n) {
  rte_ring* ring = h.shared.event_ring(EventConsumer::ha, 0);
  uint32_t posted = 0;
  while (posted < n && since(h.start) < 120) {
    for (int k = 0; k < 4096 && posted < n && rte_ring_free_count(ring) > 1; ++k, ++posted)
      h.worker->post_event(SessionEventKind::created, make_session(*h.model, posted, h.per_class, dataplane_now_ms()));
    h.node->poll(epoch_ms());
  }
}

// The receiver: waits for all `n` sessions and prints the JSON line.
int measure_receiver(Hub& h, bool resync, uint32_t n) {
  Clock::time_point first{}, decoded{};
  const ha::HaStatus& st = h.node->status();
  bool done = h.until(
      [&] {
        if (first == Clock::time_point{} && h.worker->table().size() > 0) first = Clock::now();
        // Every session decoded by the HA thread (queued to the worker): the sync without the worker's inserts.
        if (decoded == Clock::time_point{} && st.get(ha::HaStatus::Counter::sessions_received) >= n) decoded = Clock::now();
        // resync: HaNode stamps last_resync_ms once every chunk is applied.
        return (!resync || st.last_resync_ms.load() > 0) && h.worker->table().size() >= n;
      },
      120);
  const uint64_t end_us = realtime_us(), start_us = read_start();
  const double applied_span_s = std::chrono::duration<double>(Clock::now() - first).count();
  double s = resync ? st.last_resync_ms.load() / 1000.0
                    : start_us && end_us > start_us ? (end_us - start_us) / 1e6 : applied_span_s;
  const uint32_t applied = h.worker->table().size();
  std::printf(
      "{\"bench\":\"ha\",\"mode\":\"%s\",\"sessions\":%u,\"applied\":%u,\"seconds\":%.3f,"
      "\"sessions_per_s\":%.0f,\"messages\":%lu,\"bytes\":%lu,\"messages_per_s\":%.0f,"
      "\"wire_bytes_per_session\":%.1f,\"compress\":%s,\"decoded_s\":%.3f,\"from\":\"%s\",\"applied_span_s\":%.3f}\n",
      resync ? "resync" : "sync", n, applied, s, applied / s, st.get(ha::HaStatus::Counter::messages_received),
      st.get(ha::HaStatus::Counter::bytes_received), st.get(ha::HaStatus::Counter::messages_received) / s,
      applied ? static_cast<double>(st.get(ha::HaStatus::Counter::bytes_received)) / applied : 0.0,
      g_compress ? "true" : "false",
      decoded == Clock::time_point{} || first == Clock::time_point{} ? 0.0
                                                                      : std::chrono::duration<double>(decoded - first).count(),
      resync ? "join" : start_us ? "first_posted" : "first_applied", applied_span_s);
  return done ? 0 : 1;
}

int run_ha(bool sender, bool resync, uint32_t n, const std::string& group, size_t batch_bytes) {
  Hub h;
  std::string err;
  if (!make_hub(h, sender, n, group, batch_bytes, err) || (sender && resync && !fill_table(h, n, err)))
    return std::fprintf(stderr, "%s\n", err.c_str()), 2;
  std::atomic<bool> stop{false};
  std::thread dataplane([&] {  // the worker: applies inbound sessions, republishes for a resync
    while (!stop.load(std::memory_order_relaxed)) {
      h.worker->set_now_ms(dataplane_now_ms());
      if (h.worker->ha().poll() == 0) std::this_thread::sleep_for(std::chrono::microseconds(20));
    }
  });
  h.start = Clock::now();
  int rc = 0;
  bool peer = h.until([&] { return h.node->peer_present() && h.shared.ha.own_held.load(); }, 30);
  if (!peer) rc = 1;
  double post_s = 0;  // sender: first event posted -> last one posted (the HA thread keeps up or not)
  if (sender && !resync && peer) {
    const Clock::time_point t0 = Clock::now();
    write_start(realtime_us());
    post_creations(h, n);
    post_s = since(t0);
  }
  if (sender) {
    h.until([] { return false; }, since(h.start) + 15 + (resync ? 30 : 0));  // serve until the receiver is done
    // What the sender saw: CPG flow control (send_retries) and what went out.
    using C = ha::HaStatus::Counter;
    const ha::HaStatus& st = h.node->status();
    std::printf(
        "{\"bench\":\"ha\",\"role\":\"sender\",\"mode\":\"%s\",\"sessions_sent\":%lu,\"messages_sent\":%lu,"
        "\"bytes_sent\":%lu,\"raw_bytes\":%lu,\"send_retries\":%lu,\"sync_lag_max_ms\":%lu,\"post_s\":%.3f}\n",
        resync ? "resync" : "sync", st.get(C::sessions_sent), st.get(C::messages_sent), st.get(C::bytes_sent),
        st.get(C::compressed_raw_bytes), st.get(C::send_retries), st.sync_lag_max_ms.load(), post_s);
  }
  else if (peer)
    rc = measure_receiver(h, resync, n);
  stop = true;
  dataplane.join();
  return rc;
}

}  // namespace

int main(int argc, char** argv) {
  const int split = wp::eal_split(argc, argv);
  CLI::App app{"HA sync benchmark over Corosync CPG"};
  std::string mode = "sync", role = "receiver", group = "wp-bench";
  uint32_t n = 100000;
  size_t raw_bytes = 8 * 1024, batch_bytes = ha::SessionBatcher::Limits{}.max_bytes;
  app.add_option("--raw-bytes", raw_bytes, "raw: message size");
  app.add_option("--batch-bytes", batch_bytes, "sync/resync: HA batch size bound");
  app.add_option("--mode", mode)->check(CLI::IsMember({"raw", "sync", "resync"}));
  app.add_option("--role", role)->check(CLI::IsMember({"sender", "receiver"}));
  app.add_option("--sessions", n, "sessions (raw: 48 KB messages)");
  app.add_option("--group", group);
  app.add_option("--ack-ms", g_ack_ms, "sync/resync: the receiver's Ack interval (HaSettings::ack_interval_ms)");
  app.add_option("--start-file", g_start_file, "sync: the sender's first-post time, shared with the receiver");
  bool no_compress = false;
  app.add_flag("--no-compress", no_compress, "sync/resync: batches not LZ4-compressed (as before #17)");
  bool inline_sender = false;
  app.add_flag("--inline-sender", inline_sender, "sync/resync: drain and pack on the HA thread (before the HA sender thread)");
  CLI11_PARSE(app, split, argv);
  g_compress = !no_compress;
  g_sender_thread = !inline_sender;
  if (std::string error; !wp::eal_init(wp::eal_args_after(argc, argv, split), error))
    return std::fprintf(stderr, "%s\n", error.c_str()), 2;
  int rc = mode == "raw" ? run_raw(role == "sender", n, group, raw_bytes)
                         : run_ha(role == "sender", mode == "resync", n, group, batch_bytes);
  rte_eal_cleanup();
  return rc;
}
