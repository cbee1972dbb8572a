// AppClassifier: nDPI 4.2 behind a per-worker, allocation-free API (see classifier.h).
#include "dataplane/apps/classifier.h"

// The module's cache fields are visible only to nDPI's own sources; this file fills them in at
// start (make_lazy_caches), for the installed release only (the assert below).
#define NDPI_LIB_COMPILATION
#include <ndpi/ndpi_api.h>
#undef NDPI_LIB_COMPILATION

#include <algorithm>
#include <cctype>
#include <cstring>

#include "dataplane/util/ascii.h"

static_assert(NDPI_API_VERSION == 8668, "classifier.cc reads nDPI 4.2's module layout; check make_lazy_caches");

namespace wp::app {
namespace {

// nDPI 4.2 makes these LRU caches on first use, inside a dissector; made here at start
// (entry counts as nDPI's dissectors would), so the fast path does not allocate 256 KiB.
void make_lazy_caches(ndpi_detection_module_struct* m) {
  m->ookla_cache = ndpi_lru_cache_init(1024);
  m->bittorrent_cache = ndpi_lru_cache_init(32768);
  m->zoom_cache = ndpi_lru_cache_init(512);
  m->stun_cache = ndpi_lru_cache_init(1024);
  m->tls_cert_cache = ndpi_lru_cache_init(1024);
  m->mining_cache = ndpi_lru_cache_init(1024);
  m->msteams_cache = ndpi_lru_cache_init(1024);
}

constexpr size_t kFlowAlign = 16;
constexpr size_t kMaxAppName = 64;  // TLV 35's bound (svr/metadata.h)

}  // namespace

ndpi_detection_module_struct* start_ndpi_module(std::string& error) {
  AppArena::install_ndpi_hooks();
  ndpi_detection_module_struct* m = ndpi_init_detection_module(ndpi_dont_load_tor_hosts);
  if (m == nullptr) {
    error = "nDPI: ndpi_init_detection_module failed";
    return nullptr;
  }
  NDPI_PROTOCOL_BITMASK all;
  NDPI_BITMASK_SET_ALL(all);
  ndpi_set_protocol_detection_bitmask2(m, &all);
  // The worker knows which side opened the session: nDPI takes the direction from the flow.
  ndpi_set_detection_preferences(m, ndpi_pref_direction_detect_disable, 1);
  ndpi_finalize_initialization(m);
  make_lazy_caches(m);
  return m;
}

void stop_ndpi_module(ndpi_detection_module_struct* module) {
  if (module != nullptr) ndpi_exit_detection_module(module);
}

std::unique_ptr<AppClassifier> AppClassifier::create(const AppClassifierConfig& config, std::string& error) {
  if (config.max_flows == 0 || config.max_packets == 0) {
    error = "application classifier: max_flows and max_packets must be at least 1";
    return nullptr;
  }
  ndpi_detection_module_struct* m = start_ndpi_module(error);
  if (m == nullptr) return nullptr;
  return std::unique_ptr<AppClassifier>(new AppClassifier(config, m));
}

AppClassifier::AppClassifier(const AppClassifierConfig& config, ndpi_detection_module_struct* module)
    : config_(config),
      module_(module),
      arena_(config.max_flows),
      flow_bytes_((ndpi_detection_get_sizeof_ndpi_flow_struct() + kFlowAlign - 1) / kFlowAlign * kFlowAlign),
      flows_(new std::byte[flow_bytes_ * config.max_flows]()),
      packets_(config.max_flows, 0) {
  free_.reserve(config.max_flows);
  for (Slot s = config.max_flows; s-- > 0;) free_.push_back(s);
  const ndpi_proto_defaults_t* defaults = ndpi_get_proto_defaults(module_);
  const u_int n = ndpi_get_num_supported_protocols(module_);
  categories_.assign(n, 0);
  for (u_int id = 1; id < n; ++id) {
    if (defaults[id].protoName == nullptr) continue;
    std::string name = defaults[id].protoName;
    std::transform(name.begin(), name.end(), name.begin(), util::ascii_lower);
    names_.emplace_back(std::move(name), static_cast<AppId>(id));
    categories_[id] = static_cast<CategoryId>(defaults[id].protoCategory);
  }
  std::sort(names_.begin(), names_.end());
}

AppId AppClassifier::find_app(std::string_view name) const {
  char buf[kMaxAppName];
  if (name.empty() || name.size() > sizeof buf) return kAppUnknown;
  for (size_t i = 0; i < name.size(); ++i) buf[i] = util::ascii_lower(name[i]);
  const std::string_view key(buf, name.size());
  auto it = std::lower_bound(names_.begin(), names_.end(), key,
                             [](const auto& e, std::string_view k) { return std::string_view(e.first) < k; });
  return it != names_.end() && it->first == key ? it->second : kAppUnknown;
}

AppClassifier::~AppClassifier() {
  AppArena::Use use(arena_);
  for (Slot s = 0; s < config_.max_flows; ++s) ndpi_free_flow_data(flow(s));
  stop_ndpi_module(module_);
}

ndpi_flow_struct* AppClassifier::flow(Slot slot) {
  return reinterpret_cast<ndpi_flow_struct*>(flows_.get() + size_t{slot} * flow_bytes_);
}

AppClassifier::Slot AppClassifier::acquire() {
  if (free_.empty()) [[unlikely]] {
    ++stats_.slots_exhausted;
    return kNoSlot;
  }
  Slot s = free_.back();
  free_.pop_back();
  return s;
}

void AppClassifier::reset(Slot slot) {
  AppArena::Use use(arena_);
  ndpi_free_flow_data(flow(slot));
  std::memset(static_cast<void*>(flow(slot)), 0, flow_bytes_);
  packets_[slot] = 0;
  free_.push_back(slot);
}

AppVerdict AppClassifier::finish(Slot slot, bool detected, uint16_t master, uint16_t app, uint16_t category) {
  AppVerdict v;
  v.state = detected ? AppVerdict::State::kClassified : AppVerdict::State::kUnknown;
  // nDPI reports "HTTP" as app=HTTP, master=unknown, and "TLS.YouTube" as master=TLS, app=YouTube.
  v.app = app != NDPI_PROTOCOL_UNKNOWN ? app : master;
  v.master = app != NDPI_PROTOCOL_UNKNOWN ? master : kAppUnknown;
  v.category = category;
  ++(detected ? stats_.classified : stats_.unknown);
  reset(slot);
  return v;
}

AppVerdict AppClassifier::feed(Slot slot, std::span<const uint8_t> l3, AppDirection dir, uint64_t now_ms) {
  if (slot >= config_.max_flows) [[unlikely]]
    return AppVerdict{AppVerdict::State::kUnknown, kAppUnknown, kAppUnknown, 0};
  AppArena::Use use(arena_);
  ndpi_flow_struct* f = flow(slot);
  f->packet_direction = static_cast<uint8_t>(dir);
  const auto len = static_cast<unsigned short>(std::min<size_t>(l3.size(), UINT16_MAX));
  ndpi_protocol p = ndpi_detection_process_packet(module_, f, l3.data(), len, now_ms);
  ++stats_.packets;
  if (p.app_protocol != NDPI_PROTOCOL_UNKNOWN || p.master_protocol != NDPI_PROTOCOL_UNKNOWN)
    return finish(slot, true, p.master_protocol, p.app_protocol, p.category);
  if (++packets_[slot] < config_.max_packets) return AppVerdict{};
  uint8_t guessed = 0;
  p = ndpi_detection_giveup(module_, f, /*enable_guess=*/0, &guessed);
  const bool detected = p.app_protocol != NDPI_PROTOCOL_UNKNOWN || p.master_protocol != NDPI_PROTOCOL_UNKNOWN;
  return finish(slot, detected, p.master_protocol, p.app_protocol, p.category);
}

void AppClassifier::abandon(Slot slot) {
  if (slot >= config_.max_flows) return;
  ++stats_.abandoned;
  reset(slot);
}

const char* AppClassifier::app_name(AppId id) const { return ndpi_get_proto_name(module_, id); }

const char* AppClassifier::category_name(CategoryId id) const {
  if (id >= NDPI_PROTOCOL_NUM_CATEGORIES) return "Unspecified";
  return ndpi_category_get_name(module_, static_cast<ndpi_protocol_category_t>(id));
}

}  // namespace wp::app
