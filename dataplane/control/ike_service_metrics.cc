// The IKE service's Prometheus metrics and per-Child-SA ESP counters; see
// ike_service.h (docs/ipsec.md § Per-SA status and counters, docs/operations.md
// § Observability).
//
// render() copies the control thread's counters (responder, service,
// initiator failures, rekeys) under the status mutex; metrics() formats that
// copy from the REST thread and reads the tunnels' ESP counters, relaxed
// atomics the workers write, at the call. Labels are bounded: a reason, a
// tunnel (config), a direction; never an SA, an SPI or an address.
#include <utility>

#include "dataplane/control/ike_service.h"
#include "mgmt/prom_text.h"

namespace wp {
namespace {

using ike::InitFailure;
using ike::Refusal;

// waypoint_ike_failures_total's reasons: the responder's refusals, our
// initiators' failures and the service's counters that say the same, summed.
struct FailureClass {
  const char* name;
  std::initializer_list<Refusal> refused;
  std::initializer_list<InitFailure> failed;
  std::initializer_list<IkeServiceCounter> counted = {};
};
const FailureClass kFailureClasses[] = {
    {"auth_failed",
     {Refusal::authentication_failed, Refusal::unknown_id, Refusal::bad_certificate, Refusal::certificate_revoked},
     {InitFailure::authentication_failed, InitFailure::peer_auth_failed, InitFailure::peer_id_mismatch,
      InitFailure::peer_bad_certificate, InitFailure::peer_certificate_revoked}},
    {"no_proposal",
     {Refusal::no_proposal_chosen, Refusal::child_no_proposal_chosen},
     {InitFailure::no_proposal_chosen, InitFailure::child_no_proposal_chosen, InitFailure::bad_proposal_answer}},
    {"ts_unacceptable", {Refusal::ts_unacceptable}, {InitFailure::ts_unacceptable}},
    {"integrity", {Refusal::integrity_failed}, {InitFailure::integrity_failed}},
    {"timeout", {Refusal::half_open_expired}, {InitFailure::timeout}},
    {"dead_peer", {}, {InitFailure::dead_peer}, {IkeServiceCounter::responder_dead_peers}},
    {"malformed", {Refusal::malformed, Refusal::inner_malformed}, {InitFailure::malformed}},
};

}  // namespace

std::pair<EspSaCounters, EspSaCounters> IkeService::child_counters(uint32_t spi_in) const {
  EspSaBook::Slots s;
  if (!sa_counters_ || !book_.slots(spi_in, s)) return {};
  return {read_esp_sa_counters(sa_counters_, counter_readers_, s.in, s.in_generation),
          read_esp_sa_counters(sa_counters_, counter_readers_, s.out, s.out_generation)};
}

void IkeService::copy_metrics(size_t ike_sas, size_t child_sas) {
  auto m = std::make_shared<MetricsCopy>();
  m->responder = responder_.counters();
  m->service = counters_;
  m->init_failures = init_failures_;
  m->rekey = rekey_counters();
  m->ike_sas = ike_sas;
  m->child_sas = child_sas;
  m->half_open = responder_.half_open();
  std::lock_guard lock(mu_);
  metrics_ = std::move(m);
}

std::string IkeService::metrics(const std::string& labels) const {
  std::shared_ptr<const MetricsCopy> m;
  {
    std::lock_guard lock(mu_);
    m = metrics_;
  }
  if (!m) return {};
  mgmt::PromText p(labels);
  const ike::ResponderCounters& r = m->responder;
  p.one("waypoint_ike_sas_active", "gauge", "IKE SAs established, ours (not the HA peer's copies).", m->ike_sas);
  p.one("waypoint_ike_child_sas_active", "gauge", "Child SAs installed in the workers' SA table.", m->child_sas);
  p.one("waypoint_ike_half_open", "gauge", "IKE SAs after IKE_SA_INIT, before IKE_AUTH (responder).", m->half_open);
  p.one("waypoint_ike_sas_established_total", "counter", "IKE SAs the sites began that were established.",
        r.ike_sas_established);
  p.one("waypoint_ike_child_sas_installed_total", "counter", "Child SAs negotiated as responder.",
        r.child_sas_installed);
  p.one("waypoint_ike_cookies_sent_total", "counter",
        "IKE_SA_INIT answered with a COOKIE (RFC 7296 section 2.6: many half-open SAs).", r[Refusal::cookie_required]);
  for (size_t i = 0; i < kIkeServiceCounters; ++i) {
    const std::string what(ike_service_counter_name(static_cast<IkeServiceCounter>(i)));
    const std::string name = (what.starts_with("ike_") ? "waypoint_" : "waypoint_ike_") + what + "_total";
    p.one(name, "counter", "IKE service counter " + what + " (docs/ipsec.md).", m->service[i]);
  }
  p.family("waypoint_ike_rekeys_total", "counter", "Rekeys and expiries, by event (docs/ipsec.md section Rekeying).");
  for (size_t i = 0; i < ike::kRekeyCounters; ++i)
    p.sample("waypoint_ike_rekeys_total", m->rekey.v[i],
             mgmt::prom_label("event", ike::rekey_counter_name(static_cast<ike::RekeyCounter>(i))));
  p.family("waypoint_ike_failures_total", "counter",
           "IKE exchanges refused or failed, as responder and as initiator, by reason class.");
  for (const FailureClass& f : kFailureClasses) {
    uint64_t v = 0;
    for (Refusal x : f.refused) v += r[x];
    for (InitFailure x : f.failed) v += m->init_failures[static_cast<size_t>(x)];
    for (IkeServiceCounter x : f.counted) v += m->service[static_cast<size_t>(x)];
    p.sample("waypoint_ike_failures_total", v, mgmt::prom_label("reason", f.name));
  }
  p.family("waypoint_ike_refused_total", "counter", "IKE requests the responder refused, by reason.");
  for (size_t i = 0; i < ike::kRefusals; ++i)
    p.sample("waypoint_ike_refused_total", r.refused[i],
             mgmt::prom_label("reason", ike::refusal_name(static_cast<Refusal>(i))));
  p.family("waypoint_ike_initiator_failure_reasons_total", "counter", "IKE SAs we initiated that failed, by reason.");
  for (size_t i = 0; i < ike::kInitFailures; ++i)
    p.sample("waypoint_ike_initiator_failure_reasons_total", m->init_failures[i],
             mgmt::prom_label("reason", ike::init_failure_name(static_cast<InitFailure>(i))));
  // Per tunnel and direction, summed over the workers (bounded: config tunnels, not SAs).
  struct Family {
    const char* name;
    const char* help;
    std::atomic<uint64_t> EspTunnelCounters::*in;
    std::atomic<uint64_t> EspTunnelCounters::*out;
  };
  const Family families[] = {
      {"waypoint_esp_tunnel_packets_total", "ESP packets opened (in) and sealed (out), per tunnel.",
       &EspTunnelCounters::in_packets, &EspTunnelCounters::out_packets},
      {"waypoint_esp_tunnel_bytes_total", "Inner bytes opened (in) and sealed (out), per tunnel.",
       &EspTunnelCounters::in_bytes, &EspTunnelCounters::out_bytes},
      {"waypoint_esp_tunnel_drops_total", "ESP packets refused (in) and inner packets not sealed (out), per tunnel.",
       &EspTunnelCounters::in_drops, &EspTunnelCounters::out_drops},
  };
  for (const Family& f : families) {
    if (!tunnel_counters_ || tunnels_.empty()) break;
    p.family(f.name, "counter", f.help);
    for (size_t t = 0; t < tunnels_.size() && t < kEspCounterTunnels; ++t) {
      uint64_t in = 0, out = 0;
      for (uint32_t w = 0; w < counter_readers_; ++w) {
        const EspTunnelCounters& c = tunnel_counters_[w * kEspCounterTunnels + t];
        in += (c.*f.in).load(std::memory_order_relaxed);
        out += (c.*f.out).load(std::memory_order_relaxed);
      }
      const std::string tunnel = mgmt::prom_label("tunnel", tunnels_[t].name);
      p.sample(f.name, in, tunnel + "," + mgmt::prom_label("direction", "in"));
      p.sample(f.name, out, tunnel + "," + mgmt::prom_label("direction", "out"));
    }
  }
  return p.take();
}

}  // namespace wp
