// The in-process router harness (svr_harness.h): what every multi-router
// unit test used to copy.
#include "tests/unit/svr_harness.h"

#include <cstring>
#include <stdexcept>

namespace wp::test {

std::vector<uint8_t> unhex(std::string_view h) {
  std::vector<uint8_t> out;
  for (size_t i = 0; i + 1 < h.size(); i += 2)
    out.push_back(static_cast<uint8_t>(std::stoi(std::string(h.substr(i, 2)), nullptr, 16)));
  return out;
}

// --- configs ---------------------------------------------------------------------

config::Config router_base(const std::string& name, const std::string& lan, const std::vector<WanSpec>& wans) {
  config::Config c;
  c.mutable_router()->set_name(name);
  auto* l = c.mutable_router()->mutable_lan();
  l->set_name("lan");
  l->set_device("lan0");
  l->set_address(lan);
  for (const WanSpec& spec : wans) {
    auto* w = c.mutable_router()->add_wan();
    w->set_name(spec.name);
    w->set_device(spec.name);
    w->set_address(spec.address);
  }
  return c;
}

void add_tenant(config::Config& c, const std::string& name, const std::string& prefix) {
  auto* t = c.add_tenants();
  t->set_name(name);
  t->add_prefixes(prefix);
}

void add_route(config::Config& c, const std::string& prefix, const std::string& next_hop, const std::string& interface) {
  auto* rt = c.add_routes();
  rt->set_prefix(prefix);
  rt->set_next_hop(next_hop);
  rt->set_interface(interface);
}

config::Service* add_service(config::Config& c, const ServiceSpec& s) {
  auto* sv = c.add_services();
  sv->set_name(s.name);
  sv->add_prefixes(s.prefix);
  sv->set_protocol(s.proto);
  if (*s.ports) sv->add_ports(s.ports);
  sv->set_next_peer(s.next_peer);
  return sv;
}

void add_policy(config::Config& c, const std::string& tenant, const std::string& service, const std::string& security) {
  auto* p = c.add_policies();
  p->set_tenant(tenant);
  p->set_service(service);
  p->set_security(security);
}

void add_security(config::Config& c, const std::string& name, const std::string& encryption, const std::string& hmac,
                  bool adaptive) {
  auto* sp = c.add_security_policies();
  sp->set_name(name);
  sp->set_encryption(encryption);
  sp->set_hmac(hmac);
  sp->set_adaptive(adaptive);
}

void add_peer(config::Config& c, const std::string& name, std::initializer_list<const char*> waypoints,
              const std::string& key) {
  auto* p = c.add_peers();
  p->set_name(name);
  for (const char* w : waypoints) p->add_waypoints(w);
  p->set_key(key);
}

// --- one router ------------------------------------------------------------------

namespace {
uint16_t no_rx(void*, uint16_t, uint16_t, rte_mbuf**, uint16_t) { return 0; }
}  // namespace

Router::Router(const config::Config& cfg, RouterOptions opts) {
  pool_ = test_pool();  // EAL first: rings live in DPDK memory
  shared_ = std::make_unique<DataplaneShared>();
  shared_->key_slots = opts.key_slots;
  std::string err;
  if (!shared_->create_rings(opts.workers, 1024, SOCKET_ID_ANY, err)) throw std::runtime_error(err);
  model_ = RouterModel::build(cfg, nullptr, nullptr, hmac_, err);
  if (!model_) throw std::runtime_error(err);
  shared_->model.store(model_.get());
  if (opts.udp_timeout_ms) shared_->timeouts.udp_ms = opts.udp_timeout_ms;
  for (const auto& [consumer, size] : opts.events)
    if (!shared_->enable_events(consumer, size, SOCKET_ID_ANY, err)) throw std::runtime_error(err);
  if (opts.monitored_paths) {
    paths_ = std::make_unique<PathTable>(*model_, cfg, opts.workers, /*monitored=*/true);
    for (size_t i = 0; i < paths_->size(); ++i) paths_->live(i).usable.store(true);
    paths_->recompute();
    shared_->paths = paths_.get();
    shared_->control_pool = pool_;
  } else if (opts.unmonitored_paths) {  // as waypointd without path_monitoring (dataplane_runtime.cc)
    paths_ = std::make_unique<PathTable>(*model_, cfg, opts.workers, /*monitored=*/false);
    paths_->recompute();
    shared_->paths = paths_.get();
  }
  if (opts.prepare) opts.prepare(*shared_);
  for (uint32_t w = 0; w < opts.workers; ++w) {
    workers_.push_back(std::make_unique<Worker>(w, *shared_, opts.max_sessions, SessionTable::kHeapMemory));
    if (!workers_.back()->ok()) throw std::runtime_error("worker not ok");
    std::string error;
    if (opts.app_packets && !workers_.back()->enable_apps({64, opts.app_packets}, error))
      throw std::runtime_error(error);
    workers_.back()->set_io(no_rx, capture, this);
  }
}

void Router::commit(const config::Config& cfg) {
  std::string err;
  auto next = RouterModel::build(cfg, nullptr, nullptr, hmac_, err);
  if (!next) throw std::runtime_error(err);
  retired_.push_back(model_);
  model_ = next;
  shared_->model.store(model_.get(), std::memory_order_release);
  for (int i = 0; i < 100000; ++i) {
    idle();
    if (worker().counters().model_settled.load() == reinterpret_cast<uintptr_t>(model_.get())) return;
  }
  throw std::runtime_error("worker did not settle on the committed model");
}

Router::~Router() {
  workers_.clear();
  shared_->free_rings();
}

std::vector<Frame> Router::send(uint16_t port, const std::vector<uint8_t>& frame) {
  rte_mbuf* m = Pkt::to_mbuf(pool_, frame, port);
  if (!m) throw std::runtime_error("mbuf pool empty");
  worker().receive(&m, 1);
  worker().flush();
  return std::exchange(out_, {});
}

Frame Router::send_one(uint16_t port, const std::vector<uint8_t>& frame) {
  auto out = send(port, frame);
  if (out.size() != 1) {
    ADD_FAILURE() << model_->name << ": expected 1 frame out, got " << out.size() << "; drops: " << drops();
    return Frame{frame, 0xffff};
  }
  return out[0];
}

std::vector<Frame> Router::idle() {
  worker().poll_once();
  return std::exchange(out_, {});
}

std::string Router::drops() {
  std::string s;
  for (size_t i = 0; i < kDropReasonCount; ++i)
    if (uint64_t n = worker().counters().get(static_cast<DropReason>(i)))
      s += std::string(kDropReasonNames[i]) + "=" + std::to_string(n) + " ";
  return s.empty() ? "none" : s;
}

uint64_t Router::total_drops() {
  uint64_t n = 0;
  for (size_t i = 0; i < kDropReasonCount; ++i) n += worker().counters().get(static_cast<DropReason>(i));
  return n;
}

int Router::path(const char* name) {
  for (size_t i = 0; i < paths_->size(); ++i)
    if (paths_->path(i).name == name) return static_cast<int>(i);
  return -1;
}

void Router::set_usable(const char* name, bool up) {
  paths_->live(static_cast<size_t>(path(name))).usable.store(up);
  paths_->recompute();
}

uint16_t Router::capture(void* ctx, uint16_t port, uint16_t, rte_mbuf** pkts, uint16_t n) {
  auto* self = static_cast<Router*>(ctx);
  for (uint16_t i = 0; i < n; ++i) {
    Frame f = frame_of(pkts[i]);
    f.port = port;
    self->out_.push_back(std::move(f));
    rte_pktmbuf_free(pkts[i]);
  }
  return n;
}

// --- checks on WAN frames ------------------------------------------------------

HmacEngine& test_hmac() {
  static HmacEngine e;
  return e;
}

HmacKey key_of(const char* hex) { return test_hmac().make_key(unhex(hex)); }

bool hmac_ok(const Frame& f, const char* key_hex) {
  if (f.l4_len() < f.l4_header_len() + kHmacTagLen) return false;
  std::vector<uint8_t> l4(f.l4(), f.l4() + f.l4_len() - kHmacTagLen);
  l4[f.proto() == Pkt::kTcp ? 16 : 6] = 0;
  l4[f.proto() == Pkt::kTcp ? 17 : 7] = 0;
  uint8_t tag[kHmacTagLen];
  test_hmac().sign(key_of(key_hex), l4.data(), l4.size(), tag);
  return std::memcmp(tag, f.l4() + f.l4_len() - kHmacTagLen, kHmacTagLen) == 0;
}

namespace {
// The L4 checksum over the current bytes; `l4 + off` must be zero on entry.
void put_l4_checksum(uint8_t* ip4, uint8_t* l4, size_t n, uint8_t proto, size_t off) {
  uint16_t c = static_cast<uint16_t>(~ones_fold(pseudo_sum(ip4, proto, n) + ones_sum(l4, n)));
  put16(l4 + off, c == 0 && proto == Pkt::kUdp ? 0xffff : c);  // UDP: 0 means "no checksum"
}
}  // namespace

void resign(Frame& f, const char* key_hex) {
  uint8_t* ip4 = f.raw.data() + 14;
  uint8_t* l4 = ip4 + f.ihl();
  size_t n = f.l4_len();
  size_t off = f.proto() == Pkt::kTcp ? 16 : 6;
  put16(l4 + off, 0);
  test_hmac().sign(key_of(key_hex), l4, n - kHmacTagLen, l4 + n - kHmacTagLen);
  put16(ip4 + 10, 0);
  put16(ip4 + 10, static_cast<uint16_t>(~ones_fold(ones_sum(ip4, f.ihl()))));
  put_l4_checksum(ip4, l4, n, f.proto(), off);
}

void fix_checksums(std::vector<uint8_t>& raw) {
  Frame f{raw};
  uint8_t* ip4 = raw.data() + 14;
  uint8_t* l4 = ip4 + f.ihl();
  size_t off = f.proto() == Pkt::kTcp ? 16 : 6;
  put16(l4 + off, 0);
  put_l4_checksum(ip4, l4, f.l4_len(), f.proto(), off);
}

void expect_valid(const Frame& f) {
  EXPECT_TRUE(f.ip_checksum_ok()) << "IPv4 header checksum";
  EXPECT_TRUE(f.l4_checksum_ok()) << "L4 checksum";
  EXPECT_TRUE(f.lengths_ok()) << "IP/UDP lengths";
  EXPECT_EQ(f.raw.size(), 14 + f.ip_total()) << "no stray bytes after the datagram";
}

bool contains(const Frame& f, std::string_view needle) {
  std::string_view hay(reinterpret_cast<const char*>(f.raw.data()), f.raw.size());
  return hay.find(needle) != std::string_view::npos;
}

}  // namespace wp::test
