// Seed writer for the fuzz corpora: the inputs that come from the product's
// own encoders, the same ones the unit tests check (MetadataWriter,
// BfdSession::build, IpfixMessage, encode_session), so every seed is a
// message a real peer, exporter or HA node sends. make_corpus.py runs it;
// seeds cut from e2e captures and config files are the script's own.
//
//   wp_fuzz_seeds OUT_DIR [CONFIG_FILE...]
//
// writes OUT_DIR/{metadata,bfd,fpm,ike,ipfix,ha_session,rest_config}/NAME. Config
// files become their REST JSON form (what GET /api/v1/config returns, and
// so what a client edits and PUTs back). Everything is deterministic: the
// output only changes when an encoder does.
#include <google/protobuf/util/json_util.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "dataplane/ip/packet.h"
#include "dataplane/control/fpm/fpm_encoder.h"
#include "dataplane/control/ike/ike_message.h"
#include "dataplane/paths/bfd.h"
#include "dataplane/svr/metadata.h"
#include "ha/packed_ops.h"
#include "ha/packed_ops6.h"
#include "ha/session_codec.h"
#include "mgmt/config_load.h"
#include "mgmt/ipfix_encoder.h"
#include "tests/fuzz/fuzz_shared.h"

namespace {

namespace fs = std::filesystem;
using Bytes = std::vector<uint8_t>;

fs::path g_out;

void write(const std::string& target, const std::string& name, const Bytes& b) {
  fs::create_directories(g_out / target);
  std::ofstream(g_out / target / name, std::ios::binary)
      .write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
}

void append(Bytes& b, const uint8_t* p, size_t n) { b.insert(b.end(), p, p + n); }

// --- SVR metadata blocks, as svr/emit.cc and svr/metadata_only.cc build them

const wp::FiveTuple kClientTuple{0x0a01000a, 0x0a02000a, 40000, 80, wp::kProtoTcp};
const wp::SessionUuid kUuid{0x5e, 0x55, 0x10, 0x4e, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0xa, 0xb};

template <typename Fill>
Bytes block(Fill fill, std::string_view data_after = {}) {
  uint8_t buf[wp::kMaxMetadataLen];
  wp::MetadataWriter w(buf, sizeof buf);
  fill(w);
  Bytes b(buf, buf + w.finish());
  append(b, reinterpret_cast<const uint8_t*>(data_after.data()), data_after.size());
  return b;
}

void forward_tlvs(wp::MetadataWriter& w) {
  w.forward_context(kClientTuple);
  w.uuid(kUuid);
  w.tenant("branch");
  w.service("web");
  w.source_router("r1");
  w.destination_router("r2");
  w.security_policy("encrypted");
}

void metadata_seeds() {
  write("metadata", "forward-first-packet", block(forward_tlvs, "GET / HTTP/1.1\r\nHost: 10.2.0.10\r\n\r\n"));
  write("metadata", "forward-application", block([](wp::MetadataWriter& w) {
          forward_tlvs(w);
          w.application("YouTube");
        }));
  write("metadata", "forward-data-encrypted", block([](wp::MetadataWriter& w) {
          forward_tlvs(w);
          w.raw_tlv(wp::Tlv::session_data_encrypted, nullptr, 0, false);
        }));
  write("metadata", "forward-fragmented", block([](wp::MetadataWriter& w) {
          w.fragment({0x12345, 0x4321, 0x4000, 1480});
          forward_tlvs(w);
        }));
  write("metadata", "reverse-ack", block([](wp::MetadataWriter& w) {
          w.reverse_context(kClientTuple.reversed());
          w.uuid(kUuid);
          w.source_router("r2");
          w.disable_forward_metadata();
        }));
  write("metadata", "reverse-no-ack", block([](wp::MetadataWriter& w) {
          w.reverse_context(kClientTuple.reversed());
          w.uuid(kUuid);
          w.source_router("r2");
        }));
  write("metadata", "keepalive-path-metrics", block([](wp::MetadataWriter& w) {
          w.control_message(wp::kControlKeepAlive);
          w.path_metrics({1, 0x0abcdef, 2, 0x0abcd00, false, 977});
        }));
  auto inline_metrics = [](wp::MetadataWriter& w) { w.path_metrics({3, 12345, 0, 0, true, 0}); };
  write("metadata", "inline-path-metrics", block(inline_metrics, "payload"));
  write("metadata", "unknown-tlvs", block([](wp::MetadataWriter& w) {
          const uint8_t v[] = {'a', 'p', 'p'};
          w.raw_tlv(wp::Tlv::remaining_session_time, v, 3, true);
          forward_tlvs(w);
          w.raw_tlv(wp::Tlv::application_name, v, 3, false);
        }));
  uint8_t bare[wp::kMetadataHeaderLen];
  wp::MetadataWriter::write_bare(bare, sizeof bare);
  write("metadata", "bare-marker", Bytes(bare, bare + sizeof bare));
  // TLV 16: the payload section is ciphertext (IV, then CBC blocks); the
  // decoder leaves it unread. Real ciphertext would need random IVs, and any
  // bytes do for the decoder.
  Bytes enc(wp::kSvrCookieBytes, wp::kSvrCookieBytes + 8);
  const uint16_t header_len = wp::kMetadataHeaderLen + 8, payload_len = 64;
  enc.insert(enc.end(), {static_cast<uint8_t>(0x10 | header_len >> 8), static_cast<uint8_t>(header_len), 0,
                         static_cast<uint8_t>(payload_len), 0, 16, 0, 4, 0, 0, 0, 1});
  for (int i = 0; i < payload_len; ++i) enc.push_back(static_cast<uint8_t>(i * 37 + 11));
  write("metadata", "payload-encrypted", enc);
}

// --- BFD exchanges in fuzz_bfd's record format --------------------------------

struct BfdScript {
  Bytes bytes;
  explicit BfdScript(uint8_t mode) : bytes{mode} {}
  void record(const uint8_t* p, size_t n, uint8_t ticks) {
    bytes.push_back(static_cast<uint8_t>(n));
    bytes.push_back(ticks);
    append(bytes, p, n);
  }
};

// The peer's packets to our session, with our answers delivered back, so the
// peer's side of the handshake is what a real peer sends.
struct BfdPair {
  uint8_t mode;
  wp::BfdSession ours, peer;
  BfdScript script;
  uint64_t now = 1000000;
  std::mt19937_64 rng{1};
  explicit BfdPair(uint8_t m)
      : mode(m),
        ours(wp::fuzz::kBfdLocalDiscr, wp::fuzz::bfd_config(m), 1000),
        peer(wp::fuzz::kBfdPeerDiscr, wp::fuzz::bfd_config(m), 500),
        script(m) {
    if (m & wp::fuzz::kBfdModeAdminDown) ours.set_admin_down(true);
  }
  static void deliver(wp::BfdSession& to, const uint8_t* p, size_t n, uint64_t now) {
    wp::BfdPacket pkt;
    wp::BfdDiscard why;
    if (wp::parse_bfd(p, n, pkt, why)) (void)to.receive(pkt, p, n, now);
  }
  // peer -> ours (recorded), then ours -> peer.
  void exchange(uint8_t ticks = 10) {
    now += uint64_t{wp::fuzz::kBfdTickUs} * ticks;
    (void)ours.tick(now, rng);
    (void)peer.tick(now, rng);
    uint8_t buf[wp::kBfdMaxLen];
    size_t n = peer.build(buf, now);
    script.record(buf, n, ticks);
    deliver(ours, buf, n, now);
    n = ours.build(buf, now);
    deliver(peer, buf, n, now);
  }
  void silence(uint8_t ticks) {
    now += uint64_t{wp::fuzz::kBfdTickUs} * ticks;
    (void)ours.tick(now, rng);
    (void)peer.tick(now, rng);
    script.record(nullptr, 0, ticks);
  }
};

void bfd_seeds() {
  const uint8_t mult3 = 2 << 1;
  for (uint8_t auth : {uint8_t{0}, wp::fuzz::kBfdModeAuth}) {
    const std::string kind = auth ? "auth" : "plain";
    BfdPair up(mult3 | auth);
    for (int i = 0; i < 4; ++i) up.exchange();
    write("bfd", kind + "-handshake", up.script.bytes);
    // Faster intervals once Up: the peer polls, ours answers with a Final.
    up.peer.set_intervals(50000, 50000);
    for (int i = 0; i < 3; ++i) up.exchange(5);
    // Silence past the detection time, then the peer goes AdminDown.
    up.silence(255);
    up.exchange();
    up.peer.set_admin_down(true);
    up.exchange();
    write("bfd", kind + "-poll-timeout-admin-down", up.script.bytes);
  }
  // Replayed and reordered authenticated packets (§ 6.7.4 sequence window).
  BfdPair replay(mult3 | wp::fuzz::kBfdModeAuth);
  for (int i = 0; i < 3; ++i) replay.exchange();
  uint8_t a[wp::kBfdMaxLen], b[wp::kBfdMaxLen];
  size_t na = replay.peer.build(a, replay.now), nb = replay.peer.build(b, replay.now);
  replay.script.record(b, nb, 1);
  replay.script.record(a, na, 1);
  replay.script.record(b, nb, 1);
  write("bfd", "auth-replay", replay.script.bytes);
  // Our session starts AdminDown with DetectMult 1.
  BfdPair admin(wp::fuzz::kBfdModeAdminDown);
  for (int i = 0; i < 3; ++i) admin.exchange();
  write("bfd", "admin-down-mult1", admin.script.bytes);
}

// --- IPFIX messages as the exporter sends them --------------------------------

wp::mgmt::IpfixRecord ipfix_record(uint8_t id, std::string_view tenant = "branch") {
  wp::mgmt::IpfixRecord r;
  r.start_ms = 1700000000000 + id;
  r.end_ms = r.start_ms + 500;
  r.pre = {0x0a01000a, 0x0a02000a, static_cast<uint16_t>(40000 + id), 80, wp::kProtoTcp};
  r.post = {0xac100001, 0xac100002, 16400, 16401, wp::kProtoTcp};
  r.initiator_octets = 1000 + id;
  r.responder_octets = 1048576;
  r.initiator_packets = 10;
  r.responder_packets = 700;
  r.nat_event = id % 2 ? wp::mgmt::kNatEventSessionCreate : wp::mgmt::kNatEventSessionDelete;
  r.end_reason = 3;
  r.ingress_if = 1;
  r.egress_if = 2;
  r.session_id = kUuid;
  r.session_id[15] = id;
  r.set_tenant(tenant);
  r.set_service("web");
  r.app_id = id % 2 ? 7 : 0;  // nDPI's HTTP, or Unknown
  r.set_app(id % 2 ? "HTTP" : "Unknown");
  return r;
}

Bytes ipfix_message(bool with_template, uint32_t records, uint32_t domain = 1, std::string_view tenant = "branch") {
  uint8_t buf[wp::mgmt::kIpfixMaxMessage];
  wp::mgmt::IpfixMessage m;
  m.begin(buf, 1700000001, 42, domain);
  if (with_template) m.add_template();
  for (uint32_t i = 0; i < records && m.add_record(ipfix_record(static_cast<uint8_t>(i), tenant)); ++i) {
  }
  size_t n = m.finish();
  return Bytes(buf, buf + n);
}

// IPv4 and IPv6 sessions in one message: templates 256 to 259, data sets of 256 and 257.
Bytes ipfix_message_ipv6() {
  uint8_t buf[wp::mgmt::kIpfixMaxMessage];
  wp::mgmt::IpfixMessage m;
  m.begin(buf, 1700000001, 42, 1);
  m.add_template();
  m.add_template6();
  for (uint8_t i = 0; i < 3; ++i) {
    wp::mgmt::IpfixRecord r = ipfix_record(i);
    if (i != 1) {
      r.ipv6 = true;
      r.pre_src6 = r.post_src6 = {0x20010db800710000ULL, 0x10};
      r.pre_dst6 = r.post_dst6 = {0x20010db800720000ULL, 0x10};
    }
    m.add_record(r);
  }
  size_t n = m.finish();
  return Bytes(buf, buf + n);
}

// Sessions that SVR carries, one data set per template: an IPv6 session between
// IPv4 waypoints (258) and between IPv6 waypoints (257), an IPv4 session between
// IPv6 waypoints (259) and between IPv4 waypoints (256).
Bytes ipfix_message_waypoint_legs() {
  uint8_t buf[wp::mgmt::kIpfixMaxMessage];
  wp::mgmt::IpfixMessage m;
  m.begin(buf, 1700000001, 42, 1);
  m.add_template();
  m.add_template6();
  const wp::Ipv6 client{0x20010db800710000ULL, 0x10}, server{0x20010db800720000ULL, 0x10};
  const wp::Ipv6 wp1{0x20010db800700000ULL, 1}, wp2{0x20010db800700000ULL, 2};
  for (uint8_t i = 0; i < 4; ++i) {
    wp::mgmt::IpfixRecord r = ipfix_record(i);
    if (i < 2) {  // IPv6 sessions: the IPv6 tuple, then the waypoint leg
      r.ipv6 = true;
      r.pre_src6 = client;
      r.pre_dst6 = server;
      r.post_ipv4 = i == 0;
      r.post_src6 = wp1;
      r.post_dst6 = wp2;
    } else if (i == 2) {  // the IPv4 tuple, the IPv6 waypoint leg
      r.post_ipv6 = true;
      r.post.src = r.post.dst = 0;
      r.post_src6 = wp1;
      r.post_dst6 = wp2;
    }
    m.add_record(r);
  }
  size_t n = m.finish();
  return Bytes(buf, buf + n);
}

// A hand-written message with what our exporter never sends but RFC 7011
// allows: reduced-size integers (§ 6.2), the 3-byte variable length (§ 7),
// an options template set (skipped) and set padding.
Bytes ipfix_other_exporter() {
  Bytes b = {0, 10, 0, 0, 0x65, 0x53, 0xf1, 0x00, 0, 0, 0, 7, 0, 0, 0, 9};
  // Options template set (id 3): skipped by the decoder.
  b.insert(b.end(), {0, 3, 0, 14, 1, 0, 0, 1, 0, 1, 0, 0x95, 0, 4});
  // Template 300: sourceIPv4Address(4), initiatorOctets in 4 bytes,
  // protocolIdentifier(1), tenantName (PEN, variable).
  b.insert(b.end(),
           {0, 2, 0, 28, 1, 0x2c, 0, 4, 0, 8, 0, 4, 0, 231, 0, 4, 0, 4, 0, 1, 0x80, 2, 0xff, 0xff, 0, 0, 0x7e, 0xd9});
  // Data set 300: one record, tenant in the 3-byte length form, padding.
  b.insert(b.end(), {1, 0x2c, 0, 24, 10, 1, 0, 10, 0, 0, 0x10, 0, 17, 0xff, 0, 6, 'b', 'r', 'a', 'n', 'c', 'h', 0, 0});
  b[2] = static_cast<uint8_t>(b.size() >> 8);
  b[3] = static_cast<uint8_t>(b.size());
  return b;
}

void ipfix_seeds() {
  write("ipfix", "template-and-records", ipfix_message(true, 2));
  write("ipfix", "template-only", ipfix_message(true, 0));
  write("ipfix", "full-message", ipfix_message(true, 100));
  write("ipfix", "long-names", ipfix_message(true, 2, 1, std::string(80, 't')));
  // A collector that starts late: data first, then the template refresh, then data.
  Bytes late = ipfix_message(false, 2);
  for (const Bytes& m : {ipfix_message(true, 0), ipfix_message(false, 3)}) late.insert(late.end(), m.begin(), m.end());
  write("ipfix", "data-before-template", late);
  // Templates are per observation domain: domain 2's data stays unknown.
  Bytes domains = ipfix_message(true, 1, 1);
  Bytes other = ipfix_message(false, 1, 2);
  domains.insert(domains.end(), other.begin(), other.end());
  write("ipfix", "two-domains", domains);
  write("ipfix", "other-exporter", ipfix_other_exporter());
  write("ipfix", "ipv6-and-ipv4", ipfix_message_ipv6());
  write("ipfix", "waypoint-legs", ipfix_message_waypoint_legs());
}

// --- HA sync messages as HaNode / SyncBatcher send them -------------------------

struct HaSeeds {
  std::shared_ptr<const wp::RouterModel> rm;
  HaSeeds() {
    wp::mgmt::ConfigResult r = wp::mgmt::load_config_text(wp::fuzz::kHaConfig);
    wp::HmacEngine hmac;
    std::string error;
    if (r.ok()) rm = wp::RouterModel::build(r.config, nullptr, nullptr, hmac, error);
    if (!rm) std::fprintf(stderr, "HA model: %s%s\n", r.error_text().c_str(), error.c_str());
  }
  // A session on r2 (egress): side A is the WAN leg from `peer` on wan `iface`,
  // side B the LAN toward the server.
  wp::Session session(uint8_t n, int16_t tenant, int16_t service, int8_t peer, uint8_t proto) const {
    wp::Session s;
    s.uuid = kUuid;
    s.uuid[15] = n;
    s.original = {0x0a01000au + n, 0x0a02000a, static_cast<uint16_t>(40000 + n),
                  static_cast<uint16_t>(proto == wp::kProtoTcp ? 80 : 53), proto};
    const wp::Ipv4 ours = peer == 0 ? 0xac100002 : 0xac110002, theirs = peer == 0 ? 0xac100001 : 0xac110003;
    s.out_rev = {{ours, theirs, static_cast<uint16_t>(16401 + 2 * n), static_cast<uint16_t>(16400 + 2 * n), proto},
                 theirs,
                 static_cast<int8_t>(1 + peer),
                 peer};
    s.out_fwd = {s.original, 0x0a02000a, 0, -1};
    s.tenant = tenant;
    s.service = service;
    s.security = rm->policy(tenant, service) >= 0 ? static_cast<int16_t>(rm->policy(tenant, service)) : -1;
    s.flags = wp::kReverseSeen | wp::kEstablished | wp::kFwdMdAcked;
    s.created_ms = 6000 + n;
    s.last_ms = 9000 + n;
    s.packets[0] = 10 + n;
    s.packets[1] = 7;
    s.bytes[0] = 1000;
    s.bytes[1] = 65536;
    s.migrations = n % 3;
    s.in_use = 1;
    return s;
  }
  waypoint::ha::HaMessage message(uint64_t seq) const {
    waypoint::ha::HaMessage m;
    m.set_protocol(wp::ha::kHaProtocol);
    m.set_node_id(1);
    m.set_incarnation(1700000000000);
    m.set_seq(seq);
    m.set_oldest_event_ms(1700000000500);
    return m;
  }
  void add(google::protobuf::RepeatedPtrField<waypoint::ha::SessionOp>* ops, const wp::Session& s,
           bool remove = false) const {
    waypoint::ha::SessionOp* op = ops->Add();
    op->set_kind(remove ? waypoint::ha::SessionOp::DELETE : waypoint::ha::SessionOp::UPSERT);
    wp::ha::encode_session(s, *rm, wp::fuzz::kHaClock, 1, *op->mutable_session());
  }
  static Bytes bytes(const waypoint::ha::HaMessage& m) {
    std::string s = m.SerializeAsString();
    return Bytes(s.begin(), s.end());
  }
  void write_all() const {
    if (!rm) return;
    const int16_t branch = 0, guests = 1, web = 0, dns = 1, closed = 2;
    wp::Session web1 = session(1, branch, web, 0, wp::kProtoTcp);
    wp::Session dns2 = session(2, guests, dns, 0, wp::kProtoUdp);
    wp::Session web3 = session(3, branch, web, 1, wp::kProtoTcp);  // via r3 on wan1, migrated
    wp::Session denied = session(4, branch, closed, 0, wp::kProtoTcp);
    denied.original.dport = denied.out_fwd.tuple.dport = 22;

    waypoint::ha::HaMessage m = message(1);
    add(m.mutable_batch()->mutable_ops(), web1);
    add(m.mutable_batch()->mutable_ops(), dns2);
    write("ha_session", "batch", bytes(m));

    m = message(2);
    waypoint::ha::ResyncChunk* c = m.mutable_resync_chunk();
    c->set_resync_id(77);
    c->set_chunk_seq(0);
    for (const wp::Session* s : {&web1, &dns2, &web3, &denied}) add(c->mutable_ops(), *s);
    write("ha_session", "resync-chunk", bytes(m));

    m = message(3);
    add(m.mutable_batch()->mutable_ops(), web1, true);
    write("ha_session", "delete", bytes(m));

    // What this node must refuse: a tenant it does not have, a leg toward a
    // peer it does not know.
    m = message(4);
    add(m.mutable_batch()->mutable_ops(), web3);
    m.mutable_batch()->mutable_ops(0)->mutable_session()->set_tenant("nobody");
    add(m.mutable_batch()->mutable_ops(), web1);
    m.mutable_batch()->mutable_ops(1)->mutable_session()->mutable_out_rev()->set_peer("r9");
    write("ha_session", "rejected", bytes(m));

    // #17: the same sessions as packed records (what protocol 2 senders use).
    auto pack = [&](std::initializer_list<const wp::Session*> list, waypoint::ha::PackedOps* out) {
      wp::ha::PackedOpsWriter w;
      bool remove = false;
      for (const wp::Session* s : list) {
        w.add(remove ? wp::ha::PackedKind::remove : wp::ha::PackedKind::upsert, *s, *rm, wp::fuzz::kHaClock);
        remove = !remove;
      }
      w.write_to(*out);
    };
    m = message(6);
    pack({&web1, &dns2, &web3}, m.mutable_batch()->mutable_packed());
    write("ha_session", "packed-batch", bytes(m));
    m = message(7);
    m.mutable_resync_chunk()->set_resync_id(78);
    pack({&web1, &dns2, &web3, &denied}, m.mutable_resync_chunk()->mutable_packed());
    write("ha_session", "packed-chunk", bytes(m));

    // #19: routed IPv6 sessions as packed6 records (tenant v6 -> srv6): an upsert, a
    // copy carried for the peer (home 1) and a delete.
    {
      wp::Session6 v6;
      v6.original = {*wp::parse_ipv6("2001:db8:71::5"), *wp::parse_ipv6("2001:db8:72::10"), 41000, 80, wp::kProtoTcp};
      for (int i = 0; i < 16; ++i) v6.uuid[i] = static_cast<uint8_t>(0x60 + i);
      v6.tenant = static_cast<int16_t>(rm->tenant_by_name("v6"));
      v6.service = static_cast<int16_t>(rm->service_by_name("srv6"));
      v6.flags = wp::kReverseSeen;
      v6.created_ms = 4000;
      v6.last_ms = 4900;
      v6.packets[0] = 3;
      v6.bytes[1] = 4096;
      wp::Session6 carried = v6;
      carried.uuid[15] = 0x7f;
      carried.original.sport = 41001;
      carried.flags |= wp::kPeer6Copy;
      wp::ha::Packed6Writer w6;
      w6.add(wp::ha::PackedKind::upsert, v6, *rm, wp::fuzz::kHaClock);
      w6.add(wp::ha::PackedKind::upsert, carried, *rm, wp::fuzz::kHaClock);
      w6.add(wp::ha::PackedKind::remove, v6, *rm, wp::fuzz::kHaClock);
      m = message(8);
      w6.write_to(*m.mutable_batch()->mutable_packed6());
      write("ha_session", "packed6-batch", bytes(m));
    }

    // Sessions with a leg through the IPsec tunnel ipsec0 (docs/ipsec.md § HA): one the
    // site opened (side A the tunnel), one routed into it (side B), both encodings.
    wp::Session from_site = web1;
    from_site.uuid[15] = 20;
    from_site.original = {0x0a320007, 0x0a02000a, 41000, 80, wp::kProtoTcp};
    from_site.out_rev = {from_site.original.reversed(), 0, static_cast<int8_t>(wp::kIfaceTunnel), -1};
    from_site.out_fwd = {from_site.original, 0x0a02000a, 0, -1};
    wp::Session to_site = from_site;
    to_site.uuid[15] = 21;
    to_site.original = {0x0a010005, 0x0a320007, 41001, 80, wp::kProtoTcp};
    to_site.out_rev = {to_site.original.reversed(), 0x0a010005, 0, -1};
    to_site.out_fwd = {to_site.original, 0, static_cast<int8_t>(wp::kIfaceTunnel), -1};
    m = message(8);
    add(m.mutable_batch()->mutable_ops(), from_site);
    add(m.mutable_batch()->mutable_ops(), to_site);
    write("ha_session", "tunnel-batch", bytes(m));
    m = message(9);
    pack({&from_site, &web1, &to_site}, m.mutable_batch()->mutable_packed());
    write("ha_session", "packed-tunnel-batch", bytes(m));

    m = message(5);
    m.mutable_resync_done()->set_resync_id(77);
    m.mutable_resync_done()->set_chunks(1);
    m.mutable_resync_done()->set_sessions(4);
    write("ha_session", "resync-done", bytes(m));
  }
};

// --- config files as REST JSON ------------------------------------------------

void rest_json_seeds(int argc, char** argv) {
  google::protobuf::util::JsonPrintOptions o;
  o.add_whitespace = true;
  o.preserve_proto_field_names = true;
  for (int i = 0; i < argc; ++i) {
    wp::mgmt::ConfigResult r = wp::mgmt::load_config_file(argv[i]);
    std::string json;
    if (!google::protobuf::util::MessageToJsonString(r.config, &json, o).ok() || json.size() <= 4) continue;
    // Named after the file and its folder: examples/r1.yaml and tests/data/config/r1.yaml differ.
    const fs::path p(argv[i]);
    write("rest_config", p.parent_path().filename().string() + "-" + p.stem().string() + ".json",
          Bytes(json.begin(), json.end()));
  }
}

}  // namespace

// --- FPM streams as zebra's dplane_fpm_nl writes them (fuzz_fpm) -----------

void fpm_seeds() {
  using wp::fpm::FpmWriter;
  const wp::Ipv4Prefix p16{0x0ac80000, 16}, p24{0x0ac80900, 24}, deflt{0, 0};
  const uint8_t bgp = 186, ospf = 188, zstatic = 196;
  FpmWriter w;
  w.route(true, p16, bgp, {{0x0a020009, 3, 1}});
  write("fpm", "single", w.bytes());
  w.clear();
  w.route(true, deflt, ospf, {{0x0a020001, 3, 1}, {0x0a020002, 3, 2}, {0, 3, 1}}).route(false, p16, bgp, {});
  write("fpm", "multipath-withdraw", w.bytes());
  w.clear();
  w.nexthop(true, 1, {0x0a020001, 3, 1}).nexthop(true, 2, {0x0a020002, 0, 1}).nexthop(true, 3, {}, {1, 2});
  w.route(true, p16, bgp, {}, 3).nexthop(false, 2, {});
  write("fpm", "nexthop-groups", w.bytes());
  w.clear();
  w.route(true, p24, zstatic, {}, 0, 6).route(true, p16, bgp, {{0x0a020001, 0, 1}}, 0, 1, 10);
  w.route(true, p16, bgp, {{0xc6336401, 0, 1}});
  write("fpm", "blackhole-table-replay", w.bytes());
  // IPv6 (AF_INET6): a link-local gateway with its OIF, ECMP, an AF_INET6
  // next-hop object in a group, zebra's fe80::/64, a withdrawal.
  w.clear();
  const wp::Ipv6Prefix p48{{0x20010db802000000, 0}, 48}, ll64{{0xfe80000000000000, 0}, 64};
  wp::fpm::FpmNextHop a{0, 3, 1}, b{0, 3, 1}, g{0, 0, 1};
  a.gateway6 = {0xfe80000000000000, 0x10};
  b.gateway6 = {0xfe80000000000000, 0x11};
  g.gateway6 = {0x20010db800020000, 0x10};
  w.route6(true, p48, bgp, {a}).route6(true, {{0x20010db803000000, 0}, 40}, bgp, {a, b});
  w.nexthop(true, 4, a).nexthop(true, 5, g).nexthop(true, 6, {}, {4, 5}).route6(true, {{0, 0}, 0}, bgp, {}, 6);
  w.route6(true, ll64, 2, {{0, 3, 1}}).route6(false, p48, bgp, {});
  write("fpm", "ipv6-linklocal-ecmp-nexthops", w.bytes());
}

// --- IKEv2 messages from our encoder (fuzz_ike; the wire capture is committed) --

void ike_seeds() {
  using namespace wp::ike;
  Message m;
  m.header.spi_i = 0x0102030405060708ull;
  m.header.spi_r = 0x1112131415161718ull;
  m.header.exchange = Exchange::create_child_sa;
  m.header.flags = kFlagInitiator;
  m.header.message_id = 2;
  const Proposal esp{1, Protocol::esp, {0xc0, 1, 2, 3}, {{TransformType::encr, 20, 256}, {TransformType::esn, 0, 0}}};
  const TrafficSelector any{kTsIpv4Range, 0, 0, 65535, {0, 0, 0, 0}, {255, 255, 255, 255}};
  const TrafficSelector v6{kTsIpv6Range, 6, 443, 443, Bytes(16, 0x20), Bytes(16, 0x2f)};
  m.payloads = {{PayloadType::sa, false, SaPayload{{esp}}},
                {PayloadType::nonce, false, NoncePayload{Bytes(32, 0xab)}},
                {PayloadType::ke, false, KePayload{19, Bytes(64, 0x42)}},
                {PayloadType::tsi, false, TsPayload{{any}}},
                {PayloadType::tsr, false, TsPayload{{any, v6}}},
                {PayloadType::notify, false, NotifyPayload{Protocol::esp, {1, 2, 3, 4}, 16393, {}}},
                {PayloadType::idi, false, IdPayload{2, {'s', 'i', 't', 'e'}}},
                {PayloadType::auth, false, AuthPayload{2, Bytes(32, 0x11)}},
                {PayloadType::cert, false, CertPayload{4, Bytes(64, 0x30)}},
                {PayloadType::certreq, false, CertPayload{4, {}}}};
  write("ike", "create-child-sa-plain", encode_message(m));
  PayloadType first;
  const Bytes inner = encode_payload_chain(m.payloads, first);
  Message auth;
  auth.header = m.header;
  auth.header.exchange = Exchange::ike_auth;
  auth.header.message_id = 1;
  Bytes body(16, 0x77);  // IV, then the chain as if it were the ciphertext, then a 16-byte ICV
  body.insert(body.end(), inner.begin(), inner.end());
  body.resize(body.size() + 16, 0x99);
  auth.payloads = {{PayloadType::sk, false, SkPayload{first, body}}};
  write("ike", "ike-auth-sk", encode_message(auth));
  Message del;
  del.header = m.header;
  del.header.exchange = Exchange::informational;
  del.header.flags = kFlagResponse;
  del.payloads = {{PayloadType::del, false, DeletePayload{Protocol::esp, 4, {{1, 2, 3, 4}, {5, 6, 7, 8}}}},
                  {PayloadType::del, false, DeletePayload{Protocol::ike, 0, {}}}};
  write("ike", "informational-delete", encode_message(del));
}

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s OUT_DIR [CONFIG_FILE...]\n", argv[0]);
    return 2;
  }
  g_out = argv[1];
  metadata_seeds();
  bfd_seeds();
  fpm_seeds();
  ike_seeds();
  ipfix_seeds();
  HaSeeds().write_all();
  rest_json_seeds(argc - 2, argv + 2);
  return 0;
}
