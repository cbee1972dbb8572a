// IPFIX exporter; see ipfix_exporter.h.
#include "mgmt/ipfix_exporter.h"

#include <arpa/inet.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "dataplane/ip/ipv4.h"
#include "mgmt/config_endpoint.h"

namespace wp::mgmt {

bool IpfixOptions::from_config(const config::Ipfix& cfg, IpfixOptions& out) {
  out = IpfixOptions{};
  for (const std::string& c : cfg.collectors()) {
    const std::optional<Endpoint> e = parse_endpoint(c);
    if (!e) continue;  // validated before; defensive
    out.collectors.push_back(e->sockaddr());
    out.collector_names.push_back(c);
  }
  if (cfg.active_timeout()) out.active_timeout_s = cfg.active_timeout();
  if (cfg.template_refresh()) out.template_refresh_s = cfg.template_refresh();
  if (cfg.template_refresh_packets()) out.template_refresh_packets = cfg.template_refresh_packets();
  if (cfg.observation_domain()) out.domain = cfg.observation_domain();
  if (cfg.queue()) out.queue = cfg.queue();
  return !out.collectors.empty();
}

IpfixExporter::~IpfixExporter() {
  if (fd_ >= 0) close(fd_);
}

bool IpfixExporter::open(const IpfixOptions& opts, std::string& error) {
  opts_ = opts;
  fd_ = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd_ < 0) return error = std::string("ipfix: socket: ") + std::strerror(errno), false;
  collectors_.clear();
  for (const sockaddr_in& a : opts.collectors) collectors_.push_back(Collector{a});
  queue_.assign(opts.queue ? opts.queue : 1, IpfixRecord{});
  head_ = count_ = 0;
  return true;
}

bool IpfixExporter::enqueue(const IpfixRecord& r) {
  if (count_ == queue_.size()) {
    stats_.records_dropped.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  uint32_t tail = head_ + count_;
  if (tail >= queue_.size()) tail -= static_cast<uint32_t>(queue_.size());
  queue_[tail] = r;
  ++count_;
  return true;
}

bool IpfixExporter::template_due(const Collector& c, uint64_t now_ms) const {
  return c.template_due || now_ms - c.template_ms >= uint64_t{opts_.template_refresh_s} * 1000 ||
         c.messages_since_template >= opts_.template_refresh_packets;
}

void IpfixExporter::send(Collector& c, size_t len, uint32_t records) {
  ssize_t n = sendto(fd_, buf_, len, MSG_DONTWAIT, reinterpret_cast<const sockaddr*>(&c.addr), sizeof(c.addr));
  if (n != static_cast<ssize_t>(len)) stats_.send_errors.fetch_add(1, std::memory_order_relaxed);
  stats_.messages_sent.fetch_add(1, std::memory_order_relaxed);
  stats_.records_exported.fetch_add(records, std::memory_order_relaxed);
  // The sequence advances even when the send failed: the collector sees the
  // gap and knows records were lost (RFC 7011 § 3.1).
  c.sequence += records;
  ++c.messages_since_template;
}

void IpfixExporter::flush(uint64_t now_ms) {
  const uint32_t export_s = static_cast<uint32_t>(now_ms / 1000);
  for (Collector& c : collectors_) {
    bool need_template = template_due(c, now_ms);
    if (count_ == 0 && !need_template) continue;
    uint32_t idx = head_;
    uint32_t left = count_;
    IpfixMessage msg;
    msg.begin(buf_, export_s, c.sequence, opts_.domain);
    if (need_template) {
      msg.add_template();
      if (opts_.ipv6) msg.add_template6();
      c.template_due = false;
      c.template_ms = now_ms;
      c.messages_since_template = 0;
      stats_.templates_sent.fetch_add(1, std::memory_order_relaxed);
    }
    while (left > 0) {
      if (!msg.add_record(queue_[idx])) {
        uint32_t recs = msg.records();
        send(c, msg.finish(), recs);
        msg.begin(buf_, export_s, c.sequence, opts_.domain);
        if (template_due(c, now_ms)) {
          msg.add_template();
          if (opts_.ipv6) msg.add_template6();
          c.template_ms = now_ms;
          c.messages_since_template = 0;
          stats_.templates_sent.fetch_add(1, std::memory_order_relaxed);
        }
        continue;
      }
      if (++idx == queue_.size()) idx = 0;
      --left;
    }
    uint32_t recs = msg.records();
    send(c, msg.finish(), recs);
  }
  head_ = count_ = 0;
}

}  // namespace wp::mgmt
