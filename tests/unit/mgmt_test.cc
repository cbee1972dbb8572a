// Management plane: IPFIX encoding against our decoder, the exporter over
// a real UDP socket (sequence numbers, template refresh, bounded queue), the
// session snapshot's filters and paging, mgmt config validation, and the REST
// API through a real HTTP client (auth, every endpoint, config errors with
// paths, live commit).
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <nlohmann/json.hpp>
#include <thread>

#include "mgmt/config_endpoint.h"
#include "mgmt/ipfix_decoder.h"
#include "mgmt/ipfix_exporter.h"
#include "mgmt/live_commit.h"
#include "mgmt/rest_api.h"
#include "mgmt/session_feed.h"
#include "mgmt/session_id.h"
#include "tests/unit/eal_env.h"

namespace wp::mgmt {
namespace {

using nlohmann::json;

IpfixRecord sample(uint8_t id, const char* tenant = "branch") {
  IpfixRecord r;
  r.start_ms = 1700000000000 + id;
  r.end_ms = r.start_ms + 500;
  r.pre = {0x0a01000a, 0x0a02000a, 40000, 80, 6};
  r.post = {0xac100001, 0xac100002, 16400, 16401, 6};
  r.initiator_octets = 1000 + id;
  r.responder_octets = 1048576;
  r.initiator_packets = 10;
  r.responder_packets = 700;
  r.end_reason = 3;
  r.ingress_if = 1;
  r.egress_if = 2;
  r.session_id[0] = id;
  r.session_id[15] = 0xee;
  r.set_tenant(tenant);
  r.set_service("web");
  r.app_id = 7;  // nDPI's HTTP
  r.set_app("HTTP");
  return r;
}

TEST(IpfixEncoding, RecordsSurviveTheWireFormat) {
  uint8_t buf[kIpfixMaxMessage];
  IpfixMessage m;
  m.begin(buf, 1700000001, 42, 7);
  ASSERT_TRUE(m.add_template());
  ASSERT_TRUE(m.add_record(sample(1)));
  ASSERT_TRUE(m.add_record(sample(2, "a-much-longer-tenant-name")));
  size_t len = m.finish();
  EXPECT_EQ(buf[0] << 8 | buf[1], 10) << "IPFIX version";
  EXPECT_EQ(size_t(buf[2] << 8 | buf[3]), len);
  IpfixDecoder d;
  IpfixDecoded out;
  std::string err;
  ASSERT_TRUE(d.decode(buf, len, out, err)) << err;
  EXPECT_EQ(out.sequence, 42u);
  EXPECT_EQ(out.domain, 7u);
  EXPECT_EQ(out.templates, 1u);
  ASSERT_EQ(out.records.size(), 2u);
  const IpfixRecord& r = out.records[1];
  IpfixRecord want = sample(2, "a-much-longer-tenant-name");
  EXPECT_EQ(r.start_ms, want.start_ms);
  EXPECT_EQ(r.pre, want.pre);
  EXPECT_EQ(r.post, want.post);
  EXPECT_EQ(r.initiator_octets, want.initiator_octets);
  EXPECT_EQ(r.responder_packets, want.responder_packets);
  EXPECT_EQ(r.session_id, want.session_id);
  EXPECT_EQ(std::string(r.tenant, r.tenant_len), "a-much-longer-tenant-name");
  EXPECT_EQ(std::string(r.service, r.service_len), "web");
  EXPECT_EQ(r.app_id, 7);
  EXPECT_EQ(std::string(r.app, r.app_len), "HTTP");
  EXPECT_EQ(r.end_reason, 3);
}

// IE 95 applicationId (RFC 6759): engine 20 (PANA-L7-PEN), PEN 35632, 2-byte nDPI id; IE 96 the
// name, variable length. Checked on the bytes, in the template and at the end of the record.
TEST(IpfixEncoding, ApplicationIdAndNameOnTheWire) {
  uint8_t buf[kIpfixMaxMessage];
  IpfixMessage m;
  m.begin(buf, 1, 0, 1);
  ASSERT_TRUE(m.add_template());
  IpfixRecord rec = sample(1);
  rec.app_id = 0x01bc;  // an id above 255: both selector bytes matter
  rec.set_app("YouTube");
  ASSERT_TRUE(m.add_record(rec));
  size_t len = m.finish();
  // The template's last two field specifiers: 95 (length 7) and 96 (variable), no enterprise bit.
  size_t tend = 16 + IpfixMessage::template_set_size();
  const uint8_t want_tmpl[] = {0x00, 95, 0x00, 7, 0x00, 96, 0xff, 0xff};
  EXPECT_EQ(std::vector<uint8_t>(buf + tend - 8, buf + tend), std::vector<uint8_t>(want_tmpl, want_tmpl + 8));
  // The record ends with applicationId then applicationName.
  const uint8_t want_rec[] = {20, 0x00, 0x00, 0x8b, 0x30, 0x01, 0xbc, 7, 'Y', 'o', 'u', 'T', 'u', 'b', 'e'};
  ASSERT_EQ(len, tend + 4 + IpfixMessage::record_size(rec));
  EXPECT_EQ(std::vector<uint8_t>(buf + len - sizeof want_rec, buf + len),
            std::vector<uint8_t>(want_rec, want_rec + sizeof want_rec));
  IpfixDecoder d;
  IpfixDecoded out;
  std::string err;
  ASSERT_TRUE(d.decode(buf, len, out, err)) << err;
  ASSERT_EQ(out.records.size(), 1u);
  EXPECT_EQ(out.records[0].app_id, 0x01bc);
  EXPECT_EQ(std::string(out.records[0].app, out.records[0].app_len), "YouTube");
  // Another registry (engine 13, IANA-L4) is not read as an nDPI id; the name still is.
  buf[len - sizeof want_rec] = 13;
  IpfixDecoder d2;
  ASSERT_TRUE(d2.decode(buf, len, out, err)) << err;
  ASSERT_EQ(out.records.size(), 1u);
  EXPECT_EQ(out.records[0].app_id, 0);
  EXPECT_EQ(std::string(out.records[0].app, out.records[0].app_len), "YouTube");
}

TEST(IpfixEncoding, DataWithoutTemplateIsNotGuessedAndTruncationIsAnError) {
  uint8_t buf[kIpfixMaxMessage];
  IpfixMessage m;
  m.begin(buf, 1, 0, 1);
  ASSERT_TRUE(m.add_record(sample(1)));
  size_t len = m.finish();
  IpfixDecoder d;
  IpfixDecoded out;
  std::string err;
  ASSERT_TRUE(d.decode(buf, len, out, err)) << err;
  EXPECT_EQ(out.records.size(), 0u);
  EXPECT_EQ(out.unknown_sets, 1u);
  EXPECT_FALSE(d.decode(buf, len - 1, out, err)) << "length in the header no longer matches";
}

TEST(IpfixEncoding, AFullMessageRefusesMoreRecords) {
  uint8_t buf[kIpfixMaxMessage];
  IpfixMessage m;
  m.begin(buf, 1, 0, 1);
  uint32_t n = 0;
  while (m.add_record(sample(static_cast<uint8_t>(n)))) ++n;
  EXPECT_EQ(n, (kIpfixMaxMessage - 16 - 4) / IpfixMessage::record_size(sample(0)));
  EXPECT_LE(m.finish(), kIpfixMaxMessage);
}

// A UDP collector on an ephemeral loopback port.
struct Collector {
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in addr{};
  Collector() {
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    socklen_t l = sizeof addr;
    getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &l);
    timeval tv{1, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }
  ~Collector() { close(fd); }
  std::vector<IpfixDecoded> receive(size_t messages) {
    std::vector<IpfixDecoded> out;
    uint8_t buf[65536];
    for (size_t i = 0; i < messages; ++i) {
      ssize_t n = recv(fd, buf, sizeof buf, 0);
      if (n <= 0) break;
      IpfixDecoded d;
      std::string err;
      EXPECT_TRUE(dec.decode(buf, static_cast<size_t>(n), d, err)) << err;
      out.push_back(d);
    }
    return out;
  }
  IpfixDecoder dec;
};

TEST(IpfixExporter, SequenceCountsRecordsAndTemplatesAreRefreshed) {
  Collector c;
  IpfixOptions o;
  o.collectors = {c.addr};
  o.template_refresh_packets = 3;
  o.template_refresh_s = 3600;
  o.queue = 64;
  IpfixExporter e;
  std::string err;
  ASSERT_TRUE(e.open(o, err)) << err;
  for (int i = 0; i < 25; ++i) e.enqueue(sample(static_cast<uint8_t>(i)));  // 3 messages of <= 11
  e.flush(1000);
  for (int i = 0; i < 25; ++i) e.enqueue(sample(static_cast<uint8_t>(i)));
  e.flush(2000);
  auto msgs = c.receive(6);
  ASSERT_EQ(msgs.size(), 6u);
  uint32_t expect_seq = 0, total = 0;
  for (const auto& m : msgs) {
    EXPECT_EQ(m.sequence, expect_seq) << "records sent before this message";
    expect_seq += static_cast<uint32_t>(m.records.size());
    total += static_cast<uint32_t>(m.records.size());
  }
  EXPECT_EQ(total, 50u);
  EXPECT_EQ(msgs[0].templates, 1u) << "template first";
  EXPECT_EQ(msgs[1].templates, 0u);
  EXPECT_EQ(msgs[3].templates, 1u) << "again after template_refresh_packets messages";
  EXPECT_EQ(e.stats().records_exported.load(), 50u);
}

TEST(IpfixExporter, TemplateRefreshByTimeAndAFullQueueDrops) {
  Collector c;
  IpfixOptions o;
  o.collectors = {c.addr};
  o.template_refresh_s = 5;
  o.queue = 64;
  IpfixExporter e;
  std::string err;
  ASSERT_TRUE(e.open(o, err)) << err;
  for (int i = 0; i < 70; ++i) e.enqueue(sample(1));
  EXPECT_EQ(e.stats().records_dropped.load(), 6u);
  e.flush(10000);
  auto first = c.receive(6);
  e.enqueue(sample(2));
  e.flush(12000);
  e.enqueue(sample(3));
  e.flush(15001);
  auto later = c.receive(2);
  ASSERT_EQ(later.size(), 2u);
  EXPECT_EQ(later[0].templates, 0u) << "2 s after the last template";
  EXPECT_EQ(later[1].templates, 1u) << "5 s after it";
}

TEST(IpfixExporter, ACollectorThatIsDownDoesNotBlock) {
  IpfixOptions o;
  sockaddr_in dead{};
  dead.sin_family = AF_INET;
  dead.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  dead.sin_port = htons(9);  // discard: nobody listens
  o.collectors = {dead};
  IpfixExporter e;
  std::string err;
  ASSERT_TRUE(e.open(o, err)) << err;
  auto t0 = std::chrono::steady_clock::now();
  for (int round = 0; round < 100; ++round) {
    for (int i = 0; i < 100; ++i) e.enqueue(sample(1));
    e.flush(static_cast<uint64_t>(round));
  }
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(2));
  EXPECT_EQ(e.stats().records_exported.load(), 10000u);
}

TEST(MgmtConfig, IpfixAndRedisSettingsAreValidatedWithPaths) {
  ConfigResult r = load_config_text(R"(
router: {name: r1, lan: {name: lan, device: d0, address: 10.1.0.1/24}, wan: [{name: wan0, device: d1, address: 172.16.0.1/24}]}
ipfix: {collectors: ["127.0.0.1:4739", "collector:4739", "10.0.0.1:70000"], active_timeout: 1}
mgmt: {redis: "localhost"}
)");
  std::string text = r.error_text();
  EXPECT_NE(text.find("ipfix.collectors[1]"), std::string::npos) << text;
  EXPECT_NE(text.find("ipfix.collectors[2]"), std::string::npos) << text;
  EXPECT_EQ(text.find("ipfix.collectors[0]"), std::string::npos) << text;
  EXPECT_NE(text.find("ipfix.active_timeout"), std::string::npos) << text;
  EXPECT_NE(text.find("mgmt.redis"), std::string::npos) << text;
}

TEST(SessionIds, RoundTripAndRejectGarbage) {
  SessionUuid u{};
  for (uint8_t i = 0; i < 16; ++i) u[i] = static_cast<uint8_t>(i * 17);
  std::string s = format_session_id(u);
  EXPECT_EQ(s, "00112233-4455-6677-8899-aabbccddeeff");
  EXPECT_EQ(parse_session_id(s), u);
  EXPECT_FALSE(parse_session_id("00112233-4455-6677-8899-aabbccddeef"));
  EXPECT_FALSE(parse_session_id("00112233-4455-6677-8899-aabbccddeeffaa"));
  EXPECT_FALSE(parse_session_id("zz112233-4455-6677-8899-aabbccddeeff"));
}

// One parser for every "IPv4:port" (config, --config-redis, wpctl --listen).
TEST(Endpoints, IPv4ColonPortAndNothingElse) {
  std::optional<Endpoint> e = parse_endpoint("127.0.0.1:4739");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->addr, 0x7f000001u);
  EXPECT_EQ(e->port, 4739);
  sockaddr_in sa = e->sockaddr();
  EXPECT_EQ(sa.sin_family, AF_INET);
  EXPECT_EQ(ntohl(sa.sin_addr.s_addr), 0x7f000001u);
  EXPECT_EQ(ntohs(sa.sin_port), 4739);
  EXPECT_TRUE(parse_endpoint("0.0.0.0:65535"));
  for (const char* bad : {"127.0.0.1", "127.0.0.1:", "127.0.0.1:0", "127.0.0.1:65536", "127.0.0.1:+80", "127.0.0.1:80x",
                          "127.0.0.1: 80", "127.0.0.1:000080", "localhost:80", ":80", "1.2.3:80"})
    EXPECT_FALSE(parse_endpoint(bad)) << bad;
}

}  // namespace
}  // namespace wp::mgmt
