// The MLDv2 listener's state (RFC 3810 § 6; docs/ipv6.md § Multicast
// Listener Discovery), per interface: the groups we listen to, the state
// change reports still to send, and the responses to queries pending.
//
// A group joined or left is reported at once as CHANGE_TO_EXCLUDE {} or
// CHANGE_TO_INCLUDE {} and once more kUnsolicitedIntervalMs later
// (Robustness Variable 2, Unsolicited Report Interval 1 s, § 9.1 and § 9.11);
// a change undone before its retransmission replaces it (§ 6.1). A General
// Query is answered with MODE_IS_EXCLUDE {} for every group, a
// Group-Specific Query for one we listen to with that group's, each after a
// random delay in [0, Maximum Response Delay] (§ 6.2); a response already
// pending that comes sooner covers a new query. MLDv1 queries are answered
// the same way (with MLDv2 reports: no MLDv1 compatibility mode, § 8).
// Plain data, no DPDK: unit-tested on its own; control_mld.cc sends.
#pragma once

#include <algorithm>
#include <cstdint>
#include <span>
#include <vector>

#include "dataplane/ip/mld.h"

namespace wp {

class MldListener {
 public:
  static constexpr int kRobustness = 2;
  static constexpr uint32_t kUnsolicitedIntervalMs = 1000;

  // The groups to listen to on `iface` now (any order, repeats allowed):
  // the differences from before become state change reports, due at once.
  void set(int iface, std::vector<Ipv6> groups, uint32_t now_ms) {
    std::sort(groups.begin(), groups.end());
    groups.erase(std::unique(groups.begin(), groups.end()), groups.end());
    Iface& s = at(iface);
    for (const Ipv6& g : groups)
      if (!std::binary_search(s.groups.begin(), s.groups.end(), g))
        change(s, g, MldRecordType::change_to_exclude, now_ms);
    for (const Ipv6& g : s.groups)
      if (!std::binary_search(groups.begin(), groups.end(), g))
        change(s, g, MldRecordType::change_to_include, now_ms);
    s.groups = std::move(groups);
    std::erase_if(s.group_responses, [&](const Due& d) { return !listening(s, d.group); });
  }

  // A valid query on `iface`: `group` :: (general) or one group. False when
  // it asks about nothing we listen to (no response follows).
  bool query(int iface, const Ipv6& group, uint32_t max_delay_ms, uint32_t now_ms) {
    Iface& s = at(iface);
    const uint32_t delay = max_delay_ms ? static_cast<uint32_t>(next_random() % (uint64_t{max_delay_ms} + 1)) : 0;
    const uint32_t due = now_ms + delay;
    if (group.is_unspecified()) {
      if (s.groups.empty()) return false;
      if (!s.general_pending || before(due, s.general_due)) s.general_due = due;
      s.general_pending = true;
      return true;
    }
    if (!listening(s, group)) return false;
    if (s.general_pending && !before(due, s.general_due)) return true;  // the general response covers it
    for (Due& d : s.group_responses)
      if (d.group == group) {
        if (before(due, d.at)) d.at = due;
        return true;
      }
    s.group_responses.push_back({group, due});
    return true;
  }

  // What is due at `now_ms`: `send(iface, records)` once per interface with
  // records to send (at most kMld2MaxRecords at a time). Returns the calls made.
  template <class Send>
  uint32_t tick(uint32_t now_ms, Send&& send) {
    uint32_t reports = 0;
    for (size_t i = 0; i < ifaces_.size(); ++i) {
      Iface& s = ifaces_[i];
      batch_.clear();
      for (Change& c : s.changes)
        if (!before(now_ms, c.due)) {
          batch_.push_back({c.type, c.group});
          c.due = now_ms + kUnsolicitedIntervalMs;
          --c.left;
        }
      std::erase_if(s.changes, [](const Change& c) { return c.left <= 0; });
      if (s.general_pending && !before(now_ms, s.general_due)) {
        s.general_pending = false;
        s.group_responses.clear();
        for (const Ipv6& g : s.groups) batch_.push_back({MldRecordType::mode_is_exclude, g});
      }
      std::erase_if(s.group_responses, [&](const Due& d) {
        if (before(now_ms, d.at)) return false;
        batch_.push_back({MldRecordType::mode_is_exclude, d.group});
        return true;
      });
      reports += flush(static_cast<int>(i), send);
    }
    return reports;
  }

  // Leaving every group on every interface (shutdown): `send` as tick's,
  // once (no one will be left to repeat it). The state is cleared.
  template <class Send>
  void leave_all(Send&& send) {
    for (size_t i = 0; i < ifaces_.size(); ++i) {
      batch_.clear();
      for (const Ipv6& g : ifaces_[i].groups) batch_.push_back({MldRecordType::change_to_include, g});
      flush(static_cast<int>(i), send);
    }
    ifaces_.clear();
  }

  std::span<const Ipv6> groups(int iface) const {
    if (static_cast<size_t>(iface) >= ifaces_.size()) return {};
    return ifaces_[static_cast<size_t>(iface)].groups;
  }
  size_t interfaces() const { return ifaces_.size(); }
  void seed(uint64_t s) { rng_ = s | 1; }

 private:
  struct Change {
    Ipv6 group;
    MldRecordType type;
    uint32_t due;
    int left;
  };
  struct Due {
    Ipv6 group;
    uint32_t at;
  };
  struct Iface {
    std::vector<Ipv6> groups;  // sorted
    std::vector<Change> changes;
    std::vector<Due> group_responses;
    bool general_pending = false;
    uint32_t general_due = 0;
  };
  // Times compare by unsigned distance (the ms clock wraps).
  static bool before(uint32_t a, uint32_t b) { return static_cast<int32_t>(a - b) < 0; }
  static bool listening(const Iface& s, const Ipv6& g) {
    return std::binary_search(s.groups.begin(), s.groups.end(), g);
  }
  static void change(Iface& s, const Ipv6& g, MldRecordType type, uint32_t now_ms) {
    std::erase_if(s.changes, [&](const Change& c) { return c.group == g; });
    s.changes.push_back({g, type, now_ms, kRobustness});
  }
  // batch_ in Reports of at most kMld2MaxRecords records; returns how many.
  template <class Send>
  uint32_t flush(int iface, Send& send) {
    uint32_t n = 0;
    for (size_t at = 0; at < batch_.size(); at += kMld2MaxRecords, ++n)
      send(iface, std::span<const MldRecord>(batch_).subspan(at, std::min(kMld2MaxRecords, batch_.size() - at)));
    return n;
  }
  Iface& at(int iface) {
    if (static_cast<size_t>(iface) >= ifaces_.size()) ifaces_.resize(static_cast<size_t>(iface) + 1);
    return ifaces_[static_cast<size_t>(iface)];
  }
  uint64_t next_random() {  // xorshift64*
    rng_ ^= rng_ >> 12;
    rng_ ^= rng_ << 25;
    rng_ ^= rng_ >> 27;
    return rng_ * 0x2545f4914f6cdd1dULL;
  }
  std::vector<Iface> ifaces_;
  std::vector<MldRecord> batch_;
  uint64_t rng_ = 0x9e3779b97f4a7c15ULL;
};

}  // namespace wp
