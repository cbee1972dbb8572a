// libFuzzer target for the HA session codecs (session_codec.h and #17's
// packed records, packed_ops.h), fed the way HaNode::on_message gets it: one
// protobuf HaMessage off the CPG group.
//
// The peer node is trusted to be the peer, not to be correct: a record must
// either become a Session this node can forward (names configured here,
// complete tuples, routes of the right kind, policy allowing it) or be
// refused with a reason. Every session op of a batch or resync chunk goes
// through decode_session against a fixed router model (fuzz_shared.h: r2
// of the demo with a second path). What decodes is encoded again and decoded again: the
// second session must equal the first and encode to the same bytes (packed
// records: the same for a record re-packed on its own; #19's IPv6 packed6
// records likewise). The
// model is built once and never changes, so inputs do not influence each
// other.
#include <google/protobuf/stubs/logging.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>

#include "ha/packed_ops.h"
#include "ha/packed_ops6.h"
#include "ha/session_codec.h"
#include "mgmt/config_load.h"
#include "tests/fuzz/fuzz_shared.h"

namespace {

void check(bool ok) {
  if (!ok) __builtin_trap();
}

const wp::RouterModel& model() {
  static const std::shared_ptr<const wp::RouterModel> m = [] {
    wp::mgmt::ConfigResult r = wp::mgmt::load_config_text(wp::fuzz::kHaConfig);
    check(r.ok());
    wp::HmacEngine hmac;
    std::string error;
    auto built = wp::RouterModel::build(r.config, nullptr, nullptr, hmac, error);
    check(built != nullptr);
    return built;
  }();
  return *m;
}

using wp::fuzz::kHaClock;

bool same_side(const wp::SideOut& a, const wp::SideOut& b) {
  return a.tuple == b.tuple && a.next_hop == b.next_hop && a.iface == b.iface && a.peer == b.peer;
}

bool same_session(const wp::Session& t, const wp::Session& s) {
  return t.uuid == s.uuid && t.original == s.original && same_side(t.out_fwd, s.out_fwd) &&
         same_side(t.out_rev, s.out_rev) && t.tenant == s.tenant && t.service == s.service &&
         t.security == s.security && t.flags == s.flags && t.created_ms == s.created_ms && t.last_ms == s.last_ms &&
         t.packets[0] == s.packets[0] && t.packets[1] == s.packets[1] && t.bytes[0] == s.bytes[0] &&
         t.bytes[1] == s.bytes[1] && t.migrations == s.migrations && t.app == s.app && t.app_slot == s.app_slot &&
         t.out_fwd.key_version == s.out_fwd.key_version && t.out_rev.key_version == s.out_rev.key_version;
}

// Every record of a packed body: refused with a reason, or a session that
// re-packs alone into a body that decodes to the same session and the same bytes.
void decode_packed(const waypoint::ha::PackedOps& packed) {
  const wp::RouterModel& rm = model();
  wp::ha::PackedOpsReader reader;
  std::string error;
  if (!reader.open(packed, error)) {
    check(!error.empty());
    return;
  }
  check(reader.size() * wp::ha::kPackedRecordBytes == packed.records().size());
  for (size_t i = 0; i < reader.size(); ++i) {
    wp::Session s;
    wp::ha::PackedKind kind;
    if (!reader.decode(i, rm, kHaClock, nullptr, kind, s, error)) {
      check(!error.empty());
      continue;
    }
    check(s.in_use && !(s.flags & wp::kPeerSession) && s.tenant >= 0 && s.service >= 0 && s.security >= 0);
    wp::ha::PackedOpsWriter w;
    w.add(kind, s, rm, kHaClock);
    waypoint::ha::PackedOps again;
    w.write_to(again);
    wp::ha::PackedOpsReader r2;
    check(r2.open(again, error) && r2.size() == 1);
    wp::Session t;
    wp::ha::PackedKind kind2;
    check(r2.decode(0, rm, kHaClock, nullptr, kind2, t, error));
    check(kind2 == kind && same_session(t, s));
    wp::ha::PackedOpsWriter w3;
    w3.add(kind2, t, rm, kHaClock);
    waypoint::ha::PackedOps third;
    w3.write_to(third);
    check(third.SerializeAsString() == again.SerializeAsString());
  }
}

// #19: every IPv6 record of a packed6 body: refused with a reason, or a
// session that re-packs alone into the same bytes.
void decode_packed6(const waypoint::ha::PackedOps& packed) {
  const wp::RouterModel& rm = model();
  wp::ha::Packed6Reader reader;
  std::string error;
  if (!reader.open(packed, error)) {
    check(!error.empty());
    return;
  }
  check(reader.size() * wp::ha::kPacked6RecordBytes == packed.records().size());
  for (size_t i = 0; i < reader.size(); ++i) {
    wp::Session6 s;
    wp::ha::PackedKind kind;
    if (!reader.decode(i, rm, kHaClock, kind, s, error)) {
      check(!error.empty());
      continue;
    }
    if (kind == wp::ha::PackedKind::remove) continue;  // only the tuple and the UUID were read
    check(!(s.flags & wp::kPeerSession) && s.tenant >= 0 && s.service >= 0);
    for (uint32_t workers = 1; workers <= 8; ++workers)
      check(wp::owner_of_class(wp::affinity_class6(s.original), workers) < workers);
    wp::ha::Packed6Writer w;
    w.add(kind, s, rm, kHaClock);
    waypoint::ha::PackedOps again;
    w.write_to(again);
    wp::ha::Packed6Reader r2;
    check(r2.open(again, error) && r2.size() == 1);
    wp::Session6 t;
    wp::ha::PackedKind kind2;
    check(r2.decode(0, rm, kHaClock, kind2, t, error));
    // A copy of the sender's session goes back as the receiver's own (the hand-back after a takeover).
    check(((t.flags ^ s.flags) & ~wp::kPeer6Copy) == 0 && ((t.flags ^ s.flags) & wp::kPeer6Copy));
    check(kind2 == kind && t.uuid == s.uuid && t.original == s.original &&
          t.tenant == s.tenant && t.service == s.service && t.created_ms == s.created_ms && t.last_ms == s.last_ms);
  }
}

void decode_op(const waypoint::ha::SessionOp& op) {
  const wp::RouterModel& rm = model();
  wp::Session s;
  std::string error;
  if (!wp::ha::decode_session(op.session(), rm, kHaClock, s, error)) {
    check(!error.empty());
    return;
  }
  check(s.in_use && !(s.flags & wp::kPeerSession) && s.tenant >= 0 && s.service >= 0 && s.security >= 0);
  for (uint32_t workers = 1; workers <= 8; ++workers) check(wp::ha::owner_worker(s, workers) < workers);

  waypoint::ha::SessionRecord again;
  wp::ha::encode_session(s, rm, kHaClock, 2, again);
  wp::Session t;
  check(wp::ha::decode_session(again, rm, kHaClock, t, error));
  check(t.uuid == s.uuid && t.original == s.original && same_side(t.out_fwd, s.out_fwd) &&
        same_side(t.out_rev, s.out_rev) && t.tenant == s.tenant && t.service == s.service && t.security == s.security &&
        t.flags == s.flags && t.created_ms == s.created_ms && t.last_ms == s.last_ms && t.packets[0] == s.packets[0] &&
        t.packets[1] == s.packets[1] && t.bytes[0] == s.bytes[0] && t.bytes[1] == s.bytes[1] &&
        t.migrations == s.migrations);
  waypoint::ha::SessionRecord third;
  wp::ha::encode_session(t, rm, kHaClock, 2, third);
  check(third.SerializeAsString() == again.SerializeAsString());
}

// protobuf logs one error per string field that is not UTF-8 and refuses
// the message; refusing is all that matters here, and at hundreds of
// thousands of inputs the lines would bury the log. Everything else is shown.
void log_all_but_utf8(google::protobuf::LogLevel level, const char* file, int line, const std::string& message) {
  if (level == google::protobuf::LOGLEVEL_ERROR && message.find("invalid UTF-8") != std::string::npos) return;
  std::fprintf(stderr, "[libprotobuf %d %s:%d] %s\n", static_cast<int>(level), file, line, message.c_str());
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  google::protobuf::SetLogHandler(log_all_but_utf8);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  waypoint::ha::HaMessage m;
  if (!m.ParseFromArray(data, static_cast<int>(size)) || m.protocol() != wp::ha::kHaProtocol) return 0;
  if (m.has_batch()) {
    for (const auto& op : m.batch().ops()) decode_op(op);
    if (m.batch().has_packed()) decode_packed(m.batch().packed());
    if (m.batch().has_packed6()) decode_packed6(m.batch().packed6());
  }
  if (m.has_resync_chunk()) {
    for (const auto& op : m.resync_chunk().ops()) decode_op(op);
    if (m.resync_chunk().has_packed()) decode_packed(m.resync_chunk().packed());
    if (m.resync_chunk().has_packed6()) decode_packed6(m.resync_chunk().packed6());
  }
  return 0;
}
