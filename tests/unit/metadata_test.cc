// SVR metadata block encode/decode (docs/svr-wire-format.md § Metadata block): round trips of
// every TLV MetadataWriter emits, the 12/0 false-positive marker, and every
// malformed-length case the decoder must refuse without reading past the
// buffer (each malformed input is decoded from an exact-size heap copy so
// ASan catches any overread).
#include "dataplane/svr/metadata.h"

#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "dataplane/ip/packet.h"

namespace wp {

// Readable statuses in failure messages.
void PrintTo(MetadataStatus s, std::ostream* os) {
  static const char* const kNames[] = {"absent", "ok", "bare", "malformed"};
  *os << kNames[static_cast<int>(s)];
}

namespace {

// Hand-built blocks, so tests can state lengths that MetadataWriter would
// never produce.
class Block {
 public:
  Block& header_tlv(uint16_t type, std::vector<uint8_t> v) { return tlv(header_, type, v, v.size()); }
  Block& payload_tlv(uint16_t type, std::vector<uint8_t> v) { return tlv(payload_, type, v, v.size()); }
  // A TLV whose length field says `claimed` while `v` bytes follow.
  Block& header_tlv_claiming(uint16_t type, uint16_t claimed, std::vector<uint8_t> v) {
    return tlv(header_, type, v, claimed);
  }
  Block& payload_tlv_claiming(uint16_t type, uint16_t claimed, std::vector<uint8_t> v) {
    return tlv(payload_, type, v, claimed);
  }
  Block& header_raw(std::vector<uint8_t> b) {
    header_.insert(header_.end(), b.begin(), b.end());
    return *this;
  }
  Block& payload_raw(std::vector<uint8_t> b) {
    payload_.insert(payload_.end(), b.begin(), b.end());
    return *this;
  }
  Block& version(uint8_t v) {
    version_ = v;
    return *this;
  }
  Block& header_len(uint16_t v) {
    header_len_ = v;
    return *this;
  }
  Block& payload_len(uint16_t v) {
    payload_len_ = v;
    return *this;
  }
  Block& data(std::string_view d) {
    data_.assign(d.begin(), d.end());
    return *this;
  }
  std::vector<uint8_t> bytes() const {
    std::vector<uint8_t> b(kSvrCookieBytes, kSvrCookieBytes + 8);
    uint16_t hl = header_len_ ? *header_len_ : static_cast<uint16_t>(12 + header_.size());
    uint16_t pl = payload_len_ ? *payload_len_ : static_cast<uint16_t>(payload_.size());
    b.push_back(static_cast<uint8_t>(version_ << 4 | (hl >> 8 & 0x0f)));
    b.push_back(static_cast<uint8_t>(hl));
    b.push_back(static_cast<uint8_t>(pl >> 8));
    b.push_back(static_cast<uint8_t>(pl));
    b.insert(b.end(), header_.begin(), header_.end());
    b.insert(b.end(), payload_.begin(), payload_.end());
    b.insert(b.end(), data_.begin(), data_.end());
    return b;
  }

 private:
  static Block& tlv_into(std::vector<uint8_t>& s, uint16_t type, const std::vector<uint8_t>& v, size_t claimed,
                         Block& self) {
    s.push_back(static_cast<uint8_t>(type >> 8));
    s.push_back(static_cast<uint8_t>(type));
    s.push_back(static_cast<uint8_t>(claimed >> 8));
    s.push_back(static_cast<uint8_t>(claimed));
    s.insert(s.end(), v.begin(), v.end());
    return self;
  }
  Block& tlv(std::vector<uint8_t>& s, uint16_t type, const std::vector<uint8_t>& v, size_t claimed) {
    return tlv_into(s, type, v, claimed, *this);
  }
  std::vector<uint8_t> header_, payload_, data_;
  uint8_t version_ = 1;
  std::optional<uint16_t> header_len_, payload_len_;
};

std::vector<uint8_t> str(std::string_view s) { return {s.begin(), s.end()}; }
std::vector<uint8_t> zeros(size_t n) { return std::vector<uint8_t>(n, 0); }

// Decodes from an exact-size heap copy: any read past the end is an ASan error.
MetadataStatus decode(const std::vector<uint8_t>& bytes, Metadata& md) {
  auto copy = std::make_unique<uint8_t[]>(bytes.size() ? bytes.size() : 1);
  if (!bytes.empty()) std::memcpy(copy.get(), bytes.data(), bytes.size());
  MetadataStatus s = decode_metadata(copy.get(), bytes.size(), md);
  // String views point into the copy: take them before it goes away.
  if (s == MetadataStatus::ok)
    md.tenant = md.service = md.source_router = md.destination_router = md.security_policy = {};
  return s;
}
MetadataStatus decode(const std::vector<uint8_t>& bytes) {
  Metadata md;
  return decode(bytes, md);
}

const FiveTuple kFwd{0x0a010005, 0x0a02000a, 40000, 80, 6};
const SessionUuid kUuid = {0x10, 0x32, 0x54, 0x76, 0x98, 0xba, 0x4c, 0xde,
                           0x80, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07};

TEST(MetadataWriter, ForwardBlockRoundTrip) {
  uint8_t buf[kMaxMetadataLen];
  MetadataWriter w(buf, sizeof buf);
  w.fragment({0x01020304, 0x0506, 0x4000, 1500});  // TLV 16 would mean an encrypted payload now
  w.forward_context(kFwd);
  w.uuid(kUuid);
  w.tenant("branch");
  w.service("web");
  w.source_router("r1");
  w.destination_router("r2");
  w.security_policy("hmac-only");
  size_t len = w.finish();
  ASSERT_GT(len, 12u);

  Metadata md;
  ASSERT_EQ(decode_metadata(buf, len, md), MetadataStatus::ok);
  EXPECT_EQ(md.block_len(), len);
  EXPECT_EQ(md.header_len, 12 + 4 + 10);  // TLV 1 is the only header TLV
  EXPECT_TRUE(md.has_fragment);
  EXPECT_EQ(md.fragment.extended_id, 0x01020304u);
  EXPECT_FALSE(md.payload_encrypted);
  EXPECT_TRUE(md.has_forward_context);
  EXPECT_EQ(md.forward_context, kFwd);
  EXPECT_FALSE(md.has_reverse_context);
  EXPECT_TRUE(md.has_uuid);
  EXPECT_EQ(md.uuid, kUuid);
  EXPECT_EQ(md.tenant, "branch");
  EXPECT_EQ(md.service, "web");
  EXPECT_EQ(md.source_router, "r1");
  EXPECT_EQ(md.destination_router, "r2");
  EXPECT_EQ(md.security_policy, "hmac-only");
  EXPECT_FALSE(md.disable_forward_metadata);
  EXPECT_EQ(md.unknown_tlvs, 0);
}

TEST(MetadataWriter, ReverseBlockRoundTrip) {
  uint8_t buf[kMaxMetadataLen];
  MetadataWriter w(buf, sizeof buf);
  w.reverse_context(kFwd.reversed());
  w.uuid(kUuid);
  w.source_router("r2");
  w.disable_forward_metadata();
  size_t len = w.finish();
  ASSERT_GT(len, 12u);
  Metadata md;
  ASSERT_EQ(decode_metadata(buf, len, md), MetadataStatus::ok);
  EXPECT_EQ(md.header_len, 12);
  EXPECT_EQ(size_t{md.payload_len}, len - 12);
  EXPECT_TRUE(md.has_reverse_context);
  EXPECT_EQ(md.reverse_context, kFwd.reversed());
  EXPECT_FALSE(md.has_forward_context);
  EXPECT_EQ(md.uuid, kUuid);
  EXPECT_EQ(md.source_router, "r2");
  EXPECT_TRUE(md.disable_forward_metadata);
  EXPECT_FALSE(md.has_security_id);
}

TEST(MetadataWriter, WireLayoutIsBigEndianPerSvrMd) {
  uint8_t buf[64];
  MetadataWriter w(buf, sizeof buf);
  w.forward_context({0x01020304, 0x05060708, 0x090a, 0x0b0c, 17});
  size_t len = w.finish();
  ASSERT_EQ(len, 12u + 4 + 13);
  const uint8_t expect[] = {0x4c, 0x48, 0xdb, 0xc6, 0xdd, 0xf6, 0x67, 0x0c,  // cookie
                            0x10, 0x0c,                                      // version 1, header length 12
                            0x00, 0x11,                                      // payload length 17
                            0x00, 0x02, 0x00, 0x0d,                          // TLV 2, length 13
                            1,    2,    3,    4,    5,    6,    7,    8,    0x09, 0x0a, 0x0b, 0x0c, 17};
  EXPECT_EQ(0, std::memcmp(buf, expect, sizeof expect));
}

TEST(MetadataWriter, DataAfterBlockIsNotPartOfIt) {
  uint8_t buf[128];
  MetadataWriter w(buf, sizeof buf);
  w.uuid(kUuid);
  size_t len = w.finish();
  std::memcpy(buf + len, "original data", 13);
  Metadata md;
  ASSERT_EQ(decode_metadata(buf, len + 13, md), MetadataStatus::ok);
  EXPECT_EQ(md.block_len(), len);
}

TEST(MetadataWriter, RawTlvInEitherSection) {
  uint8_t buf[128];
  MetadataWriter w(buf, sizeof buf);
  uint8_t frag[10] = {0, 0, 0, 1, 0x12, 0x34, 0x20, 0x00, 0x05, 0xdc};
  w.raw_tlv(Tlv::fragment, frag, sizeof frag, true);
  w.raw_tlv(Tlv::tcp_syn_packet, nullptr, 0, false);
  size_t len = w.finish();
  Metadata md;
  ASSERT_EQ(decode_metadata(buf, len, md), MetadataStatus::ok);
  EXPECT_EQ(md.header_len, 12 + 14);
  EXPECT_EQ(md.payload_len, 4);
}

TEST(MetadataWriter, BareMarkerDecodesAsBare) {
  uint8_t buf[12];
  ASSERT_EQ(MetadataWriter::write_bare(buf, sizeof buf), 12u);
  Metadata md;
  EXPECT_EQ(decode_metadata(buf, sizeof buf, md), MetadataStatus::bare);
  EXPECT_EQ(md.block_len(), 12u);
  // Original data that itself begins with the cookie follows the marker.
  uint8_t pkt[12 + 8];
  std::memcpy(pkt, buf, 12);
  std::memcpy(pkt + 12, kSvrCookieBytes, 8);
  EXPECT_EQ(decode_metadata(pkt, sizeof pkt, md), MetadataStatus::bare);
  EXPECT_EQ(md.block_len(), 12u);
  uint8_t small[11];
  EXPECT_EQ(MetadataWriter::write_bare(small, sizeof small), 0u);
}

TEST(MetadataWriter, NeverEmitsAnEmptyBlock) {
  uint8_t buf[64];
  MetadataWriter w(buf, sizeof buf);
  EXPECT_EQ(w.finish(), 0u) << "a 12/0 block is the false-positive marker, never built by accident";
}

TEST(MetadataWriter, RefusesOverflow) {
  uint8_t buf[40];
  MetadataWriter w(buf, sizeof buf);
  w.uuid(kUuid);            // 20 bytes: fits (12 + 20 = 32)
  w.forward_context(kFwd);  // 17 more: does not fit
  w.source_router("r1");    // ignored after overflow
  EXPECT_EQ(w.finish(), 0u);

  MetadataWriter tiny(buf, 8);
  tiny.disable_forward_metadata();
  EXPECT_EQ(tiny.finish(), 0u);

  MetadataWriter exact(buf, 12 + 20);
  exact.uuid(kUuid);
  EXPECT_EQ(exact.finish(), 32u);
}

TEST(MetadataWriter, RefusesSectionsLongerThanTheirLengthFields) {
  // With a big enough buffer, a payload section over 65535 bytes or a header
  // over 4095 would be written with a wrapped length: finish() must refuse.
  std::vector<uint8_t> big(70000);
  std::vector<uint8_t> value(65535, 'a');
  MetadataWriter w(big.data(), big.size());
  w.raw_tlv(Tlv::application_name, value.data(), 65535, false);
  EXPECT_EQ(w.finish(), 0u);

  MetadataWriter h(big.data(), big.size());
  h.raw_tlv(static_cast<Tlv>(200), value.data(), 4096, true);
  EXPECT_EQ(h.finish(), 0u);

  MetadataWriter fits(big.data(), big.size());
  fits.raw_tlv(Tlv::application_name, value.data(), 65531, false);
  size_t len = fits.finish();
  ASSERT_EQ(len, 12u + 65535);
  Metadata md;
  EXPECT_EQ(decode_metadata(big.data(), len, md), MetadataStatus::ok);
}

TEST(MetadataWriter, RefusesOverlongStringAndHeaderAfterPayload) {
  uint8_t buf[kMaxMetadataLen];
  MetadataWriter w(buf, sizeof buf);
  w.tenant(std::string(256, 't'));
  EXPECT_EQ(w.finish(), 0u);

  MetadataWriter order(buf, sizeof buf);
  order.uuid(kUuid);
  order.security_id(1);  // header TLV after a payload TLV cannot be placed
  EXPECT_EQ(order.finish(), 0u);
}

TEST(MetadataApplication, NameRoundTripsInThePayloadSection) {
  uint8_t buf[kMaxMetadataLen];
  MetadataWriter w(buf, sizeof buf);
  w.uuid(kUuid);
  w.application("BitTorrent");
  size_t len = w.finish();
  ASSERT_GT(len, 12u);
  // Type 35, length 10, the name: right after TLV 6 (4 + 16 bytes) in the payload section.
  EXPECT_EQ(load_be16(buf + 12 + 20), 35);
  EXPECT_EQ(load_be16(buf + 12 + 22), 10);
  Metadata md;
  ASSERT_EQ(decode_metadata(buf, len, md), MetadataStatus::ok);
  EXPECT_EQ(md.application, "BitTorrent");
  EXPECT_EQ(md.unknown_tlvs, 0);
  Metadata none;
  MetadataWriter plain(buf, sizeof buf);
  plain.uuid(kUuid);
  ASSERT_EQ(decode_metadata(buf, plain.finish(), none), MetadataStatus::ok);
  EXPECT_TRUE(none.application.empty());
}

TEST(MetadataApplication, WriterRefusesEmptyAndOverlongNames) {
  uint8_t buf[kMaxMetadataLen];
  MetadataWriter empty(buf, sizeof buf);
  empty.uuid(kUuid);
  empty.application("");
  EXPECT_EQ(empty.finish(), 0u);
  MetadataWriter longest(buf, sizeof buf);
  longest.application(std::string(kMaxApplicationNameLen, 'a'));
  EXPECT_GT(longest.finish(), 0u);
  MetadataWriter too_long(buf, sizeof buf);
  too_long.application(std::string(kMaxApplicationNameLen + 1, 'a'));
  EXPECT_EQ(too_long.finish(), 0u);
}

TEST(MetadataApplication, OutOfBoundsNamesAreIgnoredNotMalformed) {
  Metadata md;
  ASSERT_EQ(decode(Block().payload_tlv(6, zeros(16)).payload_tlv(35, {}).bytes(), md), MetadataStatus::ok);
  EXPECT_TRUE(md.application.empty());
  ASSERT_EQ(decode(Block().payload_tlv(6, zeros(16)).payload_tlv(35, str(std::string(65, 'x'))).bytes(), md),
            MetadataStatus::ok);
  EXPECT_TRUE(md.application.empty());
  // In the header section it is malformed, like every payload type; a cut length too.
  EXPECT_EQ(decode(Block().header_tlv(35, str("SSH")).bytes()), MetadataStatus::malformed);
  EXPECT_EQ(decode(Block().payload_tlv_claiming(35, 9, str("SSH")).bytes()), MetadataStatus::malformed);
}

TEST(MetadataDecode, AbsentWithoutCookie) {
  Metadata md;
  EXPECT_EQ(decode(str("GET / HTTP/1.1\r\n"), md), MetadataStatus::absent);
  EXPECT_EQ(decode(std::vector<uint8_t>{}), MetadataStatus::absent);
  // A cookie prefix shorter than 8 bytes is just data.
  EXPECT_EQ(decode({kSvrCookieBytes, kSvrCookieBytes + 7}), MetadataStatus::absent);
  std::vector<uint8_t> almost(kSvrCookieBytes, kSvrCookieBytes + 8);
  almost[7] ^= 1;
  almost.resize(32);
  EXPECT_EQ(decode(almost), MetadataStatus::absent);
}

TEST(MetadataDecode, UnknownTlvsAreSkippedAndCounted) {
  auto b = Block()
               .header_tlv(200, zeros(3))
               .payload_tlv(6, std::vector<uint8_t>(kUuid.begin(), kUuid.end()))
               .payload_tlv(49, str("private"))
               .payload_tlv(999, zeros(0))
               .bytes();
  Metadata md;
  ASSERT_EQ(decode_metadata(b.data(), b.size(), md), MetadataStatus::ok);
  EXPECT_EQ(md.unknown_tlvs, 3);
  EXPECT_EQ(md.uuid, kUuid);
}

TEST(MetadataDecode, KnownTlvsWeDoNotActOnAreAccepted) {
  auto b = Block()
               .header_tlv(1, zeros(10))   // fragment
               .header_tlv(24, {1})        // control message: keep-alive
               .header_tlv(26, zeros(10))  // path metrics
               .payload_tlv(8, zeros(4))   // global interface id
               .payload_tlv(13, zeros(8))  // sessions in service
               .payload_tlv(19, str("wan0-mpls"))
               .payload_tlv(25, zeros(4))
               .payload_tlv(28, zeros(2))
               .payload_tlv(35, str("web"))
               .payload_tlv(42, zeros(4))
               .payload_tlv(11, {})
               .bytes();
  Metadata md;
  ASSERT_EQ(decode_metadata(b.data(), b.size(), md), MetadataStatus::ok);
  EXPECT_EQ(md.unknown_tlvs, 0);
  EXPECT_TRUE(md.session_data_encrypted);
}

TEST(MetadataDecode, HeaderOnlyBlockIsNotBare) {
  auto b = Block().header_tlv(16, {0, 0, 0, 7}).bytes();
  Metadata md;
  ASSERT_EQ(decode_metadata(b.data(), b.size(), md), MetadataStatus::ok);
  EXPECT_EQ(md.security_id, 7u);
}

// --- malformed lengths: each must be `malformed`, never a read past the end ---

TEST(MetadataMalformed, BlockShorterThanTwelve) {
  auto full = Block().payload_tlv(18, {}).bytes();
  for (size_t n = 8; n < 12; ++n) {
    std::vector<uint8_t> cut(full.begin(), full.begin() + static_cast<long>(n));
    EXPECT_EQ(decode(cut), MetadataStatus::malformed) << n;
  }
}

TEST(MetadataMalformed, HeaderLengthBelowTwelve) {
  for (uint16_t hl = 0; hl < 12; ++hl)
    EXPECT_EQ(decode(Block().header_len(hl).payload_tlv(18, {}).bytes()), MetadataStatus::malformed) << hl;
}

TEST(MetadataMalformed, LengthsPastTheBuffer) {
  auto good = Block().header_tlv(16, {0, 0, 0, 1}).payload_tlv(6, zeros(16)).bytes();
  ASSERT_EQ(decode(good), MetadataStatus::ok);
  // Every prefix of a valid block is too short for what its header claims.
  for (size_t n = 12; n < good.size(); ++n) {
    std::vector<uint8_t> cut(good.begin(), good.begin() + static_cast<long>(n));
    EXPECT_EQ(decode(cut), MetadataStatus::malformed) << n;
  }
  EXPECT_EQ(decode(Block().header_len(0x0fff).bytes()), MetadataStatus::malformed);
  EXPECT_EQ(decode(Block().payload_len(0xffff).payload_tlv(18, {}).bytes()), MetadataStatus::malformed);
  EXPECT_EQ(decode(Block().payload_len(1).bytes()), MetadataStatus::malformed);  // 12/1, 12 bytes
}

TEST(MetadataMalformed, TlvHeaderCutInHalf) {
  // Header section: 2 stray bytes where a TLV header should be.
  EXPECT_EQ(decode(Block().header_raw({0, 16}).payload_tlv(18, {}).bytes()), MetadataStatus::malformed);
  // Payload section: a complete TLV followed by half a TLV header.
  for (size_t k = 1; k < 4; ++k) {
    auto b = Block().payload_tlv(18, {}).payload_raw(std::vector<uint8_t>{0, 18, 0, 0}).bytes();
    b.resize(b.size() - (4 - k));
    // payload_len still counts the full 8: shrink it to what is really there.
    b[10] = 0;
    b[11] = static_cast<uint8_t>(4 + k);
    EXPECT_EQ(decode(b), MetadataStatus::malformed) << k;
  }
  // Payload section of 1..3 bytes: not even one TLV header.
  EXPECT_EQ(decode(Block().payload_raw({0}).bytes()), MetadataStatus::malformed);
  EXPECT_EQ(decode(Block().payload_raw({0, 2, 0}).bytes()), MetadataStatus::malformed);
}

TEST(MetadataMalformed, TlvLengthRunsPastItsSection) {
  // Header TLV claiming more than the header section holds, though the bytes
  // exist in the payload section behind it.
  EXPECT_EQ(decode(Block().header_tlv_claiming(16, 8, {0, 0, 0, 1}).payload_tlv(6, zeros(16)).bytes()),
            MetadataStatus::malformed);
  // Unknown header type: same rule, skipping must not cross the section.
  EXPECT_EQ(decode(Block().header_tlv_claiming(300, 6, zeros(2)).payload_tlv(6, zeros(16)).bytes()),
            MetadataStatus::malformed);
  // Payload TLV claiming more than the payload section, data bytes behind it.
  EXPECT_EQ(decode(Block().payload_tlv_claiming(7, 20, str("branch")).data("xxxxxxxxxxxxxxxxxxxxxxxx").bytes()),
            MetadataStatus::malformed);
  // Payload TLV claiming more than the whole buffer.
  EXPECT_EQ(decode(Block().payload_tlv_claiming(10, 0xffff, str("web")).bytes()), MetadataStatus::malformed);
  // Section shorter than its single TLV: payload length 6 with a 13-byte context.
  auto b = Block().payload_tlv(2, zeros(13)).bytes();
  b[11] = 6;
  EXPECT_EQ(decode(b), MetadataStatus::malformed);
}

TEST(MetadataMalformed, KnownTlvWithWrongFixedLength) {
  struct Case {
    uint16_t type;
    size_t len;
    bool header;
  };
  const Case cases[] = {
      {6, 15, false}, {6, 17, false}, {2, 12, false}, {2, 14, false}, {4, 12, false}, {3, 13, false},
      {8, 3, false},  {13, 4, false}, {18, 1, false}, {11, 1, false}, {12, 2, false}, {25, 0, false},
      {28, 1, false}, {42, 8, false}, {16, 3, true},  {16, 8, true},  {1, 9, true},   {20, 16, true},
      {21, 4, true},  {24, 0, true},  {24, 2, true},  {26, 11, true}, {46, 4, true},
  };
  for (const auto& c : cases) {
    Block blk;
    if (c.header)
      blk.header_tlv(c.type, zeros(c.len)).payload_tlv(18, {});
    else
      blk.payload_tlv(c.type, zeros(c.len));
    EXPECT_EQ(decode(blk.bytes()), MetadataStatus::malformed) << "type " << c.type << " len " << c.len;
  }
}

TEST(MetadataMalformed, EmptyTenant) {
  EXPECT_EQ(decode(Block().payload_tlv(6, zeros(16)).payload_tlv(7, {}).bytes()), MetadataStatus::malformed);
  // Other names may be empty strings.
  EXPECT_EQ(decode(Block().payload_tlv(6, zeros(16)).payload_tlv(10, {}).bytes()), MetadataStatus::ok);
}

TEST(MetadataMalformed, TlvInTheWrongSection) {
  EXPECT_EQ(decode(Block().header_tlv(6, zeros(16)).payload_tlv(18, {}).bytes()), MetadataStatus::malformed);
  EXPECT_EQ(decode(Block().header_tlv(2, zeros(13)).bytes()), MetadataStatus::malformed);
  EXPECT_EQ(decode(Block().header_tlv(7, str("branch")).bytes()), MetadataStatus::malformed);
  EXPECT_EQ(decode(Block().payload_tlv(18, {}).payload_tlv(16, zeros(4)).bytes()), MetadataStatus::malformed);
  EXPECT_EQ(decode(Block().payload_tlv(18, {}).payload_tlv(24, {1}).bytes()), MetadataStatus::malformed);
}

TEST(MetadataMalformed, VersionOtherThanOne) {
  for (uint8_t v : {0, 2, 3, 15})
    EXPECT_EQ(decode(Block().version(v).payload_tlv(18, {}).bytes()), MetadataStatus::malformed) << int{v};
  // Even a would-be bare marker needs version 1.
  EXPECT_EQ(decode(Block().version(2).bytes()), MetadataStatus::malformed);
}

TEST(MetadataEncrypted, FirstPayloadTypeZeroOrAbove50MeansEncrypted) {
  // An encrypted payload section starts with an IV: first type 0 or > 50
  // (docs/svr-wire-format.md). decoded as encrypted, its TLVs left unread for the caller
  // to open (metadata_crypto.h) or drop.
  for (uint16_t first : {0, 51, 0x8000, 0xffff}) {
    Metadata md;
    auto b = Block().payload_tlv(first, zeros(12)).payload_tlv(18, {}).bytes();
    EXPECT_EQ(decode_metadata(b.data(), b.size(), md), MetadataStatus::ok) << first;
    EXPECT_TRUE(md.payload_encrypted) << first;
    EXPECT_FALSE(md.disable_forward_metadata) << first;
  }
  // A private type > 50 is fine when it does not come first.
  EXPECT_EQ(decode(Block().payload_tlv(18, {}).payload_tlv(51, zeros(2)).bytes()), MetadataStatus::ok);
  EXPECT_EQ(decode(Block().payload_tlv(50, zeros(2)).bytes()), MetadataStatus::ok);
}

TEST(MetadataMalformed, EveryTruncationOfAWriterBlock) {
  uint8_t buf[kMaxMetadataLen];
  MetadataWriter w(buf, sizeof buf);
  w.security_id(3);
  w.forward_context(kFwd);
  w.uuid(kUuid);
  w.tenant("branch");
  w.service("web");
  w.source_router("r1");
  w.destination_router("r2");
  w.security_policy("default");
  size_t len = w.finish();
  ASSERT_GT(len, 0u);
  for (size_t n = 8; n < len; ++n) EXPECT_EQ(decode({buf, buf + n}), MetadataStatus::malformed) << n;
  EXPECT_EQ(decode({buf, buf + len}), MetadataStatus::ok);
}

// Pair-key rotation (crypto/pair_keys.h): TLV 22 lists the sender's
// versions; TLV 16 with its clear bit names the signing version of a block
// whose payload is not encrypted.
TEST(MetadataKeys, KeyVersionsAndAClearSecurityIdRoundTrip) {
  uint8_t buf[kMaxMetadataLen];
  MetadataWriter w(buf, sizeof buf);
  w.key_versions(KeyVersions{2, {1, 2}});
  w.security_id(kClearPayloadBit | 2);
  w.uuid(kUuid);
  w.tenant("branch");
  size_t len = w.finish();
  ASSERT_GT(len, 0u);
  Metadata md;
  ASSERT_EQ(decode_metadata(buf, len, md), MetadataStatus::ok);  // names point into buf
  EXPECT_FALSE(md.payload_encrypted) << "the clear bit: payload TLVs are read";
  EXPECT_TRUE(md.has_uuid);
  EXPECT_EQ(md.tenant, "branch");
  EXPECT_EQ(md.key_version(), 2u);
  ASSERT_TRUE(md.has_key_versions);
  EXPECT_EQ(md.key_versions.n, 2);
  EXPECT_TRUE(md.sender_versions().has(1) && md.sender_versions().has(2));
}

TEST(MetadataKeys, WithoutTheTlvsABlockIsVersionOneFromASenderHoldingOne) {
  Metadata md;
  ASSERT_EQ(decode(Block().payload_tlv(6, zeros(16)).bytes(), md), MetadataStatus::ok);
  EXPECT_EQ(md.key_version(), 1u);
  EXPECT_TRUE(md.sender_versions().only_v1());
  // TLV 16 without the clear bit still means an encrypted payload.
  ASSERT_EQ(decode(Block().header_tlv(16, {0, 0, 0, 3}).payload_tlv(6, zeros(16)).bytes(), md), MetadataStatus::ok);
  EXPECT_TRUE(md.payload_encrypted);
  EXPECT_EQ(md.key_version(), 3u);
}

TEST(MetadataMalformed, KeyVersionsEmptyTooLongOrInThePayload) {
  EXPECT_EQ(decode(Block().header_tlv(22, {}).bytes()), MetadataStatus::malformed);
  EXPECT_EQ(decode(Block().header_tlv(22, zeros(9)).bytes()), MetadataStatus::malformed);
  EXPECT_EQ(decode(Block().payload_tlv(22, {1}).bytes()), MetadataStatus::malformed);
  EXPECT_EQ(decode(Block().header_tlv(22, zeros(8)).payload_tlv(6, zeros(16)).bytes()), MetadataStatus::ok);
}

// TLVs 3 and 5: an IPv6 session's forward and reverse contexts, 37 bytes each.
const FiveTuple6 kFwd6{parse_ipv6("2001:db8:1::5").value(), parse_ipv6("2001:db8:2::10").value(), 40000, 443,
                       kProtoTcp};

TEST(MetadataIpv6, ForwardAndReverseContextsRoundTrip) {
  uint8_t buf[kMaxMetadataLen];
  MetadataWriter w(buf, sizeof buf);
  w.forward_context6(kFwd6);
  w.reverse_context6(kFwd6.reversed());
  w.uuid(kUuid);
  size_t len = w.finish();
  ASSERT_EQ(len, 12u + 2 * (4 + 37) + 4 + 16);
  Metadata md;
  ASSERT_EQ(decode_metadata(buf, len, md), MetadataStatus::ok);
  EXPECT_TRUE(md.has_forward_context6);
  EXPECT_TRUE(md.has_reverse_context6);
  EXPECT_EQ(md.forward_context6, kFwd6);
  EXPECT_EQ(md.reverse_context6, kFwd6.reversed());
  EXPECT_FALSE(md.has_forward_context);  // the IPv4 ones stay absent
  EXPECT_FALSE(md.has_reverse_context);
  EXPECT_EQ(md.unknown_tlvs, 0);
}

TEST(MetadataIpv6, WireLayoutPerSvrMd) {
  uint8_t buf[kMaxMetadataLen];
  MetadataWriter w(buf, sizeof buf);
  w.forward_context6(kFwd6);
  ASSERT_GT(w.finish(), 0u);
  const uint8_t* t = buf + 12;
  EXPECT_EQ(load_be16(t), 3);
  EXPECT_EQ(load_be16(t + 2), 37);
  const uint8_t want[37] = {0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5,
                            0x20, 0x01, 0x0d, 0xb8, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
                            0x9c, 0x40, 0x01, 0xbb, 6};
  EXPECT_EQ(std::memcmp(t + 4, want, 37), 0);
}

TEST(MetadataIpv6, WrongLengthWrongSectionAndMixedVersionsAreMalformed) {
  for (uint16_t type : {3, 5}) {
    EXPECT_EQ(decode(Block().payload_tlv(type, zeros(37)).bytes()), MetadataStatus::ok) << type;
    EXPECT_EQ(decode(Block().payload_tlv(type, zeros(36)).bytes()), MetadataStatus::malformed) << type;
    EXPECT_EQ(decode(Block().payload_tlv(type, zeros(38)).bytes()), MetadataStatus::malformed) << type;
    EXPECT_EQ(decode(Block().payload_tlv(type, zeros(13)).bytes()), MetadataStatus::malformed) << type;
    EXPECT_EQ(decode(Block().header_tlv(type, zeros(37)).bytes()), MetadataStatus::malformed) << type;
    EXPECT_EQ(decode(Block().payload_tlv_claiming(type, 37, zeros(20)).bytes()), MetadataStatus::malformed) << type;
  }
  // One session, one IP version.
  EXPECT_EQ(decode(Block().payload_tlv(2, zeros(13)).payload_tlv(3, zeros(37)).bytes()), MetadataStatus::malformed);
  EXPECT_EQ(decode(Block().payload_tlv(5, zeros(37)).payload_tlv(4, zeros(13)).bytes()), MetadataStatus::malformed);
  // An IPv6 forward context with an IPv4 reverse one is two directions, each of one version: the
  // session layer judges it, the codec does not.
  EXPECT_EQ(decode(Block().payload_tlv(3, zeros(37)).payload_tlv(4, zeros(13)).bytes()), MetadataStatus::ok);
}

TEST(MetadataIpv6, EveryTruncationOfABlockWithContexts) {
  uint8_t buf[kMaxMetadataLen];
  MetadataWriter w(buf, sizeof buf);
  w.forward_context6(kFwd6);
  w.reverse_context6(kFwd6.reversed());
  w.tenant("branch");
  size_t len = w.finish();
  ASSERT_GT(len, 0u);
  for (size_t n = 8; n < len; ++n) EXPECT_EQ(decode({buf, buf + n}), MetadataStatus::malformed) << n;
  EXPECT_EQ(decode({buf, buf + len}), MetadataStatus::ok);
}

TEST(MetadataIpv6, EncryptedPayloadSectionCarriesTheContextsToo) {
  uint8_t buf[kMaxMetadataLen];
  MetadataWriter w(buf, sizeof buf);
  w.forward_context6(kFwd6);
  size_t len = w.finish();
  ASSERT_GT(len, 12u);
  Metadata md;  // what metadata_crypto.h does once it has opened the payload section
  ASSERT_TRUE(decode_payload_tlvs(buf + 12, len - 12, md));
  EXPECT_EQ(md.forward_context6, kFwd6);
  EXPECT_FALSE(decode_payload_tlvs(buf + 12, len - 13, md));
}

}  // namespace
}  // namespace wp
