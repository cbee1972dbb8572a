// What REST and IPFIX show of an IPv6 session that SVR carries (issue #19;
// docs/ipv6.md, docs/operations.md § IPFIX): the worker's IPv6 view of the
// session (session/events6.h Svr6Leg) through the mgmt feed's code, the REST
// snapshot and JSON (mgmt/session_snapshot6.h, rest_sessions6.h) and an IPFIX
// message decoded back by the project's decoder. Shared by svr6_test.cc (IPv4
// waypoints) and svr6v6_test.cc (IPv6 waypoints); svr4v6_test.cc (IPv4
// sessions between IPv6 waypoints) uses its event and IPFIX helpers.
#pragma once

#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "mgmt/ipfix_decoder.h"
#include "mgmt/ipfix_encoder.h"
#include "mgmt/rest_sessions6.h"
#include "mgmt/session_feed.h"
#include "mgmt/session_id.h"
#include "mgmt/session_snapshot.h"
#include "tests/unit/svr_harness.h"

namespace wp::test {

inline constexpr DataplaneClock kExportClock{0, 1700000000000};

// The mgmt feed's rings: IPv4 session events (ipfix consumer) and IPv6 ones.
inline void enable_session_events(Router& r) {
  std::string err;
  ASSERT_TRUE(r.shared().enable_events(EventConsumer::ipfix, 64, SOCKET_ID_ANY, err)) << err;
  ASSERT_TRUE(r.shared().enable_events6(64, SOCKET_ID_ANY, err)) << err;
}

inline std::vector<Session6Event> drain_events6(DataplaneShared& shared, uint32_t worker = 0) {
  std::vector<Session6Event> out;
  Session6Event ev;
  while (rte_ring_sc_dequeue_elem(shared.event6_ring(worker), &ev, sizeof ev) == 0) out.push_back(ev);
  return out;
}

inline std::vector<SessionEvent> drain_events(DataplaneShared& shared, uint32_t worker = 0) {
  std::vector<SessionEvent> out;
  SessionEvent ev;
  while (rte_ring_sc_dequeue_elem(shared.event_ring(EventConsumer::ipfix, worker), &ev, sizeof ev) == 0)
    out.push_back(ev);
  return out;
}

// A record as a collector decodes it, the template its data set named, and the message's bytes.
struct DecodedRecord {
  mgmt::IpfixRecord rec;
  uint16_t template_id = 0;
  std::vector<uint8_t> wire;
};
inline DecodedRecord ipfix_round_trip(const mgmt::IpfixRecord& rec) {
  uint8_t buf[mgmt::kIpfixMaxMessage];
  mgmt::IpfixMessage msg;
  msg.begin(buf, 1700000000, 1, 7);
  EXPECT_TRUE(msg.add_template());
  EXPECT_TRUE(msg.add_template6());
  EXPECT_TRUE(msg.add_record(rec));
  const size_t len = msg.finish();
  DecodedRecord out;
  const size_t set = 16 + mgmt::IpfixMessage::template_set_size() + mgmt::IpfixMessage::template6_set_size();
  out.template_id = static_cast<uint16_t>(buf[set] << 8 | buf[set + 1]);
  out.wire.assign(buf, buf + len);
  mgmt::IpfixDecoder dec;
  mgmt::IpfixDecoded d;
  std::string err;
  EXPECT_TRUE(dec.decode(buf, len, d, err)) << err;
  EXPECT_EQ(d.templates, 4u) << "256, 257, 258 and 259";
  EXPECT_EQ(d.unknown_sets, 0u);
  EXPECT_EQ(d.records.size(), 1u);
  if (!d.records.empty()) out.rec = d.records[0];
  return out;
}
inline DecodedRecord ipfix_round_trip(const Session6Event& ev, const RouterModel& m) {
  return ipfix_round_trip(mgmt::ipfix_record6(ev, m, kExportClock));
}

// The router's workers post an update of each live session (IPFIX's active timeout).
inline void post_updates(Router& r) {
  r.shared().session_update_ms = 1000;
  r.worker().set_now_ms(r.worker().now_ms() + 1500);
  for (int k = 0; k < 100; ++k) r.idle();
}

// GET /api/v1/sessions's JSON of the one session a router's events describe:
// the IPv4 snapshot keeps the carrying IPv4 session but neither lists nor
// finds it; the IPv6 snapshot lists it (as the REST handler merges them).
inline nlohmann::json rest_json(const std::vector<SessionEvent>& evs4, const std::vector<Session6Event>& evs6,
                                const RouterModel& m) {
  mgmt::SessionSnapshot snap(16);
  for (const SessionEvent& ev : evs4) snap.apply(ev, m, kExportClock);
  for (const Session6Event& ev : evs6) snap.v6().apply(ev, m, kExportClock);
  EXPECT_EQ(snap.size(), 1u) << "the IPv4 form stays for the peer and path counts";
  mgmt::SessionQuery q;
  bool more = false;
  EXPECT_TRUE(snap.page(q, more).empty()) << "never listed with its internal or stand-in IPv4 tuple";
  if (!evs4.empty()) {
    EXPECT_FALSE(snap.find(evs4[0].session.uuid).has_value()) << "nor found by its UUID";
  }
  const auto page = snap.v6().page(q, more);
  EXPECT_EQ(page.size(), 1u);
  if (page.empty()) return {};
  waypoint::api::SessionInfo o;
  mgmt::fill_session6(&o, page[0], m);
  google::protobuf::util::JsonPrintOptions opt;
  opt.preserve_proto_field_names = true;  // as the REST server writes it (mgmt/rest_api.cc)
  opt.always_print_primitive_fields = true;
  std::string text;
  (void)google::protobuf::util::MessageToJsonString(o, &text, opt);
  return nlohmann::json::parse(text);
}

// The addr= filter of GET /api/v1/sessions over a router's IPv6 events: how many sessions match.
inline size_t sessions_at(const std::vector<Session6Event>& evs6, const RouterModel& m, const std::string& addr) {
  mgmt::SessionSnapshot6 snap(16);
  for (const Session6Event& ev : evs6) snap.apply(ev, m, kExportClock);
  mgmt::SessionQuery q;
  if (addr.find(':') != std::string::npos)
    q.addr6 = parse_ipv6(addr);
  else
    q.addr = parse_ipv4(addr);
  bool more = false;
  return snap.page(q, more).size();
}

// A session r1 (ingress) and r2 (egress) carried: client:40000 -> server:80 TCP
// over the waypoints r1_wp:wp_sport -> r2_wp:wp_dport, `fwd`/`rev` the IPv6
// bytes of its one packet each way.
struct Svr6ExportExpect {
  const char *client, *server, *r1_wp, *r2_wp;
  uint16_t wp_sport = 0, wp_dport = 0;
  uint16_t template_id = 0;  // 258: IPv4 waypoints, 257: IPv6 ones
  uint64_t fwd = 0, rev = 0;
};

// Both routers post an update (IPFIX's active timeout) of the session; its
// IPv6 view, IPFIX record and REST JSON say the same thing at both, with the
// same UUID, and never an internal or stand-in IPv4 address.
inline void expect_svr6_export(Router& r1, Router& r2, const Svr6ExportExpect& x) {
  const bool v4wp = x.template_id == mgmt::kSession6Post4TemplateId;
  std::vector<Session6Event> evs[2];
  std::vector<SessionEvent> evs4[2];
  Router* rs[2] = {&r1, &r2};
  for (int i = 0; i < 2; ++i) {
    Router& r = *rs[i];
    post_updates(r);
    evs[i] = drain_events6(r.shared());
    evs4[i] = drain_events(r.shared());
    ASSERT_GE(evs[i].size(), 2u) << "created and an update at least";
    EXPECT_EQ(evs[i].front().kind, SessionEventKind::created);
    EXPECT_EQ(evs[i].back().kind, SessionEventKind::update);
    EXPECT_EQ(r.count(Counter::ipfix_events_dropped), 0u);
  }
  const Session6Event& u1 = evs[0].back();
  const Session6Event& u2 = evs[1].back();
  EXPECT_EQ(u1.svr.role, Svr6Role::ingress);
  EXPECT_EQ(u2.svr.role, Svr6Role::egress);
  EXPECT_EQ(u1.session.uuid, u2.session.uuid) << "one global session id at both routers";
  for (const Session6Event* u : {&u1, &u2}) {
    EXPECT_EQ(u->session.original, (FiveTuple6{*parse_ipv6(x.client), *parse_ipv6(x.server), 40000, 80, kProtoTcp}));
    EXPECT_EQ(u->session.packets[0], 1u);
    EXPECT_EQ(u->session.packets[1], 1u);
    EXPECT_EQ(u->session.bytes[0], x.fwd) << "IPv6 bytes on the LAN side";
    EXPECT_EQ(u->session.bytes[1], x.rev);
    EXPECT_TRUE(u->session.flags & kReverseSeen);
    EXPECT_EQ(u->svr.wan.sport, x.wp_sport) << "the forward direction on the WAN, at both routers";
    EXPECT_EQ(u->svr.wan.dport, x.wp_dport);
  }

  // IPFIX: the IPv6 tuple in 27/28, the waypoint leg in the post-NAT elements, at both.
  for (int i = 0; i < 2; ++i) {
    const DecodedRecord d = ipfix_round_trip(evs[i].back(), rs[i]->model());
    const mgmt::IpfixRecord& r = d.rec;
    EXPECT_EQ(d.template_id, x.template_id);
    EXPECT_TRUE(r.ipv6);
    EXPECT_EQ(r.post_ipv4, v4wp);
    EXPECT_EQ(r.pre_src6, *parse_ipv6(x.client));
    EXPECT_EQ(r.pre_dst6, *parse_ipv6(x.server));
    EXPECT_EQ(r.pre.sport, 40000);
    EXPECT_EQ(r.pre.dport, 80);
    EXPECT_EQ(r.pre.proto, kProtoTcp);
    if (v4wp) {
      EXPECT_EQ(r.post.src, *parse_ipv4(x.r1_wp));
      EXPECT_EQ(r.post.dst, *parse_ipv4(x.r2_wp));
    } else {
      EXPECT_EQ(r.post_src6, *parse_ipv6(x.r1_wp));
      EXPECT_EQ(r.post_dst6, *parse_ipv6(x.r2_wp));
    }
    EXPECT_EQ(r.post.sport, x.wp_sport);
    EXPECT_EQ(r.post.dport, x.wp_dport);
    EXPECT_EQ(r.session_id, u1.session.uuid);
    EXPECT_EQ(r.initiator_packets, 1u);
    EXPECT_EQ(r.responder_packets, 1u);
    EXPECT_EQ(r.initiator_octets, x.fwd);
    EXPECT_EQ(r.responder_octets, x.rev);
    EXPECT_EQ(r.nat_event, mgmt::kNatEventSessionCreate) << "a live session's active-timeout record";
    EXPECT_EQ(std::string(r.tenant, r.tenant_len), "v6");
    EXPECT_EQ(std::string(r.service, r.service_len), "web6");
    // Interfaces: config order + 1 (LAN 1, wan0 2): LAN -> WAN at r1, WAN -> LAN at r2.
    EXPECT_EQ(r.ingress_if, i == 0 ? 1u : 2u);
    EXPECT_EQ(r.egress_if, i == 0 ? 2u : 1u);
  }

  // REST: the IPv6 tuple on the LAN side, the real waypoints on the WAN side, the peer.
  for (int i = 0; i < 2; ++i) {
    const RouterModel& m = rs[i]->model();
    const nlohmann::json j = rest_json(evs4[i], evs[i], m);
    SCOPED_TRACE(j.dump());
    const bool ingress = i == 0;
    EXPECT_EQ(j["uuid"], mgmt::format_session_id(u1.session.uuid));
    EXPECT_EQ(j["family"], "ipv6");
    EXPECT_EQ(j["svr_role"], ingress ? "ingress" : "egress");
    EXPECT_EQ(j["peer"], ingress ? "r2" : "r1");
    EXPECT_EQ(j["tenant"], "v6");
    EXPECT_EQ(j["service"], "web6");
    EXPECT_EQ(j["original"]["src"], x.client);
    EXPECT_EQ(j["original"]["dst"], x.server);
    const nlohmann::json& lan = ingress ? j["arrived"] : j["left"];
    const nlohmann::json& wan = ingress ? j["left"] : j["arrived"];
    EXPECT_EQ(lan, j["original"]);
    EXPECT_EQ(wan["src"], x.r1_wp);
    EXPECT_EQ(wan["dst"], x.r2_wp);
    EXPECT_EQ(wan["sport"], x.wp_sport);
    EXPECT_EQ(wan["dport"], x.wp_dport);
    EXPECT_EQ(wan["protocol"], "tcp");
    EXPECT_EQ(j["ingress"], m.interfaces[ingress ? 0 : 1].name);
    EXPECT_EQ(j["egress"], m.interfaces[ingress ? 1 : 0].name);
    EXPECT_TRUE(j["established"].get<bool>());
    EXPECT_EQ(j.dump().find("\"0."), std::string::npos) << "no 0.0.0.0/8 or 0.255.0.0/16 address";
    // addr= filters: the IPv6 tuple and the waypoints match, others do not.
    EXPECT_EQ(sessions_at(evs[i], m, x.client), 1u);
    EXPECT_EQ(sessions_at(evs[i], m, x.r2_wp), 1u);
    EXPECT_EQ(sessions_at(evs[i], m, v4wp ? "172.16.0.9" : "2001:db8:70::9"), 0u);
  }
}

}  // namespace wp::test
