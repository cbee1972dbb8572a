// The compact REST session snapshot; see session_snapshot.h.
#include "mgmt/session_snapshot.h"

#include <algorithm>
#include <cstring>

#include "mgmt/session_snapshot6.h"
#include "mgmt/model_names.h"

namespace wp::mgmt {
namespace {

int cmp(const SessionUuid& a, const SessionUuid& b) { return std::memcmp(a.data(), b.data(), a.size()); }

uint64_t top64(const SessionUuid& id) {
  uint64_t x = 0;
  for (int i = 0; i < 8; ++i) x = x << 8 | id[static_cast<size_t>(i)];
  return x;
}

// Slots past the last home, for runs that start near the end (no wrap-around: slot order is UUID order).
size_t tail_slots(uint32_t bits) { return std::max<size_t>(64, (size_t{1} << bits) >> 4); }

SessionEntry::Tuple pack(const FiveTuple& t) { return {t.src, t.dst, t.sport, t.dport}; }
FiveTuple unpack(const SessionEntry::Tuple& t, uint8_t proto) { return {t.src, t.dst, t.sport, t.dport, proto}; }


}  // namespace

std::optional<uint16_t> SnapshotNames::intern(std::string_view name) {
  if (name.empty()) return 0;
  if (auto it = ids_.find(name); it != ids_.end()) return it->second;
  if (names_.size() > limit_) return std::nullopt;
  const auto id = static_cast<uint16_t>(names_.size());
  names_.emplace_back(name);
  ids_.emplace(names_.back(), id);
  return id;
}

std::optional<uint16_t> SnapshotNames::find(std::string_view name) const {
  if (name.empty()) return 0;
  auto it = ids_.find(name);
  return it == ids_.end() ? std::nullopt : std::optional<uint16_t>(it->second);
}

std::vector<uint16_t> SnapshotNames::compact(const std::vector<bool>& used) {
  std::vector<uint16_t> remap(names_.size(), 0);
  std::vector<std::string> kept(1);
  ids_.clear();
  for (size_t id = 1; id < names_.size(); ++id) {
    if (id >= used.size() || !used[id]) continue;
    remap[id] = static_cast<uint16_t>(kept.size());
    ids_.emplace(names_[id], remap[id]);
    kept.push_back(std::move(names_[id]));
  }
  names_ = std::move(kept);
  return remap;
}

uint32_t EntryArray::push() {
  if ((size_ >> kChunkBits) == chunks_.size()) chunks_.push_back(std::make_unique<SessionEntry[]>(kChunk));
  (*this)[size_] = SessionEntry{};
  return size_++;
}

void EntryArray::pop() {
  --size_;
  // Keep one empty chunk beyond the last in use, so that create/close at a chunk boundary does not churn malloc.
  const size_t needed = (size_ + kChunk - 1) >> kChunkBits;
  while (chunks_.size() > needed + 1) chunks_.pop_back();
}

SessionSnapshot::SessionSnapshot(size_t capacity, size_t name_limit)
    : capacity_(capacity), names_(name_limit), v6_(std::make_unique<SessionSnapshot6>(capacity, name_limit)) {}
SessionSnapshot::~SessionSnapshot() = default;

size_t SessionSnapshot::home(const SessionUuid& id) const { return static_cast<size_t>(top64(id) >> (64 - bits_)); }

ptrdiff_t SessionSnapshot::slot_of(const SessionUuid& id) const {
  if (index_.empty()) return -1;
  for (size_t s = home(id); s < index_.size(); ++s) {
    const uint32_t idx = index_[s];
    if (idx == kEmpty) return -1;
    const int c = cmp(entries_[idx].uuid, id);
    if (c == 0) return static_cast<ptrdiff_t>(s);
    if (c > 0) return -1;  // runs are sorted: it would be here
  }
  return -1;
}

bool SessionSnapshot::index_insert(uint32_t idx) {
  const SessionUuid& id = entries_[idx].uuid;
  size_t p = home(id);
  while (p < index_.size() && index_[p] != kEmpty && cmp(entries_[index_[p]].uuid, id) < 0) ++p;
  size_t e = p;
  while (e < index_.size() && index_[e] != kEmpty) ++e;
  if (e == index_.size()) return false;
  std::memmove(&index_[p + 1], &index_[p], (e - p) * sizeof(uint32_t));
  index_[p] = idx;
  return true;
}

void SessionSnapshot::index_erase(size_t slot) {
  // Backward shift: pull the rest of the run one slot back while that does not put an entry before its home.
  size_t j = slot;
  while (j + 1 < index_.size() && index_[j + 1] != kEmpty && home(entries_[index_[j + 1]].uuid) <= j) {
    index_[j] = index_[j + 1];
    ++j;
  }
  index_[j] = kEmpty;
}

void SessionSnapshot::rebuild(uint32_t bits) {
  for (;; ++bits) {
    std::vector<uint32_t> next((size_t{1} << bits) + tail_slots(bits), kEmpty);
    const uint32_t old_bits = bits_;
    bits_ = bits;
    size_t pos = 0;
    bool fits = true;
    for (uint32_t idx : index_) {  // slot order is UUID order: each lands at or after the previous
      if (idx == kEmpty) continue;
      const size_t s = std::max(home(entries_[idx].uuid), pos);
      if (s >= next.size()) {
        fits = false;
        break;
      }
      next[s] = idx;
      pos = s + 1;
    }
    if (fits) {
      index_ = std::move(next);
      return;
    }
    bits_ = old_bits;
  }
}

void SessionSnapshot::add_to_index(uint32_t idx) {
  // Load at most 3/4 of the home slots.
  if (index_.empty() || entries_.size() > (size_t{3} << bits_) / 4) rebuild(std::max(kMinBits, bits_ + 1));
  while (!index_insert(idx)) rebuild(bits_ + 1);  // a run reached the end
}

uint16_t SessionSnapshot::name_id(std::string_view name) {
  if (auto id = names_.intern(name)) return *id;
  // Full: forget the names no session holds any more (renamed or removed tenants/services).
  std::vector<bool> used(names_.size(), false);
  for (uint32_t i = 0; i < entries_.size(); ++i) {
    const SessionEntry& e = entries_[i];
    used[e.tenant] = used[e.service] = used[e.security] = true;
  }
  const std::vector<uint16_t> remap = names_.compact(used);
  for (uint32_t i = 0; i < entries_.size(); ++i) {
    SessionEntry& e = entries_[i];
    e.tenant = remap[e.tenant], e.service = remap[e.service], e.security = remap[e.security];
  }
  return names_.intern(name).value_or(0);  // every name in use: shown empty
}

void SessionSnapshot::apply(const SessionEvent& ev, const RouterModel& model, const DataplaneClock& clock) {
  const Session& s = ev.session;
  std::lock_guard lock(mu_);
  const ptrdiff_t slot = slot_of(s.uuid);
  // Handed back to the HA peer: one this snapshot never listed was never counted here either.
  if (ev.reason == SessionEndReason::handed_over && slot < 0) return;
  count_app(s, slot < 0 ? nullptr : &entries_[index_[static_cast<size_t>(slot)]]);
  if (ev.kind == SessionEventKind::closed) {
    if (slot < 0) return;
    if (!waypoints6_.empty()) waypoints6_.erase(s.uuid);
    if (!onward6_.empty()) onward6_.erase(s.uuid);
    const uint32_t idx = index_[static_cast<size_t>(slot)];
    index_erase(static_cast<size_t>(slot));
    const uint32_t last = entries_.size() - 1;
    if (idx != last) {  // fill the hole with the last entry
      entries_[idx] = entries_[last];
      const ptrdiff_t moved = slot_of(entries_[idx].uuid);  // still names `last`
      index_[static_cast<size_t>(moved)] = idx;
    }
    entries_.pop();
    // Shrink below 1/8 load. A shrink that found no room (runs of clustered UUIDs past the end)
    // is tried again only once the count halved, not on every close.
    if (bits_ > kMinBits && entries_.size() < (size_t{1} << bits_) / 8 && entries_.size() < shrink_retry_below_) {
      const uint32_t was = bits_;
      rebuild(bits_ - 1);
      shrink_retry_below_ = bits_ < was ? SIZE_MAX : entries_.size() / 2;
    }
    return;
  }
  uint32_t idx;
  if (slot < 0) {
    if (entries_.size() >= capacity_) {
      overflow_.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    idx = entries_.push();
    SessionEntry& e = entries_[idx];
    e.uuid = s.uuid;
    e.tenant = name_id(name_at(model.tenants, s.tenant));
    e.service = name_id(model_name(model.services, s.service));
    e.security = name_id(model_name(model.security, s.security));
    add_to_index(idx);
    // Between IPv6 waypoints: the real waypoints, once (a session's leg does not move).
    if (const Svr6Leg leg = waypoint6_leg(s); leg.role != Svr6Role::none) {
      waypoints6_[s.uuid] = svr6_waypoints(model, leg);
      if (leg.role == Svr6Role::transit) onward6_[s.uuid] = svr6_waypoints(model, onward_leg(leg));
    }
  } else {
    idx = index_[static_cast<size_t>(slot)];
  }
  SessionEntry& e = entries_[idx];
  e.packets[0] = s.packets[0], e.packets[1] = s.packets[1];
  e.bytes[0] = s.bytes[0], e.bytes[1] = s.bytes[1];
  e.original = pack(s.original), e.proto_original = s.original.proto;
  e.left = pack(s.out_fwd.tuple), e.proto_left = s.out_fwd.tuple.proto;
  e.back = pack(s.out_rev.tuple), e.proto_back = s.out_rev.tuple.proto;
  e.next_hop = s.out_fwd.next_hop;
  e.left_iface = s.out_fwd.iface, e.back_iface = s.out_rev.iface;
  e.left_peer = s.out_fwd.peer, e.back_peer = s.out_rev.peer;
  const uint64_t created = clock.epoch_ms(s.created_ms), last = clock.epoch_ms(s.last_ms);
  e.created_lo = static_cast<uint32_t>(created), e.created_hi = static_cast<uint16_t>(created >> 32);
  e.last_lo = static_cast<uint32_t>(last), e.last_hi = static_cast<uint16_t>(last >> 32);
  e.worker = ev.worker;
  e.migrations = s.migrations;
  e.app = s.app;
  e.established = (s.flags & kEstablished) != 0;
}

void SessionSnapshot::count_app(const Session& s, const SessionEntry* before) {
  uint64_t packets = s.packets[0] + s.packets[1], bytes = s.bytes[0] + s.bytes[1];
  if (before && before->app != s.app) {  // classified since: its totals so far move with it
    AppTotals& from = app_totals_[before->app];
    const uint64_t p = before->packets[0] + before->packets[1], b = before->bytes[0] + before->bytes[1];
    from.sessions -= std::min<uint64_t>(from.sessions, 1);
    from.packets -= std::min(from.packets, p);
    from.bytes -= std::min(from.bytes, b);
    before = nullptr;
  }
  AppTotals& to = app_totals_[s.app];
  if (!before) {
    to.sessions += 1;
  } else {
    packets -= std::min(packets, before->packets[0] + before->packets[1]);
    bytes -= std::min(bytes, before->bytes[0] + before->bytes[1]);
  }
  to.packets += packets;
  to.bytes += bytes;
}

void SessionSnapshot::fill(SessionView& v, const SessionEntry& e) const {
  Session& s = v.session;
  s = Session{};
  s.uuid = e.uuid;
  s.original = unpack(e.original, e.proto_original);
  s.out_fwd.tuple = unpack(e.left, e.proto_left);
  s.out_fwd.next_hop = e.next_hop;
  s.out_fwd.iface = e.left_iface, s.out_fwd.peer = e.left_peer;
  s.out_rev.tuple = unpack(e.back, e.proto_back);
  s.out_rev.iface = e.back_iface, s.out_rev.peer = e.back_peer;
  s.packets[0] = e.packets[0], s.packets[1] = e.packets[1];
  s.bytes[0] = e.bytes[0], s.bytes[1] = e.bytes[1];
  s.migrations = e.migrations;
  s.app = e.app;
  s.flags = e.established ? kEstablished : 0;
  v.worker = e.worker;
  v.established = e.established != 0;
  v.created_epoch_ms = e.created_epoch_ms();
  v.last_epoch_ms = e.last_epoch_ms();
  v.tenant = names_.name(e.tenant);
  v.service = names_.name(e.service);
  v.security = names_.name(e.security);
  v.waypoints6.reset();
  v.onward6.reset();
  if (!waypoints6_.empty())
    if (auto it = waypoints6_.find(e.uuid); it != waypoints6_.end()) v.waypoints6 = it->second;
  if (!onward6_.empty())
    if (auto it = onward6_.find(e.uuid); it != onward6_.end()) v.onward6 = it->second;
}

std::map<uint16_t, AppTotals> SessionSnapshot::app_totals() const {
  std::lock_guard lock(mu_);
  return app_totals_;
}

std::vector<SessionView> SessionSnapshot::page(const SessionQuery& q, bool& more) const {
  std::vector<SessionView> out;
  more = false;
  // A stand-in (0.255.0.0/16) is no session's address: REST never shows one.
  if (q.addr && is_waypoint6_standin(*q.addr)) return out;
  std::lock_guard lock(mu_);
  if (index_.empty()) return out;
  // An IPv6 address is in no IPv4 session (SessionSnapshot6 has those) but as an IPv6 waypoint.
  if (q.addr6 && waypoints6_.empty()) return out;
  // Filters by name compare ids; a name no session was ever given matches nothing.
  std::optional<uint16_t> tenant, service;
  if (!q.tenant.empty() && !(tenant = names_.find(q.tenant))) return out;
  if (!q.service.empty() && !(service = names_.find(q.service))) return out;
  // Sessions after the cursor sit at or after its home slot; those before it
  // there are in the run that crosses that slot, so skip until the first after.
  size_t s = q.after ? home(*q.after) : 0;
  bool skipping = q.after.has_value();
  for (; s < index_.size(); ++s) {
    const uint32_t idx = index_[s];
    if (idx == kEmpty) continue;
    const SessionEntry& e = entries_[idx];
    if (skipping) {
      if (cmp(e.uuid, *q.after) <= 0) continue;
      skipping = false;
    }
    if (e.carries_ipv6()) continue;
    if (tenant && e.tenant != *tenant) continue;
    if (service && e.service != *service) continue;
    if (q.addr && !e.touches(*q.addr)) continue;
    if (q.addr6) {
      const auto w = waypoints6_.find(e.uuid);
      const auto on = onward6_.find(e.uuid);
      if ((w == waypoints6_.end() || !w->second.touches(*q.addr6)) &&
          (on == onward6_.end() || !on->second.touches(*q.addr6)))
        continue;
    }
    if (out.size() == q.limit) {
      more = true;
      break;
    }
    fill(out.emplace_back(), e);
  }
  return out;
}

std::optional<SessionView> SessionSnapshot::find(const SessionUuid& id) const {
  std::lock_guard lock(mu_);
  const ptrdiff_t slot = slot_of(id);
  if (slot < 0 || entries_[index_[static_cast<size_t>(slot)]].carries_ipv6()) return std::nullopt;
  SessionView v;
  fill(v, entries_[index_[static_cast<size_t>(slot)]]);
  return v;
}

size_t SessionSnapshot::size() const {
  std::lock_guard lock(mu_);
  return entries_.size();
}

size_t SessionSnapshot::index_slots() const {
  std::lock_guard lock(mu_);
  return index_.size();
}

size_t SessionSnapshot::memory_bytes() const {
  std::lock_guard lock(mu_);
  size_t names = 0;
  for (size_t id = 0; id < names_.size(); ++id) names += names_.name(static_cast<uint16_t>(id)).capacity() + 64;
  // A map node: the pair, three pointers and the colour (padded).
  const size_t legs =
      (waypoints6_.size() + onward6_.size()) * (sizeof(std::pair<const SessionUuid, Svr6Waypoints>) + 32);
  return entries_.chunk_bytes() + index_.capacity() * sizeof(uint32_t) + names + legs;
}

std::string SessionSnapshot::check() const {
  std::lock_guard lock(mu_);
  std::vector<bool> seen(entries_.size(), false);
  const SessionUuid* prev = nullptr;
  size_t count = 0;
  for (size_t s = 0; s < index_.size(); ++s) {
    const uint32_t idx = index_[s];
    if (idx == kEmpty) continue;
    if (idx >= entries_.size()) return "slot " + std::to_string(s) + " names entry " + std::to_string(idx) + " past the end";
    if (seen[idx]) return "entry " + std::to_string(idx) + " in two slots";
    seen[idx] = true;
    ++count;
    const SessionEntry& e = entries_[idx];
    if (prev && cmp(*prev, e.uuid) >= 0) return "slot " + std::to_string(s) + " out of UUID order";
    prev = &e.uuid;
    const size_t h = home(e.uuid);
    if (h > s) return "slot " + std::to_string(s) + " before its home " + std::to_string(h);
    for (size_t k = h; k < s; ++k)
      if (index_[k] == kEmpty) return "empty slot between home and slot " + std::to_string(s);
  }
  if (count != entries_.size()) return std::to_string(entries_.size() - count) + " entries not in the index";
  return "";
}

}  // namespace wp::mgmt
