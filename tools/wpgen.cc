// wpgen: stateful traffic generator for Waypoint's perf lab.
//
//   wpgen [options] -- EAL args with two ports (client side, server side)
//
// Plays both ends of many UDP sessions through routers under test: the
// client port faces the ingress router's LAN, the server port the egress
// router's LAN (see tools/wpgen/generator.h for what it sends and checks).
// Prints a table and one JSON line ({"scenario":"wpgen",...}). Exit 0 when
// the run completed, 1 for bad options, 2 for a start failure (EAL, ports,
// gateways not answering ARP), 3 when replies came back with wrong addresses.
#include <rte_eal.h>

#include <CLI/CLI.hpp>
#include <csignal>
#include <cstdio>
#include <string>
#include <vector>

#include "dataplane/control/eal.h"
#include "tools/wpgen/generator.h"

namespace {

volatile std::sig_atomic_t g_stop = 0;
void on_signal(int) { g_stop = 1; }

bool parse_addr(const std::string& text, wp::Ipv4& out, const char* what) {
  auto a = wp::parse_ipv4(text);
  if (!a) {
    std::fprintf(stderr, "wpgen: %s: not an IPv4 address: %s\n", what, text.c_str());
    return false;
  }
  out = *a;
  return true;
}

void print_report(const wp::gen::GenOptions& o, const wp::gen::GenReport& r, const std::string& label) {
  auto us = [](uint64_t ns) { return static_cast<double>(ns) / 1000.0; };
  const auto& sl = r.setup_latency;
  const auto& fl = r.steady_latency;
  std::printf("wpgen %s: %u sessions (%u clients x %u services), size %s, window %u\n", label.c_str(), o.sessions,
              o.plan.clients, o.plan.services, o.mix.name().c_str(), o.window);
  std::printf("  %-28s %14s\n", "measure", "value");
  std::printf("  %-28s %14lu\n", "sessions opened", r.opened);
  std::printf("  %-28s %14lu\n", "sessions established", r.established);
  std::printf("  %-28s %14lu\n", "of which warm-up (untimed)", r.warmup_sessions);
  std::printf("  %-28s %14.0f\n", "setup rate (sessions/s)", r.setup_per_s());
  std::printf("  %-28s %14lu\n", "requests sent", r.requests);
  std::printf("  %-28s %14lu\n", "requests at server", r.server_rx);
  std::printf("  %-28s %14lu\n", "replies received", r.replies);
  std::printf("  %-28s %14lu\n", "lost", r.lost());
  std::printf("  %-28s %14lu / %lu\n", "wrong addresses srv/cli", r.server_mismatch, r.reply_mismatch);
  std::printf("  %-28s %14.3f\n", "steady Mpps (srv+cli rx)", r.steady_pps() / 1e6);
  std::printf("  %-28s %8.1f %8.1f %8.1f\n", "setup RTT us p50/p99/max", us(sl.percentile(0.5)),
              us(sl.percentile(0.99)), us(sl.max()));
  std::printf("  %-28s %8.1f %8.1f %8.1f\n", "steady RTT us p50/p99/max", us(fl.percentile(0.5)),
              us(fl.percentile(0.99)), us(fl.max()));
  std::printf(
      "{\"scenario\":\"wpgen\",\"label\":\"%s\",\"sessions\":%u,\"clients\":%u,\"services\":%u,\"size\":\"%s\","
      "\"avg_frame_bytes\":%.1f,\"setup_rate_target\":%.0f,\"window\":%u,\"opened\":%lu,\"established\":%lu,"
      "\"warmup_sessions\":%lu,\"warmup_established\":%lu,\"setup_s\":%.6f,\"setup_per_s\":%.0f,\"requests\":%lu,"
      "\"server_rx\":%lu,\"replies\":%lu,\"lost\":%lu,"
      "\"server_mismatch\":%lu,\"reply_mismatch\":%lu,\"steady_s\":%.3f,\"steady_requests\":%lu,"
      "\"steady_delivered\":%lu,\"mpps\":%.4f,"
      "\"setup_rtt_us\":{\"p50\":%.1f,\"p90\":%.1f,\"p99\":%.1f,\"p999\":%.1f,\"max\":%.1f},"
      "\"steady_rtt_us\":{\"p50\":%.1f,\"p90\":%.1f,\"p99\":%.1f,\"p999\":%.1f,\"max\":%.1f},"
      "\"client_port\":{\"rx\":%lu,\"tx\":%lu,\"tx_dropped\":%lu,\"arp_answered\":%lu,\"unexpected\":%lu},"
      "\"server_port\":{\"rx\":%lu,\"tx\":%lu,\"tx_dropped\":%lu,\"arp_answered\":%lu,\"unexpected\":%lu},"
      "\"stopped\":%s}\n",
      label.c_str(), o.sessions, o.plan.clients, o.plan.services, o.mix.name().c_str(), o.mix.average(), o.setup_rate,
      o.window, r.opened, r.established, r.warmup_sessions, r.warmup_established, r.setup_s, r.setup_per_s(),
      r.requests, r.server_rx, r.replies, r.lost(), r.server_mismatch, r.reply_mismatch, r.steady_s, r.steady_requests,
      r.steady_delivered, r.steady_pps() / 1e6, us(sl.percentile(0.5)), us(sl.percentile(0.9)), us(sl.percentile(0.99)),
      us(sl.percentile(0.999)), us(sl.max()), us(fl.percentile(0.5)), us(fl.percentile(0.9)), us(fl.percentile(0.99)),
      us(fl.percentile(0.999)), us(fl.max()), r.client.rx, r.client.tx, r.client.tx_dropped, r.client.arp_answered,
      r.client.unexpected, r.server.rx, r.server.tx, r.server.tx_dropped, r.server.arp_answered, r.server.unexpected,
      r.stopped ? "true" : "false");
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  const int split = wp::eal_split(argc, argv);
  CLI::App app{"wpgen: stateful UDP session generator for Waypoint (client and server ends)"};
  wp::gen::GenOptions o;
  std::string client_net = "10.1.0.16", service_net = "10.2.0.16", client_gw = "10.1.0.1", server_gw = "10.2.0.1";
  std::string size = "64", label = "run";
  app.add_option("--sessions", o.sessions, "sessions to open (unique 5-tuples)")->capture_default_str();
  app.add_option("--clients", o.plan.clients, "client addresses")->capture_default_str();
  app.add_option("--services", o.plan.services, "service addresses")->capture_default_str();
  app.add_option("--client-base", client_net, "first client address")->capture_default_str();
  app.add_option("--service-base", service_net, "first service address")->capture_default_str();
  app.add_option("--service-port", o.plan.service_port, "UDP port of every service")->capture_default_str();
  app.add_option("--client-gw", client_gw, "ingress router's LAN address (ARP)")->capture_default_str();
  app.add_option("--server-gw", server_gw, "egress router's LAN address (ARP)")->capture_default_str();
  app.add_option("--rate", o.setup_rate, "new sessions per second (0: as fast as the window allows)")
      ->capture_default_str();
  app.add_option("--duration", o.duration_s, "steady phase seconds over the opened sessions")->capture_default_str();
  app.add_option("--pps", o.pps, "steady-phase requests per second (0: window-limited)")->capture_default_str();
  app.add_option("--size", size, "frame size with FCS: 64..1518 or imix")->capture_default_str();
  app.add_option("--first-size", o.first_frame, "frame size with FCS of each session's first packet")
      ->check(CLI::Range(64, 1518))
      ->capture_default_str();
  app.add_option("--warmup", o.warmup, "untimed sessions first, 8 in flight (-1: clients x services)")
      ->capture_default_str();
  app.add_flag("--no-arp", o.no_arp, "plain forwarder between the ports: no gateway ARP, broadcast MAC");
  app.add_flag("--server-snat", o.server_snat, "a source-NAT in between: do not check the server end's source");
  app.add_option("--window", o.window, "requests in flight at most")->capture_default_str();
  app.add_option("--queues", o.queues, "queues per port (the peer's count for memif)")->capture_default_str();
  app.add_option("--tx-queues", o.tx_queues, "tx queues the sessions are spread over")->capture_default_str();
  app.add_option("--client-port", o.client_port, "ethdev port id facing the ingress router")->capture_default_str();
  app.add_option("--server-port", o.server_port, "ethdev port id facing the egress router")->capture_default_str();
  app.add_option("--drain-ms", o.drain_ms, "wait for late replies")->capture_default_str();
  app.add_option("--timeout", o.setup_timeout_s, "seconds to wait for the gateways' ARP")->capture_default_str();
  app.add_option("--mbufs", o.mbufs, "mbuf pool size")->capture_default_str();
  app.add_option("--label", label, "label copied into the JSON line")->capture_default_str();
  try {
    app.parse(split, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  auto mix = wp::gen::SizeMix::parse(size);
  if (!mix) {
    std::fprintf(stderr, "wpgen: --size: want 64..1518 or imix, got %s\n", size.c_str());
    return 1;
  }
  o.mix = *mix;
  if (!parse_addr(client_net, o.plan.client_base, "--client-base") ||
      !parse_addr(service_net, o.plan.service_base, "--service-base") ||
      !parse_addr(client_gw, o.client_gw, "--client-gw") || !parse_addr(server_gw, o.server_gw, "--server-gw"))
    return 1;
  o.client_self = o.plan.client_base;
  o.server_self = o.plan.service_base;
  if (std::string e = o.plan.check(o.sessions); !e.empty()) {
    std::fprintf(stderr, "wpgen: %s\n", e.c_str());
    return 1;
  }

  if (std::string error; !wp::eal_init(wp::eal_args_after(argc, argv, split), error)) {
    std::fprintf(stderr, "wpgen: %s\n", error.c_str());
    return 2;
  }
  std::signal(SIGTERM, on_signal);
  std::signal(SIGINT, on_signal);
  int rc = 0;
  {
    wp::gen::Generator gen;
    std::string error;
    if (!gen.start(o, error)) {
      std::fprintf(stderr, "wpgen: %s\n", error.c_str());
      rc = 2;
    } else {
      wp::gen::GenReport r = gen.run(&g_stop);
      print_report(o, r, label);
      if (r.server_mismatch || r.reply_mismatch) rc = 3;
    }
  }
  rte_eal_cleanup();
  return rc;
}
