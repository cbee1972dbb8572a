// IPFIX exporter: session records -> UDP to every configured collector
// (RFC 7011 over UDP, § 10.3).
//
// Runs on the mgmt event thread (session_feed.h), never on a worker: workers
// only post session events into bounded rings, so a slow or absent collector
// can at worst fill this exporter's own bounded queue (records dropped and
// counted), never stall forwarding. Sends are non-blocking; a collector that
// is down costs a failed sendto per message.
// Per collector (each is its own UDP "transport session"): the sequence
// number counts data records sent before the message (§ 3.1); the template is
// sent first, then again every `template_refresh` seconds and every
// `template_refresh_packets` messages (§ 10.3.6), so a collector that
// restarts decodes again within that bound.
#pragma once

#include <netinet/in.h>

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "mgmt/config_load.h"
#include "mgmt/ipfix_encoder.h"

namespace wp::mgmt {

struct IpfixOptions {
  std::vector<sockaddr_in> collectors;
  std::vector<std::string> collector_names;
  uint32_t active_timeout_s = 60;
  uint32_t template_refresh_s = 60;
  uint32_t template_refresh_packets = 1000;
  uint32_t domain = 1;
  uint32_t queue = 65536;
  // The router routes IPv6 or has an IPv6 waypoint: templates 257, 258 and 259 go with 256.
  bool ipv6 = false;

  // From a validated config (defaults filled in); false when no collector.
  static bool from_config(const config::Ipfix& cfg, IpfixOptions& out);
};

struct IpfixStats {
  std::atomic<uint64_t> records_exported{0};  // records handed to sendto, summed over collectors
  std::atomic<uint64_t> records_dropped{0};   // queue full
  std::atomic<uint64_t> messages_sent{0};
  std::atomic<uint64_t> templates_sent{0};
  std::atomic<uint64_t> send_errors{0};  // sendto failed (collector down, buffer full)
};

class IpfixExporter {
 public:
  IpfixExporter() = default;
  ~IpfixExporter();
  IpfixExporter(const IpfixExporter&) = delete;
  IpfixExporter& operator=(const IpfixExporter&) = delete;

  bool open(const IpfixOptions& opts, std::string& error);
  const IpfixOptions& options() const { return opts_; }
  // Queues a record for the next flush; false (counted) when the queue is full.
  bool enqueue(const IpfixRecord& r);
  uint32_t queued() const { return count_; }
  // Sends everything queued (and templates when due). `now_ms`: epoch ms.
  void flush(uint64_t now_ms);
  const IpfixStats& stats() const { return stats_; }

 private:
  struct Collector {
    sockaddr_in addr{};
    uint32_t sequence = 0;
    uint32_t messages_since_template = 0;
    uint64_t template_ms = 0;
    bool template_due = true;
  };
  void send(Collector& c, size_t len, uint32_t records);
  bool template_due(const Collector& c, uint64_t now_ms) const;

  IpfixOptions opts_;
  int fd_ = -1;
  std::vector<Collector> collectors_;
  std::vector<IpfixRecord> queue_;  // ring, preallocated
  uint32_t head_ = 0, count_ = 0;
  uint8_t buf_[kIpfixMaxMessage];
  IpfixStats stats_;
};

}  // namespace wp::mgmt
