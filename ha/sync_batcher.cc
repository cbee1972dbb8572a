// Batching and resync chunk accounting; see sync_batcher.h.
#include "ha/sync_batcher.h"

#include <lz4.h>

#include <algorithm>

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <google/protobuf/wire_format_lite.h>

namespace wp::ha {

std::string MessageStamp::finish(pb::HaMessage& m) {
  m.set_protocol(kHaProtocol);
  m.set_node_id(node_id_);
  m.set_incarnation(incarnation_);
  m.set_seq(++seq_);
  return m.SerializeAsString();
}

namespace {

// The message, a copy of its packed records and its names fit in the first block.
size_t first_block_bytes(const SessionBatcher::Limits& l) { return std::max<size_t>(64 * 1024, l.max_bytes * 5 / 4 + 16 * 1024); }

google::protobuf::ArenaOptions arena_options(char* block, size_t size) {
  google::protobuf::ArenaOptions o;
  o.initial_block = block;
  o.initial_block_size = size;
  o.start_block_size = 64 * 1024;
  return o;
}

using google::protobuf::internal::WireFormatLite;

void set_header_field(int field, uint64_t v, MessageHeader& out) {
  switch (field) {
    case pb::HaMessage::kProtocolFieldNumber: out.protocol = static_cast<uint32_t>(v); break;
    case pb::HaMessage::kNodeIdFieldNumber: out.node_id = static_cast<uint32_t>(v); break;
    case pb::HaMessage::kIncarnationFieldNumber: out.incarnation = v; break;
    case pb::HaMessage::kSeqFieldNumber: out.seq = v; break;
    case pb::HaMessage::kOldestEventMsFieldNumber: out.oldest_event_ms = v; break;
    case pb::HaMessage::kEpochFieldNumber: out.epoch = v; break;
    default: break;  // a field this version does not know
  }
}

}  // namespace

bool peek_header(const void* data, size_t len, MessageHeader& out) {
  out = MessageHeader{};
  google::protobuf::io::CodedInputStream in(static_cast<const uint8_t*>(data), static_cast<int>(len));
  while (uint32_t tag = in.ReadTag()) {
    const int field = WireFormatLite::GetTagFieldNumber(tag);
    if (field < pb::HaMessage::kBatchFieldNumber && WireFormatLite::GetTagWireType(tag) == WireFormatLite::WIRETYPE_VARINT) {
      uint64_t v = 0;
      if (!in.ReadVarint64(&v)) return false;
      set_header_field(field, v, out);
      continue;
    }
    if (field >= pb::HaMessage::kBatchFieldNumber) out.body = static_cast<uint32_t>(field);
    if (!WireFormatLite::SkipField(&in, tag)) return false;  // the body: skipped, not decoded
  }
  return in.ConsumedEntireMessage();
}

bool compress_body(pb::HaMessage& m, BodyCodec& codec) {
  if (!m.has_batch() && !m.has_resync_chunk()) return false;
  const google::protobuf::MessageLite& body =
      m.has_batch() ? static_cast<const google::protobuf::MessageLite&>(m.batch()) : m.resync_chunk();
  const int field = m.has_batch() ? pb::HaMessage::kBatchFieldNumber : pb::HaMessage::kResyncChunkFieldNumber;
  const size_t body_size = body.ByteSizeLong();
  if (body_size < kMinCompressed || body_size + 16 > kMaxInflated) return false;
  codec.raw.clear();
  {  // the body alone, as a field of an HaMessage: tag, length, message
    google::protobuf::io::StringOutputStream sos(&codec.raw);
    google::protobuf::io::CodedOutputStream out(&sos);
    out.WriteTag(WireFormatLite::MakeTag(field, WireFormatLite::WIRETYPE_LENGTH_DELIMITED));
    out.WriteVarint32(static_cast<uint32_t>(body_size));
    body.SerializeWithCachedSizes(&out);
    if (out.HadError()) return false;
  }
  const int bound = LZ4_compressBound(static_cast<int>(codec.raw.size()));
  if (codec.lz4.size() < static_cast<size_t>(bound)) codec.lz4.resize(static_cast<size_t>(bound));
  const int n = LZ4_compress_default(codec.raw.data(), codec.lz4.data(), static_cast<int>(codec.raw.size()), bound);
  if (n <= 0 || static_cast<size_t>(n) + 8 >= codec.raw.size()) return false;
  pb::Compressed* c = m.mutable_compressed();  // the oneof: drops the batch or chunk
  c->set_raw_size(static_cast<uint32_t>(codec.raw.size()));
  c->set_lz4(codec.lz4.data(), static_cast<size_t>(n));
  return true;
}

bool expand_body(pb::HaMessage& m, BodyCodec& codec) {
  if (!m.has_compressed()) return true;
  const pb::Compressed& c = m.compressed();
  if (c.raw_size() == 0 || c.raw_size() > kMaxInflated || c.lz4().size() > static_cast<size_t>(LZ4_compressBound(static_cast<int>(kMaxInflated))))
    return false;
  codec.raw.resize(c.raw_size());
  const int n = LZ4_decompress_safe(c.lz4().data(), codec.raw.data(), static_cast<int>(c.lz4().size()),
                                    static_cast<int>(codec.raw.size()));
  if (n < 0 || static_cast<uint32_t>(n) != c.raw_size()) return false;
  const uint32_t protocol = m.protocol(), node = m.node_id();
  const uint64_t incarnation = m.incarnation(), seq = m.seq(), epoch = m.epoch(), oldest = m.oldest_event_ms();
  m.clear_compressed();
  google::protobuf::io::CodedInputStream in(reinterpret_cast<const uint8_t*>(codec.raw.data()), n);
  if (!m.MergeFromCodedStream(&in) || !in.ConsumedEntireMessage()) return false;
  return (m.has_batch() || m.has_resync_chunk()) && m.protocol() == protocol && m.node_id() == node &&
         m.incarnation() == incarnation && m.seq() == seq && m.epoch() == epoch && m.oldest_event_ms() == oldest;
}

SessionBatcher::SessionBatcher(Limits l)
    : limits_(l),
      first_block_(new char[first_block_bytes(l)]),
      arena_(arena_options(first_block_.get(), first_block_bytes(l))) {}

pb::HaMessage& SessionBatcher::message() {
  if (!msg_) msg_ = google::protobuf::Arena::CreateMessage<pb::HaMessage>(&arena_);
  return *msg_;
}

void SessionBatcher::note_event(uint64_t event_epoch_ms) {
  if (size_ == 0 || event_epoch_ms < oldest_ms_) oldest_ms_ = event_epoch_ms;
}

void SessionBatcher::add(PackedKind kind, uint64_t event_epoch_ms, const Session& s, const RouterModel& rm,
                         const DataplaneClock& clock) {
  note_event(event_epoch_ms);
  packed_.add(kind, s, rm, clock);
  ++size_;
}

void SessionBatcher::add(PackedKind kind, uint64_t event_epoch_ms, const Session6& s, const RouterModel& rm,
                         const DataplaneClock& clock) {
  note_event(event_epoch_ms);
  packed6_.add(kind, s, rm, clock);
  ++size_;
}

void SessionBatcher::add(PackedKind kind, uint64_t event_epoch_ms, const Session6& s6, Svr6Role role,
                         const Session& carrier, const RouterModel& rm, const DataplaneClock& clock) {
  note_event(event_epoch_ms);
  write_svr6_tail(packed_svr6_.add(kind, carrier, rm, clock), s6, role);
  ++size_;
}

pb::SessionOp* SessionBatcher::add(pb::SessionOp::Kind kind, uint64_t event_epoch_ms) {
  note_event(event_epoch_ms);
  pb::SessionOp* op = message().mutable_batch()->add_ops();
  op->set_kind(kind);
  ++size_;
  return op;
}

void SessionBatcher::reset() {
  msg_ = nullptr;
  arena_.Reset();
  packed_.clear();
  packed6_.clear();
  packed_svr6_.clear();
  size_ = 0;
  bytes_ = 0;
  oldest_ms_ = 0;
}

pb::HaMessage& SessionBatcher::take_batch() {
  pb::HaMessage& m = message();
  m.set_oldest_event_ms(oldest_ms_);
  pb::SessionBatch* b = m.mutable_batch();
  if (packed_.size()) packed_.write_to(*b->mutable_packed());
  if (packed6_.size()) packed6_.write_to(*b->mutable_packed6());
  if (packed_svr6_.size()) packed_svr6_.write_to(*b->mutable_packed_svr6());
  return m;
}

pb::HaMessage& SessionBatcher::take_chunk(uint64_t resync_id, uint32_t chunk_seq) {
  pb::HaMessage& m = message();
  m.set_oldest_event_ms(oldest_ms_);
  auto* c = google::protobuf::Arena::CreateMessage<pb::ResyncChunk>(&arena_);
  c->set_resync_id(resync_id);
  c->set_chunk_seq(chunk_seq);
  c->mutable_ops()->Swap(m.mutable_batch()->mutable_ops());  // same arena: pointers only
  if (packed_.size()) packed_.write_to(*c->mutable_packed());
  if (packed6_.size()) packed6_.write_to(*c->mutable_packed6());
  if (packed_svr6_.size()) packed_svr6_.write_to(*c->mutable_packed_svr6());
  m.set_allocated_resync_chunk(c);
  return m;
}

void ResyncTracker::begin(uint64_t resync_id) {
  active_ = true;
  broken_ = false;
  id_ = resync_id;
  next_seq_ = 0;
  sessions_ = 0;
}

ResyncTracker::Result ResyncTracker::chunk(uint64_t resync_id, uint32_t chunk_seq, size_t sessions) {
  if (!active_ || resync_id != id_) begin(resync_id);
  if (chunk_seq != next_seq_) {
    broken_ = true;
    return Result::gap;
  }
  ++next_seq_;
  sessions_ += sessions;
  return broken_ ? Result::gap : Result::ok;
}

ResyncTracker::Result ResyncTracker::done(uint64_t resync_id, uint32_t chunks, uint64_t sessions) {
  if (!active_ || resync_id != id_) {
    if (chunks != 0) return Result::unexpected;  // chunks of this resync never arrived
    begin(resync_id);
  }
  active_ = false;
  if (broken_ || chunks != next_seq_ || sessions != sessions_) return Result::gap;
  return Result::ok;
}

}  // namespace wp::ha
