// AppClassifier: which application a session carries, from its first packets, on one worker.
//
// A thin wrapper around nDPI 4.2 (the only code besides arena.cc and catalog.cc that includes
// nDPI's headers). Each worker owns one classifier: its own nDPI detection module, a pool of
// nDPI flow states made at start (one slot per session under classification) and an AppArena
// for what nDPI allocates while it dissects, so `feed` takes no lock and never reaches the heap.
// Classification is bounded: a session is fed at most `max_packets` packets; it ends as soon as
// nDPI detects a protocol, or at the bound, where nDPI's give-up (without port guessing) says
// what it can. A final verdict frees the slot; a session that ends first calls `abandon`.
// Sessions already classified never call in here: the worker tests its own "done" flag first.
// Ids are nDPI's protocol and category ids (stable within one nDPI release; the wire carries
// the name, TLV 35, so routers need not share a release).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "dataplane/apps/arena.h"

struct ndpi_detection_module_struct;
struct ndpi_flow_struct;

namespace wp::app {

using AppId = uint16_t;
using CategoryId = uint16_t;
inline constexpr AppId kAppUnknown = 0;  // nDPI's NDPI_PROTOCOL_UNKNOWN

enum class AppDirection : uint8_t { kClientToServer = 0, kServerToClient = 1 };

struct AppVerdict {
  enum class State : uint8_t { kClassifying, kClassified, kUnknown };
  State state = State::kClassifying;
  AppId app = kAppUnknown;     // the most specific protocol (YouTube in TLS.YouTube)
  AppId master = kAppUnknown;  // the carrier when there is one (TLS), else kAppUnknown
  CategoryId category = 0;
  bool final() const { return state != State::kClassifying; }
};

struct AppClassifierConfig {
  uint32_t max_flows = 1024;   // sessions under classification at once on this worker
  uint16_t max_packets = 16;   // packets fed per session before giving up
};

class AppClassifier {
 public:
  using Slot = uint32_t;
  static constexpr Slot kNoSlot = UINT32_MAX;

  struct Stats {
    uint64_t packets = 0;        // packets fed to nDPI
    uint64_t classified = 0;     // sessions nDPI recognised
    uint64_t unknown = 0;        // sessions it gave up on at the bound
    uint64_t abandoned = 0;      // sessions that ended while classifying
    uint64_t slots_exhausted = 0;  // sessions not classified: no free slot
  };

  // Control path (start, any thread): nullptr and `error` set when nDPI cannot start.
  static std::unique_ptr<AppClassifier> create(const AppClassifierConfig& config, std::string& error);
  ~AppClassifier();
  AppClassifier(const AppClassifier&) = delete;
  AppClassifier& operator=(const AppClassifier&) = delete;

  // Worker: a fresh flow state for a new session, or kNoSlot (counted) when all are in use.
  Slot acquire();
  // Worker: one packet of the session, `l3` from its IPv4 header on. A final verdict frees `slot`.
  AppVerdict feed(Slot slot, std::span<const uint8_t> l3, AppDirection dir, uint64_t now_ms);
  // Worker: the session ended before a final verdict.
  void abandon(Slot slot);

  const char* app_name(AppId id) const;            // "Unknown" for ids nDPI does not know
  // Worker: the id of an application named by nDPI's name, any case (TLV 35 from another
  // router); kAppUnknown when this release does not know it. No allocation (a binary search).
  AppId find_app(std::string_view name) const;
  // The category nDPI's table gives an application (the same on every hop for one name).
  CategoryId category_of(AppId id) const { return id < categories_.size() ? categories_[id] : 0; }
  const char* category_name(CategoryId id) const;  // "Unspecified" likewise
  const Stats& stats() const { return stats_; }
  const AppArena::Stats& arena_stats() const { return arena_.stats(); }
  uint32_t free_slots() const { return static_cast<uint32_t>(free_.size()); }
  const AppClassifierConfig& config() const { return config_; }

 private:
  AppClassifier(const AppClassifierConfig& config, ndpi_detection_module_struct* module);
  ndpi_flow_struct* flow(Slot slot);
  AppVerdict finish(Slot slot, bool detected, uint16_t master, uint16_t app, uint16_t category);
  void reset(Slot slot);

  AppClassifierConfig config_;
  ndpi_detection_module_struct* module_;
  AppArena arena_;
  size_t flow_bytes_;
  std::unique_ptr<std::byte[]> flows_;
  std::vector<uint16_t> packets_;  // per slot: packets fed so far
  std::vector<Slot> free_;         // reserved to max_flows at start: push/pop never allocate
  std::vector<std::pair<std::string, AppId>> names_;  // lower-case name -> id, sorted (find_app)
  std::vector<CategoryId> categories_;                // by AppId
  Stats stats_;
};

// Starts an nDPI detection module with every protocol enabled and the caches nDPI 4.2 would
// otherwise make lazily (on a worker, mid-packet) already made. Shared by the catalog.
ndpi_detection_module_struct* start_ndpi_module(std::string& error);
void stop_ndpi_module(ndpi_detection_module_struct* module);

}  // namespace wp::app
