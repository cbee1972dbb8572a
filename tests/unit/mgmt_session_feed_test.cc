// The mgmt feed (mgmt/session_feed.h): what each session event does to REST's
// snapshot and to the IPFIX exporter's queue, for IPv4 and IPv6 sessions. A
// session handed back to the HA peer (reason handed_over) leaves the snapshot
// and is never exported here: the peer carries it on and exports it under the
// same UUID (docs/architecture.md § HA).
#include <gtest/gtest.h>
#include <rte_ring_elem.h>

#include <string>

#include "dataplane/ip/ipv6.h"
#include "mgmt/ipfix_exporter.h"
#include "mgmt/session_feed.h"
#include "mgmt/session_snapshot.h"
#include "tests/unit/svr_harness.h"

namespace wp::test {
namespace {

// Below SessionFeed::kFlushMs after its last flush (0): records stay queued where the test reads them.
constexpr uint64_t kBeforeFlushMs = 1;

class SessionFeedTest : public ::testing::Test {
 protected:
  SessionFeedTest()
      : router_(router_base("r1", "10.1.0.1/24", {{"wan0", "172.16.0.1/24"}}),
                RouterOptions().with_events(EventConsumer::ipfix, 64)) {
    std::string err;
    EXPECT_TRUE(router_.shared().enable_events6(64, SOCKET_ID_ANY, err)) << err;
    mgmt::IpfixOptions opts;  // no collector: the queue is what the test reads
    opts.queue = 64;
    EXPECT_TRUE(exporter_.open(opts, err)) << err;
  }

  static SessionEvent event(SessionEventKind kind, SessionEndReason reason, uint8_t id) {
    SessionEvent ev{};
    ev.kind = kind;
    ev.reason = reason;
    Session& s = ev.session;
    s.uuid[0] = id;
    s.uuid[15] = 4;
    s.original = {kClient, kServer, static_cast<uint16_t>(40000 + id), 80, kProtoTcp};
    s.out_rev = {s.original.reversed(), kClient, 0, -1};
    s.out_fwd = {s.original, kServer, 0, -1};
    s.created_ms = 10;
    s.last_ms = 20;
    s.packets[0] = 3;
    s.bytes[0] = 300;
    return ev;
  }
  static Session6Event event6(SessionEventKind kind, SessionEndReason reason, uint8_t id) {
    Session6Event ev{};
    ev.kind = kind;
    ev.reason = reason;
    Session6& s = ev.session;
    s.uuid[0] = id;
    s.uuid[15] = 6;
    s.original = {*parse_ipv6("2001:db8:1::5"), *parse_ipv6("2001:db8:2::a"), static_cast<uint16_t>(40000 + id), 80,
                  kProtoTcp};
    s.iface[0] = 0;
    s.iface[1] = 0;
    s.created_ms = 10;
    s.last_ms = 20;
    s.packets[0] = 3;
    s.bytes[0] = 300;
    return ev;
  }
  void post(SessionEvent ev) {  // the ring's API takes a non-const pointer
    ASSERT_EQ(rte_ring_sp_enqueue_elem(router_.shared().event_ring(EventConsumer::ipfix, 0), &ev, sizeof ev), 0);
  }
  void post6(Session6Event ev) {
    ASSERT_EQ(rte_ring_sp_enqueue_elem(router_.shared().event6_ring(0), &ev, sizeof ev), 0);
  }

  Router router_;
  mgmt::SessionSnapshot snapshot_{1000};
  mgmt::IpfixExporter exporter_;
  mgmt::SessionFeed feed_{router_.shared(), &snapshot_, &exporter_};
};

TEST_F(SessionFeedTest, AnUpdateIsListedAndExportedAnEndIsForgottenAndExported) {
  const SessionEvent up = event(SessionEventKind::update, SessionEndReason::none, 1);
  post(up);
  EXPECT_EQ(feed_.poll_once(kBeforeFlushMs), 1u);
  ASSERT_TRUE(snapshot_.find(up.session.uuid).has_value());
  EXPECT_EQ(exporter_.queued(), 1u) << "an update is an IPFIX record (the active timeout)";
  post(event(SessionEventKind::closed, SessionEndReason::end_of_flow, 1));
  EXPECT_EQ(feed_.poll_once(kBeforeFlushMs), 1u);
  EXPECT_FALSE(snapshot_.find(up.session.uuid).has_value());
  EXPECT_EQ(exporter_.queued(), 2u) << "its end too";
}

TEST_F(SessionFeedTest, ASessionHandedOverIsForgottenAndNotExported) {
  const SessionEvent up = event(SessionEventKind::update, SessionEndReason::none, 2);
  post(up);
  post(event(SessionEventKind::update, SessionEndReason::none, 3));
  feed_.poll_once(kBeforeFlushMs);
  ASSERT_EQ(snapshot_.size(), 2u);
  ASSERT_EQ(exporter_.queued(), 2u);
  post(event(SessionEventKind::closed, SessionEndReason::handed_over, 2));
  EXPECT_EQ(feed_.poll_once(kBeforeFlushMs), 1u);
  EXPECT_FALSE(snapshot_.find(up.session.uuid).has_value()) << "REST forgets it";
  EXPECT_EQ(snapshot_.size(), 1u) << "and only it";
  EXPECT_EQ(exporter_.queued(), 2u) << "the HA peer exports it, not this node";
}

TEST_F(SessionFeedTest, AnIpv6SessionHandedOverIsForgottenAndNotExported) {
  const Session6Event up = event6(SessionEventKind::update, SessionEndReason::none, 4);
  post6(up);
  EXPECT_EQ(feed_.poll_once(kBeforeFlushMs), 1u);
  ASSERT_TRUE(snapshot_.v6().find(up.session.uuid).has_value());
  EXPECT_EQ(exporter_.queued(), 1u);
  post6(event6(SessionEventKind::closed, SessionEndReason::handed_over, 4));
  EXPECT_EQ(feed_.poll_once(kBeforeFlushMs), 1u);
  EXPECT_FALSE(snapshot_.v6().find(up.session.uuid).has_value());
  EXPECT_EQ(exporter_.queued(), 1u);
  post6(event6(SessionEventKind::update, SessionEndReason::none, 5));
  post6(event6(SessionEventKind::closed, SessionEndReason::idle_timeout, 5));
  EXPECT_EQ(feed_.poll_once(kBeforeFlushMs), 2u);
  EXPECT_EQ(snapshot_.v6().size(), 0u);
  EXPECT_EQ(exporter_.queued(), 3u) << "an IPv6 session that ended: its update and its end";
}

// Established and created events feed REST but are not IPFIX records (records on update and end).
TEST_F(SessionFeedTest, EstablishedIsListedNotExported) {
  const SessionEvent est = event(SessionEventKind::established, SessionEndReason::none, 6);
  post(est);
  feed_.poll_once(kBeforeFlushMs);
  EXPECT_TRUE(snapshot_.find(est.session.uuid).has_value());
  EXPECT_EQ(exporter_.queued(), 0u);
  EXPECT_EQ(feed_.events(), 1u);
}

}  // namespace
}  // namespace wp::test
