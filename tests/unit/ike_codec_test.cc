// IKEv2 message codec (dataplane/control/ike/ike_message.h): a real
// strongSwan IKE_SA_INIT decodes field by field and re-encodes byte-exact;
// every payload kind round-trips; every malformed input is refused with its
// own reason and offset.
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "dataplane/control/ike/ike_message.h"
#include "tests/unit/ike_test_data.h"

namespace wp::ike {
namespace {

using test::load_hex;

Bytes strongswan_init() {
  Bytes b = load_hex("strongswan_ike_sa_init.hex");
  EXPECT_EQ(b.size(), 542u) << "tests/data/ike/strongswan_ike_sa_init.hex not found or changed";
  return b;
}

IkeError parse_error(const Bytes& b) {
  Message m;
  return parse_message(b, m).error;
}

// --- a real initiator's first message -------------------------------------------------
TEST(IkeCodec, StrongSwanIkeSaInitDecodesFieldByField) {
  const Bytes b = strongswan_init();
  Message m;
  ParseResult r = parse_message(b, m);
  ASSERT_TRUE(r.ok()) << ike_error_name(r.error) << " at " << r.offset;
  EXPECT_EQ(m.header.exchange, Exchange::ike_sa_init);
  EXPECT_TRUE(m.header.initiator());
  EXPECT_FALSE(m.header.response());
  EXPECT_NE(m.header.spi_i, 0u);
  EXPECT_EQ(m.header.spi_r, 0u);
  EXPECT_EQ(m.header.message_id, 0u);
  EXPECT_EQ(m.header.version, kVersion);

  std::vector<PayloadType> types;
  for (const Payload& p : m.payloads) types.push_back(p.type);
  EXPECT_EQ(types, (std::vector<PayloadType>{PayloadType::sa, PayloadType::ke, PayloadType::nonce,
                                             PayloadType::notify, PayloadType::notify, PayloadType::notify,
                                             PayloadType::notify, PayloadType::notify}));

  const SaPayload* sa = m.get<SaPayload>(PayloadType::sa);
  ASSERT_NE(sa, nullptr);
  ASSERT_EQ(sa->proposals.size(), 3u);
  using T = TransformType;
  // aes256-sha256-modp2048
  EXPECT_EQ(sa->proposals[0].number, 1);
  EXPECT_EQ(sa->proposals[0].protocol, Protocol::ike);
  EXPECT_TRUE(sa->proposals[0].spi.empty());
  EXPECT_EQ(sa->proposals[0].transforms,
            (std::vector<Transform>{{T::encr, 12, 256}, {T::integ, 12, 0}, {T::prf, 5, 0}, {T::dh, 14, 0}}));
  // aes256-sha256-ecp256
  EXPECT_EQ(sa->proposals[1].number, 2);
  EXPECT_EQ(sa->proposals[1].transforms.back(), (Transform{T::dh, 19, 0}));
  // aes256gcm16-prfsha256-ecp256: no integrity transform
  EXPECT_EQ(sa->proposals[2].number, 3);
  EXPECT_EQ(sa->proposals[2].transforms,
            (std::vector<Transform>{{T::encr, 20, 256}, {T::prf, 5, 0}, {T::dh, 19, 0}}));

  const KePayload* ke = m.get<KePayload>(PayloadType::ke);
  ASSERT_NE(ke, nullptr);
  EXPECT_EQ(ke->group, 14);
  EXPECT_EQ(ke->data.size(), 256u);  // MODP-2048 public value
  const NoncePayload* nonce = m.get<NoncePayload>(PayloadType::nonce);
  ASSERT_NE(nonce, nullptr);
  EXPECT_EQ(nonce->data.size(), 32u);
  ASSERT_NE(m.notify(16388), nullptr);  // NAT_DETECTION_SOURCE_IP
  EXPECT_EQ(m.notify(16388)->data.size(), 20u);
  ASSERT_NE(m.notify(16389), nullptr);  // NAT_DETECTION_DESTINATION_IP
  ASSERT_NE(m.notify(16430), nullptr);  // IKEV2_FRAGMENTATION_SUPPORTED
  ASSERT_NE(m.notify(16431), nullptr);  // SIGNATURE_HASH_ALGORITHMS
  EXPECT_EQ(m.notify(16431)->data.size() % 2, 0u);
  ASSERT_NE(m.notify(16406), nullptr);  // REDIRECT_SUPPORTED
  EXPECT_EQ(m.notify(16390), nullptr);
}

TEST(IkeCodec, StrongSwanIkeSaInitReencodesByteExact) {
  const Bytes b = strongswan_init();
  Message m;
  ASSERT_TRUE(parse_message(b, m).ok());
  EXPECT_EQ(encode_message(m), b);
}

// --- every payload kind round-trips ---------------------------------------------------------
Message child_sa_message() {
  Message m;
  m.header.spi_i = 0x0102030405060708ull;
  m.header.spi_r = 0x1112131415161718ull;
  m.header.exchange = Exchange::create_child_sa;
  m.header.flags = kFlagInitiator;
  m.header.message_id = 7;
  Proposal esp{1, Protocol::esp, {0xc0, 0x01, 0x02, 0x03}, {{TransformType::encr, 20, 256}, {TransformType::esn, 1, 0}}};
  Proposal esp2{2, Protocol::esp, {0xc0, 0x01, 0x02, 0x03},
                {{TransformType::encr, 12, 256}, {TransformType::integ, 12, 0}, {TransformType::esn, 0, 0}}};
  TrafficSelector v4{kTsIpv4Range, 0, 0, 65535, {10, 50, 0, 0}, {10, 50, 0, 255}};
  TrafficSelector v6{kTsIpv6Range, 6, 443, 443, Bytes(16, 0x20), Bytes(16, 0x2f)};
  m.payloads = {
      {PayloadType::sa, false, SaPayload{{esp, esp2}}},
      {PayloadType::nonce, false, NoncePayload{Bytes(32, 0xab)}},
      {PayloadType::ke, false, KePayload{19, Bytes(64, 0x42)}},
      {PayloadType::tsi, false, TsPayload{{v4}}},
      {PayloadType::tsr, false, TsPayload{{v4, v6}}},
      {PayloadType::notify, false, NotifyPayload{Protocol::esp, {1, 2, 3, 4}, 16393, {}}},  // REKEY_SA
      {PayloadType::del, false, DeletePayload{Protocol::esp, 4, {{1, 2, 3, 4}, {5, 6, 7, 8}}}},
      {PayloadType::idi, false, IdPayload{2, {'s', 'i', 't', 'e'}}},
      {PayloadType::auth, false, AuthPayload{2, Bytes(32, 0x11)}},
      {PayloadType::cert, false, CertPayload{4, Bytes(100, 0x30)}},
      {PayloadType::certreq, false, CertPayload{4, {}}},
      {PayloadType::vendor, false, RawPayload{{'w', 'p'}}},
  };
  return m;
}

TEST(IkeCodec, EveryPayloadKindRoundTrips) {
  const Message m = child_sa_message();
  const Bytes b = encode_message(m);
  Message back;
  ParseResult r = parse_message(b, back);
  ASSERT_TRUE(r.ok()) << ike_error_name(r.error) << " at " << r.offset;
  EXPECT_EQ(back.payloads, m.payloads);
  EXPECT_EQ(back.header.spi_i, m.header.spi_i);
  EXPECT_EQ(back.header.spi_r, m.header.spi_r);
  EXPECT_EQ(back.header.message_id, 7u);
  EXPECT_EQ(back.header.length, b.size());
}

TEST(IkeCodec, EncryptedPayloadEndsTheChainAndNamesTheFirstInnerPayload) {
  Message m = child_sa_message();
  PayloadType first;
  const Bytes inner = encode_payload_chain(m.payloads, first);
  EXPECT_EQ(first, PayloadType::sa);
  Message auth;
  auth.header.exchange = Exchange::ike_auth;
  auth.payloads = {{PayloadType::sk, false, SkPayload{first, Bytes(16 + 48 + 16, 0x5a)}}};
  const Bytes b = encode_message(auth);
  EXPECT_EQ(b[16], static_cast<uint8_t>(PayloadType::sk));                         // header: next = SK
  EXPECT_EQ(b[kHeaderLen], static_cast<uint8_t>(PayloadType::sa));                 // SK: next = first inner
  Message back;
  ASSERT_TRUE(parse_message(b, back).ok());
  const SkPayload* sk = back.get<SkPayload>(PayloadType::sk);
  ASSERT_NE(sk, nullptr);
  EXPECT_EQ(sk->first_inner, PayloadType::sa);
  EXPECT_EQ(sk->body.size(), 80u);
  // The decrypted inner chain parses the same way, with no SK allowed in it.
  std::vector<Payload> ps;
  ASSERT_TRUE(parse_payload_chain(first, inner, ps, false).ok());
  EXPECT_EQ(ps, m.payloads);
}

TEST(IkeCodec, UnknownNonCriticalPayloadIsKeptRaw) {
  Message m = child_sa_message();
  m.payloads.insert(m.payloads.begin() + 1, Payload{static_cast<PayloadType>(200), false, RawPayload{{1, 2, 3}}});
  Message back;
  ASSERT_TRUE(parse_message(encode_message(m), back).ok());
  EXPECT_EQ(back.payloads[1].type, static_cast<PayloadType>(200));
  EXPECT_EQ(std::get<RawPayload>(back.payloads[1].body).data, (Bytes{1, 2, 3}));
}

TEST(IkeCodec, ReservedBitsAreIgnoredOnReceipt) {
  Bytes b = strongswan_init();
  b[kHeaderLen + 1] |= 0x7f;  // generic payload header RESERVED (not the critical bit)
  EXPECT_EQ(parse_error(b), IkeError::none);
}

// --- malformed input: each refused with its reason ------------------------------------------
TEST(IkeCodec, HeaderErrors) {
  Bytes b = strongswan_init();
  EXPECT_EQ(parse_error(Bytes(b.begin(), b.begin() + 27)), IkeError::truncated_header);
  Bytes v = b;
  v[17] = 0x30;  // IKEv3
  EXPECT_EQ(parse_error(v), IkeError::bad_major_version);
  v[17] = 0x10;  // IKEv1
  EXPECT_EQ(parse_error(v), IkeError::bad_major_version);
  Bytes shorter(b.begin(), b.end() - 1);  // header says 542
  EXPECT_EQ(parse_error(shorter), IkeError::bad_length);
  Bytes ex = b;
  ex[18] = 33;
  EXPECT_EQ(parse_error(ex), IkeError::unknown_exchange);
  Header h;
  EXPECT_TRUE(parse_header(std::span(b).first(kHeaderLen), h).ok());
  EXPECT_EQ(h.length, 542u);
  EXPECT_EQ(parse_error(Bytes(kMaxMessageLen + 1, 0)), IkeError::too_long);
}

// Payload at `off` of an encoded message: rewrite its 16-bit length.
void set_len(Bytes& b, size_t off, uint16_t len) {
  b[off + 2] = static_cast<uint8_t>(len >> 8);
  b[off + 3] = static_cast<uint8_t>(len);
}

TEST(IkeCodec, ChainErrors) {
  Bytes b = strongswan_init();
  Bytes t = b;
  set_len(t, kHeaderLen, 3);
  EXPECT_EQ(parse_error(t), IkeError::payload_too_short);
  t = b;
  set_len(t, kHeaderLen, 600);
  EXPECT_EQ(parse_error(t), IkeError::payload_truncated);
  // An unknown type with the critical bit: the first payload becomes type 99.
  Message m = child_sa_message();
  m.payloads.insert(m.payloads.begin(), Payload{static_cast<PayloadType>(99), true, RawPayload{}});
  EXPECT_EQ(parse_error(encode_message(m)), IkeError::unsupported_critical);
  // Trailing bytes after the last payload (header length covers them).
  Message m2 = child_sa_message();
  Bytes e = encode_message(m2);
  e.push_back(0);
  e[27] = static_cast<uint8_t>(e.size());
  e[26] = static_cast<uint8_t>(e.size() >> 8);
  EXPECT_EQ(parse_error(e), IkeError::bad_length);
  // 65 payloads.
  Message many;
  for (int i = 0; i < 65; ++i) many.payloads.push_back({PayloadType::vendor, false, RawPayload{{1}}});
  EXPECT_EQ(parse_error(encode_message(many)), IkeError::too_many_payloads);
  many.payloads.pop_back();
  EXPECT_EQ(parse_error(encode_message(many)), IkeError::none);
}

TEST(IkeCodec, EncryptedPayloadMustBeLastAndNotNested) {
  Message m;
  m.header.exchange = Exchange::ike_auth;
  m.payloads = {{PayloadType::sk, false, SkPayload{PayloadType::idi, Bytes(32, 1)}},
                {PayloadType::vendor, false, RawPayload{{1}}}};
  // encode chains SK's next to its first inner type, so the vendor payload
  // after it is trailing data inside the SK's chain: refused.
  Bytes b = encode_message(m);
  EXPECT_EQ(parse_error(b), IkeError::sk_not_last);
  std::vector<Payload> ps;
  PayloadType first;
  Bytes chain = encode_payload_chain({{PayloadType::sk, false, SkPayload{PayloadType::none, Bytes(32, 1)}}}, first);
  EXPECT_EQ(parse_payload_chain(first, chain, ps, false).error, IkeError::sk_not_last);
  EXPECT_EQ(parse_payload_chain(first, chain, ps, true).error, IkeError::none);
}

Bytes with_sa(const SaPayload& sa) {
  Message m;
  m.payloads = {{PayloadType::sa, false, sa}};
  return encode_message(m);
}

TEST(IkeCodec, SaErrors) {
  using T = TransformType;
  const Proposal ok{1, Protocol::ike, {}, {{T::encr, 12, 256}, {T::prf, 5, 0}, {T::dh, 19, 0}}};
  EXPECT_EQ(parse_error(with_sa({{ok}})), IkeError::none);
  Proposal p = ok;
  p.number = 2;  // an answer echoes the number it accepted (§ 3.3.1)...
  EXPECT_EQ(parse_error(with_sa({{p}})), IkeError::none);
  Proposal p3 = ok;
  p3.number = 3;  // ...but an offer starts at 1 and counts up by one
  EXPECT_EQ(parse_error(with_sa({{p, p3}})), IkeError::proposal_numbering);
  EXPECT_EQ(parse_error(with_sa({{ok, p3}})), IkeError::proposal_numbering);
  p.number = 0;
  EXPECT_EQ(parse_error(with_sa({{p}})), IkeError::proposal_numbering);
  Proposal same = ok;  // the same number twice is allowed (AND of protocols)
  EXPECT_EQ(parse_error(with_sa({{ok, same}})), IkeError::none);
  p = ok;
  p.spi = {1, 2, 3, 4};  // IKE SPI of 4 bytes
  EXPECT_EQ(parse_error(with_sa({{p}})), IkeError::bad_spi_size);
  p = ok;
  p.protocol = Protocol::esp;  // ESP without its 4-byte SPI
  EXPECT_EQ(parse_error(with_sa({{p}})), IkeError::bad_spi_size);
  EXPECT_EQ(parse_error(with_sa({})), IkeError::sa_malformed);  // no proposal

  // Transform count in the proposal header says 4, 3 follow.
  Bytes b = with_sa({{ok}});
  b[kHeaderLen + 4 + 7] = 4;
  EXPECT_EQ(parse_error(b), IkeError::transform_malformed);
  // An attribute other than Key Length.
  b = with_sa({{ok}});
  const size_t attr = kHeaderLen + 4 + 8 + 8;  // first transform's attribute
  b[attr + 1] = 15;
  EXPECT_EQ(parse_error(b), IkeError::bad_attribute);
  // Key Length 0.
  b = with_sa({{ok}});
  b[attr + 2] = 0;
  b[attr + 3] = 0;
  EXPECT_EQ(parse_error(b), IkeError::bad_attribute);
  // The proposal's "more" marker says another follows, none does.
  b = with_sa({{ok}});
  b[kHeaderLen + 4] = 2;
  EXPECT_EQ(parse_error(b), IkeError::sa_malformed);
}

Bytes with(PayloadType type, PayloadBody body) {
  Message m;
  m.payloads = {{type, false, std::move(body)}};
  return encode_message(m);
}

TEST(IkeCodec, PayloadErrors) {
  EXPECT_EQ(parse_error(with(PayloadType::nonce, NoncePayload{Bytes(15, 1)})), IkeError::nonce_length);
  EXPECT_EQ(parse_error(with(PayloadType::nonce, NoncePayload{Bytes(16, 1)})), IkeError::none);
  EXPECT_EQ(parse_error(with(PayloadType::nonce, NoncePayload{Bytes(256, 1)})), IkeError::none);
  EXPECT_EQ(parse_error(with(PayloadType::nonce, NoncePayload{Bytes(257, 1)})), IkeError::nonce_length);
  EXPECT_EQ(parse_error(with(PayloadType::ke, KePayload{14, {}})), IkeError::ke_malformed);
  EXPECT_EQ(parse_error(with(PayloadType::idi, IdPayload{2, {}})), IkeError::id_malformed);
  EXPECT_EQ(parse_error(with(PayloadType::auth, AuthPayload{2, {}})), IkeError::auth_malformed);
  EXPECT_EQ(parse_error(with(PayloadType::cert, CertPayload{4, {}})), IkeError::cert_malformed);
  EXPECT_EQ(parse_error(with(PayloadType::notify, NotifyPayload{Protocol::esp, {1, 2, 3}, 1, {}})),
            IkeError::bad_spi_size);
  EXPECT_EQ(parse_error(with(PayloadType::del, DeletePayload{Protocol::ike, 0, {{}}})), IkeError::delete_malformed);
  EXPECT_EQ(parse_error(with(PayloadType::del, DeletePayload{Protocol::ike, 0, {}})), IkeError::none);
  EXPECT_EQ(parse_error(with(PayloadType::del, DeletePayload{Protocol::esp, 8, {Bytes(8, 1)}})),
            IkeError::bad_spi_size);
  TrafficSelector bad{kTsIpv4Range, 0, 0, 65535, {10, 0, 0, 0}, Bytes(16, 0)};  // v4 type, v6-sized end
  EXPECT_EQ(parse_error(with(PayloadType::tsi, TsPayload{{bad}})), IkeError::ts_malformed);
  EXPECT_EQ(parse_error(with(PayloadType::tsi, TsPayload{})), IkeError::ts_malformed);  // no selector
  TrafficSelector opaque{kTsIpv4Range, 17, 65535, 0, {0, 0, 0, 0}, {255, 255, 255, 255}};  // § 3.13.1 OPAQUE
  EXPECT_EQ(parse_error(with(PayloadType::tsi, TsPayload{{opaque}})), IkeError::none);
  // A selector count larger than what follows.
  Bytes b = with(PayloadType::tsr, TsPayload{{opaque}});
  b[kHeaderLen + 4] = 2;
  EXPECT_EQ(parse_error(b), IkeError::ts_malformed);
}

TEST(IkeCodec, ErrorNamesAreDistinct) {
  std::set<std::string_view> names;
  for (size_t i = 0; i < kIkeErrors; ++i) names.insert(ike_error_name(static_cast<IkeError>(i)));
  EXPECT_EQ(names.size(), kIkeErrors);
}

}  // namespace
}  // namespace wp::ike
