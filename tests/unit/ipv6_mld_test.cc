// The MLDv2 listener (docs/ipv6.md § Multicast Listener Discovery): the
// Report codec of ip/mld.h against RFC 3810 § 5.2 (a hand-checked frame: the
// hop-by-hop Router Alert of RFC 2711, the checksum over RFC 8200 § 8.1's
// pseudo-header), § 5.1.14's refusals of queries, the response timer of
// § 6.2 over many seeds (control/mld_listener.h), and the control thread's
// joins and leaves as addresses come and go (from :: while the link-local is
// tentative, RFC 3590 § 4), its answers and the workers' punting.
// A Linux MLD-snooping bridge learning our groups: tests/e2e/test_svr6.sh.
#include "dataplane/ip/mld.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "dataplane/control/mld_listener.h"
#include "dataplane/ip/router_advert.h"
#include "mgmt/config_load.h"
#include "tests/unit/nd_control_rig.h"
#include "tests/unit/pkt6_builder.h"

namespace wp {
namespace {

using namespace test;

constexpr uint8_t kMac[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};

std::vector<uint8_t> hex(const std::string& s) {
  std::vector<uint8_t> out;
  for (size_t i = 0; i < s.size(); i += 2) out.push_back(static_cast<uint8_t>(std::stoul(s.substr(i, 2), nullptr, 16)));
  return out;
}

TEST(Mld, ReportMatchesRfc3810LayoutByteForByte) {
  const Ipv6 ll = link_local_of(kMac);
  const MldRecord records[] = {{MldRecordType::change_to_exclude, solicited_node_of(ll)},
                               {MldRecordType::mode_is_exclude, kAllRouters}};
  std::vector<uint8_t> f(kMld2MaxFrameLen);
  f.resize(write_mld2_report(f.data(), kMac, ll, records));
  const std::vector<uint8_t> want = hex(
      "333300000016" "525400123456" "86dd"              // to 33:33:00:00:00:16 (ff02::16, RFC 2464 § 7)
      "60000000" "0038" "00" "01"                       // payload 56, next header hop-by-hop, hop limit 1
      "fe80000000000000505400fffe123456"                // from our link-local
      "ff020000000000000000000000000016"                // to all-MLDv2-routers
      "3a00" "05020000" "0100"                          // ICMPv6 next; Router Alert (MLD); PadN
      "8f00" "b7ca" "0000" "0002"                       // type 143, code 0, checksum, reserved, 2 records
      "04000000" "ff0200000000000000000001ff123456"     // CHANGE_TO_EXCLUDE {} solicited-node
      "02000000" "ff020000000000000000000000000002");   // MODE_IS_EXCLUDE {} all-routers
  EXPECT_EQ(f, want);
  const Ipv6View v = parse_ipv6_packet(f.data(), static_cast<uint32_t>(f.size()), kEthHdrLen);
  ASSERT_EQ(v.status, Ipv6Status::ok);
  EXPECT_EQ(v.proto, kProtoIcmpv6);
  EXPECT_EQ(icmpv6_checksum(v.src, v.dst, f.data() + v.l4, v.end - v.l4), 0);
  EXPECT_TRUE(has_mld_router_alert(f.data() + kEthHdrLen, static_cast<uint32_t>(f.size() - kEthHdrLen)));
  // From :: (a tentative link-local): the checksum follows the source.
  std::vector<uint8_t> g(kMld2MaxFrameLen);
  g.resize(write_mld2_report(g.data(), kMac, Ipv6{}, records));
  const Ipv6View w = parse_ipv6_packet(g.data(), static_cast<uint32_t>(g.size()), kEthHdrLen);
  EXPECT_TRUE(w.src.is_unspecified());
  EXPECT_EQ(icmpv6_checksum(w.src, w.dst, g.data() + w.l4, w.end - w.l4), 0);
}

struct QueryFrame {
  Ipv6 src = ip6("fe80::99"), dst = kAllNodes, group;
  uint16_t code = 1000;
  uint8_t hop_limit = 1;
  bool router_alert = true;
  uint16_t len = kMld2QueryMinLen;
  uint16_t sources = 0;
  std::vector<uint8_t> bytes() const {
    std::vector<uint8_t> f(kEthHdrLen + kIpv6HdrLen + kMldHbhLen + len, 0);
    const uint8_t mac[6] = {0x02, 0, 0, 0, 0x99, 0x01};
    write_nd_headers(f.data(), kMac, mac, src, dst, static_cast<uint16_t>(kMldHbhLen + len));
    uint8_t* ip = f.data() + kEthHdrLen;
    ip[6] = 0;  // hop-by-hop
    ip[7] = hop_limit;
    uint8_t* hbh = ip + kIpv6HdrLen;
    const uint8_t ra[8] = {kProtoIcmpv6, 0, 5, 2, 0, 0, 1, 0}, pad[8] = {kProtoIcmpv6, 0, 1, 4, 0, 0, 0, 0};
    std::memcpy(hbh, router_alert ? ra : pad, 8);
    uint8_t* q = hbh + kMldHbhLen;
    q[0] = kMldQuery;
    store_be16(q + 4, code);
    store_ipv6(q + 8, group);
    if (len >= kMld2QueryMinLen) store_be16(q + 26, sources);
    store_be16(q + 2, icmpv6_checksum(src, dst, q, len));
    return f;
  }
};

MldQueryStatus parse(const QueryFrame& qf, MldQuery& q) {
  const std::vector<uint8_t> f = qf.bytes();
  const uint8_t* ip = f.data() + kEthHdrLen;
  const uint32_t n = static_cast<uint32_t>(f.size() - kEthHdrLen);
  return parse_mld_query(ip, n, ip + kIpv6HdrLen + kMldHbhLen, n - kIpv6HdrLen - kMldHbhLen, q);
}

TEST(Mld, QueriesFailingRfc3810Section5114AreRefused) {
  MldQuery q;
  ASSERT_EQ(parse(QueryFrame{}, q), MldQueryStatus::ok);
  EXPECT_TRUE(q.group.is_unspecified());
  EXPECT_EQ(q.max_delay_ms, 1000u);
  EXPECT_FALSE(q.v1);
  QueryFrame v1;
  v1.len = kMld1QueryLen;
  v1.group = kAllRouters;
  ASSERT_EQ(parse(v1, q), MldQueryStatus::ok);
  EXPECT_TRUE(q.v1);
  EXPECT_EQ(q.group, kAllRouters);
  QueryFrame f;
  f.src = ip6("2001:db8::99");
  EXPECT_EQ(parse(f, q), MldQueryStatus::bad_source);
  f = {};
  f.src = Ipv6{};
  EXPECT_EQ(parse(f, q), MldQueryStatus::bad_source);
  f = {};
  f.hop_limit = 2;
  EXPECT_EQ(parse(f, q), MldQueryStatus::bad_hop_limit);
  f = {};
  f.router_alert = false;
  EXPECT_EQ(parse(f, q), MldQueryStatus::no_router_alert);
  f = {};
  f.len = 26;
  EXPECT_EQ(parse(f, q), MldQueryStatus::malformed);
  f = {};
  f.sources = 1;  // 16 bytes of source address missing
  EXPECT_EQ(parse(f, q), MldQueryStatus::malformed);
  f.len = kMld2QueryMinLen + 16;
  EXPECT_EQ(parse(f, q), MldQueryStatus::ok);
  f = {};
  f.group = ip6("2001:db8::1");  // not a multicast address
  EXPECT_EQ(parse(f, q), MldQueryStatus::malformed);
}

TEST(Mld, MaximumResponseCodeExponentialForm) {
  EXPECT_EQ(mld2_max_response_delay_ms(10000), 10000u);
  EXPECT_EQ(mld2_max_response_delay_ms(0x7fff), 0x7fffu);
  EXPECT_EQ(mld2_max_response_delay_ms(0x8000), 0x1000u << 3);          // exp 0, mant 0
  EXPECT_EQ(mld2_max_response_delay_ms(0xffff), 0x1fffu << 10);         // exp 7, mant 0xfff
  EXPECT_EQ(mld2_max_response_delay_ms(0x9123), (0x1123u) << (1 + 3));  // exp 1, mant 0x123
}

// --- the listener's state -------------------------------------------------------------

struct Sent {
  int iface;
  std::vector<MldRecord> records;
};

std::vector<Sent> tick(MldListener& l, uint32_t now) {
  std::vector<Sent> out;
  l.tick(now, [&](int iface, std::span<const MldRecord> r) { out.push_back({iface, {r.begin(), r.end()}}); });
  return out;
}

TEST(MldListener, AnswersWithinTheMaximumResponseDelayForManySeeds) {
  const Ipv6 a = solicited_node_of(ip6("2001:db8::1")), b = kAllRouters;
  uint32_t earliest = ~0u, latest = 0;
  for (uint64_t seed = 1; seed <= 300; ++seed) {
    MldListener l;
    l.seed(seed * 0x9e3779b97f4a7c15ULL);
    l.set(0, {a, b}, 0);
    tick(l, 0);
    tick(l, 1000);  // the state change reports, done
    ASSERT_TRUE(tick(l, 5000).empty());
    ASSERT_TRUE(l.query(0, Ipv6{}, 2000, 10'000));
    uint32_t t = 10'000;
    std::vector<Sent> out;
    for (; t <= 12'001 && out.empty(); ++t) out = tick(l, t);
    ASSERT_EQ(out.size(), 1u) << "seed " << seed;
    const uint32_t delay = t - 1 - 10'000;
    ASSERT_LE(delay, 2000u) << "seed " << seed;
    earliest = std::min(earliest, delay);
    latest = std::max(latest, delay);
    ASSERT_EQ(out[0].records.size(), 2u);
    for (const MldRecord& r : out[0].records) EXPECT_EQ(r.type, MldRecordType::mode_is_exclude);
    EXPECT_TRUE(tick(l, 20'000).empty()) << "answered once";
  }
  EXPECT_LT(earliest, 200u) << "delays spread over [0, 2000]";
  EXPECT_GT(latest, 1800u);
}

TEST(MldListener, JoinsAndLeavesAreReportedTwiceASecondApart) {
  const Ipv6 a = solicited_node_of(ip6("2001:db8::1")), b = solicited_node_of(ip6("2001:db8::2"));
  MldListener l;
  l.set(1, {a, a}, 100);
  auto out = tick(l, 100);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].iface, 1);
  ASSERT_EQ(out[0].records.size(), 1u) << "repeats listened to once";
  EXPECT_EQ(out[0].records[0].type, MldRecordType::change_to_exclude);
  EXPECT_EQ(out[0].records[0].group, a);
  EXPECT_TRUE(tick(l, 1099).empty());
  ASSERT_EQ(tick(l, 1100).size(), 1u);  // Robustness Variable 2
  EXPECT_TRUE(tick(l, 5000).empty());
  // b joins, a leaves.
  l.set(1, {b}, 6000);
  out = tick(l, 6000);
  ASSERT_EQ(out.size(), 1u);
  ASSERT_EQ(out[0].records.size(), 2u);
  for (const MldRecord& r : out[0].records)
    EXPECT_EQ(r.type, r.group == b ? MldRecordType::change_to_exclude : MldRecordType::change_to_include);
  // a query about a group we left: nothing; about b: answered; general covers it.
  EXPECT_FALSE(l.query(1, a, 0, 6500));
  EXPECT_FALSE(l.query(0, Ipv6{}, 1000, 6500)) << "no groups on interface 0";
  EXPECT_TRUE(l.query(1, b, 0, 6500));
  out = tick(l, 6500);
  ASSERT_EQ(out.size(), 1u);
  ASSERT_EQ(out[0].records.size(), 1u);
  EXPECT_EQ(out[0].records[0].type, MldRecordType::mode_is_exclude);
  // A change undone before its retransmission: the retransmission says the latest.
  l.set(1, {}, 6600);
  tick(l, 6600);
  l.set(1, {b}, 6700);
  out = tick(l, 6700);
  ASSERT_EQ(out.size(), 1u);
  ASSERT_EQ(out[0].records.size(), 1u) << "a's leave was sent twice; b's leave replaced by its join";
  out = tick(l, 7000);
  ASSERT_EQ(out.size(), 1u);  // a's second leave, due a second after 6000
  out = tick(l, 7700);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].records[0].type, MldRecordType::change_to_exclude);
  // Shutdown leaves everything, once.
  std::vector<MldRecord> left;
  l.leave_all([&](int, std::span<const MldRecord> r) { left.insert(left.end(), r.begin(), r.end()); });
  ASSERT_EQ(left.size(), 1u);
  EXPECT_EQ(left[0].type, MldRecordType::change_to_include);
  EXPECT_TRUE(tick(l, 9000).empty());
}

TEST(MldListener, ManyGroupsSplitIntoReportsOfAtMost32Records) {
  std::vector<Ipv6> groups;
  for (uint64_t i = 0; i < 70; ++i) groups.push_back(solicited_node_of(Ipv6{0x20010db800000000ULL, i}));
  MldListener l;
  l.set(0, groups, 0);
  auto out = tick(l, 0);
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0].records.size(), kMld2MaxRecords);
  EXPECT_EQ(out[2].records.size(), 70 - 2 * kMld2MaxRecords);
}

// --- the control thread ---------------------------------------------------------------

config::Config mld_config(const std::vector<const char*>& lan6) {
  config::Config c = router_base("r1", "10.1.0.1/24", {{"wan0", "172.16.0.1/24"}});
  for (const char* a : lan6) c.mutable_router()->mutable_lan()->add_ipv6_addresses(a);
  return c;
}

struct Report {
  Ipv6 src;
  std::vector<MldRecord> records;
};

// The MLDv2 Reports among `frames`, checked to be well-formed ones.
std::vector<Report> reports(const std::vector<std::vector<uint8_t>>& frames) {
  std::vector<Report> out;
  for (const auto& f : frames) {
    if (!is_mld2_report(f.data(), f.size())) continue;
    const Ipv6View v = parse_ipv6_packet(f.data(), static_cast<uint32_t>(f.size()), kEthHdrLen);
    EXPECT_EQ(v.status, Ipv6Status::ok);
    EXPECT_EQ(v.hop_limit, 1);
    EXPECT_EQ(v.dst, kAllMldv2Routers);
    EXPECT_EQ(icmpv6_checksum(v.src, v.dst, f.data() + v.l4, v.end - v.l4), 0);
    Report r{v.src, {}};
    for (uint16_t i = 0; i < load_be16(f.data() + v.l4 + 6); ++i) {
      const uint8_t* rec = f.data() + v.l4 + kMld2ReportFixedLen + kMld2RecordLen * i;
      r.records.push_back({static_cast<MldRecordType>(rec[0]), load_ipv6(rec + 4)});
    }
    out.push_back(r);
  }
  return out;
}

std::vector<Ipv6> groups_of(const Report& r, MldRecordType t) {
  std::vector<Ipv6> g;
  for (const MldRecord& rec : r.records)
    if (rec.type == t) g.push_back(rec.group);
  std::sort(g.begin(), g.end());
  return g;
}

TEST(ControlMld, JoinsFromTheUnspecifiedAddressWhileTheLinkLocalIsTentative) {
  ControlRig rig(mld_config({"2001:db8:1::1/64"}), /*settle=*/false);
  rig.keep_mld = true;
  const InterfaceModel& lan = rig.r1.model().interfaces[0];
  auto out = reports(rig.poll());
  ASSERT_EQ(out.size(), 1u) << "the LAN only: the IPv4-only WAN has no IPv6";
  EXPECT_TRUE(out[0].src.is_unspecified()) << "RFC 3590 § 4: the link-local is tentative";
  std::vector<Ipv6> want = {solicited_node_of(lan.addrs6[0]), solicited_node_of(ip6("2001:db8:1::1")), kAllRouters};
  std::sort(want.begin(), want.end());
  EXPECT_EQ(groups_of(out[0], MldRecordType::change_to_exclude), want);
  for (const MldRecord& r : out[0].records) EXPECT_NE(r.group, kAllNodes);
  rig.now += DadTable::kRetransMs;  // DAD passes; the retransmission leaves from the link-local
  out = reports(rig.poll());
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].src, lan.addrs6[0]);
  EXPECT_EQ(groups_of(out[0], MldRecordType::change_to_exclude), want);
  rig.now += 10 * DadTable::kRetransMs;
  EXPECT_TRUE(reports(rig.poll()).empty());
  EXPECT_EQ(rig.count(Counter::mld_reports_sent), 2u);
}

TEST(ControlMld, ACommitAddingOrRemovingAnAddressJoinsOrLeavesItsGroup) {
  ControlRig rig(mld_config({"2001:db8:1::1/64"}));
  rig.keep_mld = true;
  rig.now += 5000;
  rig.poll();
  rig.r1.commit(mld_config({"2001:db8:1::1/64", "2001:db8:1::abcd/64"}));
  auto out = reports(rig.poll());
  ASSERT_EQ(out.size(), 1u);
  ASSERT_EQ(out[0].records.size(), 1u);
  EXPECT_EQ(out[0].records[0].type, MldRecordType::change_to_exclude);
  EXPECT_EQ(out[0].records[0].group, solicited_node_of(ip6("2001:db8:1::abcd")));
  rig.now += MldListener::kUnsolicitedIntervalMs;
  ASSERT_EQ(reports(rig.poll()).size(), 1u) << "reported twice";
  rig.now += 5000;
  EXPECT_TRUE(reports(rig.poll()).empty());
  rig.r1.commit(mld_config({"2001:db8:1::abcd/64"}));
  out = reports(rig.poll());
  ASSERT_EQ(out.size(), 1u);
  ASSERT_EQ(out[0].records.size(), 1u);
  EXPECT_EQ(out[0].records[0].type, MldRecordType::change_to_include);
  EXPECT_EQ(out[0].records[0].group, solicited_node_of(ip6("2001:db8:1::1")));
  // Shutdown: everything left.
  rig.control.retire_mld();
  out = reports(std::exchange(rig.out, {}));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(groups_of(out[0], MldRecordType::change_to_include).size(), 3u);
}

TEST(ControlMld, HaYieldLeavesTheGlobalAddressesGroupsButNotTheLinkLocals) {
  ControlRig rig(mld_config({"2001:db8:1::1/64"}));
  rig.keep_mld = true;
  rig.now += 5000;
  rig.poll();
  HaDataplane& ha = rig.r1.shared().ha;
  ha.enabled = true;
  ha.own_held.store(false);
  rig.now += Control::kMldRecheckMs;
  auto out = reports(rig.poll());
  ASSERT_EQ(out.size(), 1u);
  ASSERT_EQ(out[0].records.size(), 1u);
  EXPECT_EQ(out[0].records[0].type, MldRecordType::change_to_include);
  EXPECT_EQ(out[0].records[0].group, solicited_node_of(ip6("2001:db8:1::1")));
  ha.own_held.store(true);
  rig.now += Control::kMldRecheckMs;
  out = reports(rig.poll());
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].records[0].type, MldRecordType::change_to_exclude);
  ha.enabled = false;
}

TEST(ControlMld, QueriesAreAnsweredWithinTheirDelayAndBadOnesCounted) {
  ControlRig rig(mld_config({"2001:db8:1::1/64"}));
  rig.keep_mld = true;
  rig.now += 5000;
  rig.poll();
  QueryFrame general;
  general.code = 500;
  size_t records = 0;
  auto answered = [&](const std::vector<std::vector<uint8_t>>& frames) {
    for (const Report& r : reports(frames)) {
      EXPECT_EQ(groups_of(r, MldRecordType::mode_is_exclude).size(), 3u);
      records += r.records.size();
    }
  };
  answered(rig.local(general.bytes()));  // at once, or within the 500 ms
  EXPECT_EQ(rig.count(Counter::mld_queries_received), 1u);
  EXPECT_EQ(rig.count(Counter::mld_queries_answered), 1u);
  for (int i = 0; i < 500; ++i) {
    ++rig.now;
    answered(rig.poll());
  }
  EXPECT_EQ(records, 3u);
  // Group-specific: a group we listen to is answered; one we do not is not.
  QueryFrame specific;
  specific.group = kAllRouters;
  specific.dst = kAllRouters;
  specific.code = 0;
  auto out = reports(rig.local(specific.bytes()));
  ASSERT_EQ(out.size(), 1u);
  ASSERT_EQ(out[0].records.size(), 1u);
  EXPECT_EQ(out[0].records[0].group, kAllRouters);
  specific.group = specific.dst = ip6("ff02::fb");
  EXPECT_TRUE(reports(rig.local(specific.bytes())).empty());
  EXPECT_EQ(rig.count(Counter::mld_queries_received), 3u);
  EXPECT_EQ(rig.count(Counter::mld_queries_answered), 2u);
  // RFC 3810 § 5.1.14: a global source, hop limit 2, no Router Alert: dropped.
  QueryFrame bad;
  bad.code = 0;
  bad.src = ip6("2001:db8:1::99");
  rig.local(bad.bytes());
  bad = {};
  bad.hop_limit = 2;
  rig.local(bad.bytes());
  bad = {};
  bad.router_alert = false;
  rig.local(bad.bytes());
  EXPECT_EQ(rig.drops(DropReason::mld_bad_query), 3u);
  EXPECT_EQ(rig.count(Counter::mld_queries_received), 3u);
}

TEST(Ipv6Input, MldQueriesGoUpAndOtherListenersReportsAreDropped) {
  Router r1(mld_config({"2001:db8:1::1/64"}));
  EXPECT_TRUE(r1.send(kLan, QueryFrame{}.bytes()).empty());
  EXPECT_EQ(r1.count(Counter::to_control), 1u);
  const MldRecord rec[] = {{MldRecordType::mode_is_exclude, ip6("ff02::fb")}};
  std::vector<uint8_t> other(kMld2MaxFrameLen);
  const uint8_t host[6] = {0x02, 0, 0, 0, 0x66, 0x01};
  other.resize(write_mld2_report(other.data(), host, ip6("fe80::66:1"), rec));
  EXPECT_TRUE(r1.send(kLan, other).empty());
  EXPECT_EQ(r1.count(Counter::to_control), 1u);
  EXPECT_EQ(r1.drop_count(DropReason::mld_not_query), 1u);
  // An IPv4-only interface has no listener: its queries stay below.
  r1.send(kWan, QueryFrame{}.bytes());
  EXPECT_EQ(r1.count(Counter::to_control), 1u);
}

}  // namespace
}  // namespace wp
