// IKEv2 cryptography (dataplane/control/ike/ike_crypto.h) against a real
// strongSwan 5.9.8 pair (tests/data/ike/strongswan_psk_*.txt: the keys its
// initiator logged and the four messages of IKE_SA_INIT + IKE_AUTH on the
// wire): our SKEYSEED and SK_* equal strongSwan's; we open both IKE_AUTH
// messages with them, find the IDs, verify both PSK AUTH values and seal the
// same plaintext to the same bytes. Then DH agreement for groups 14 and 19
// with checks on bad peer values, and the Encrypted payload's refusals.
#include <gtest/gtest.h>

#include <map>
#include <string>

#include "dataplane/control/ike/ike_crypto.h"
#include "tests/unit/ike_test_data.h"

namespace wp::ike {
namespace {

struct Vectors {
  std::map<std::string, Bytes> v;
  const Bytes& operator[](const std::string& k) const {
    static const Bytes empty;
    auto it = v.find(k);
    return it == v.end() ? empty : it->second;
  }
};

Vectors load(const std::string& name) {
  Vectors out{test::load_vectors(name)};
  EXPECT_EQ(out["msg4"].empty(), false) << name << " not found";
  return out;
}

Message parse(const Bytes& b) {
  Message m;
  ParseResult r = parse_message(b, m);
  EXPECT_TRUE(r.ok()) << ike_error_name(r.error) << " at " << r.offset;
  return m;
}

const Bytes& nonce_of(const Message& m) { return m.get<NoncePayload>(PayloadType::nonce)->data; }

// The ID payload's body (type, reserved, data) as the AUTH computation takes it.
Bytes id_body(const IdPayload& id) {
  Bytes b(4 + id.data.size(), 0);
  b[0] = id.type;
  std::copy(id.data.begin(), id.data.end(), b.begin() + 4);
  return b;
}

void check_exchange(const std::string& file, uint16_t dh_group, bool aead) {
  SCOPED_TRACE(file);
  const Vectors v = load(file);
  const Message m1 = parse(v["msg1"]), m2 = parse(v["msg2"]), m3 = parse(v["msg3"]), m4 = parse(v["msg4"]);
  ASSERT_EQ(m1.header.exchange, Exchange::ike_sa_init);
  ASSERT_EQ(m3.header.exchange, Exchange::ike_auth);

  // The suite the responder chose.
  const SaPayload* sa = m2.get<SaPayload>(PayloadType::sa);
  ASSERT_NE(sa, nullptr);
  ASSERT_EQ(sa->proposals.size(), 1u);
  IkeSuite s;
  ASSERT_TRUE(suite_from_proposal(sa->proposals[0], s));
  EXPECT_EQ(s.dh, dh_group);
  EXPECT_EQ(s.aead(), aead);
  EXPECT_EQ(m2.get<KePayload>(PayloadType::ke)->data.size(), dh_public_len(dh_group));
  EXPECT_EQ(v["dh_secret"].size(), dh_group == kDhModp2048 ? 256u : 32u);

  // Key schedule: every key strongSwan logged.
  const IkeKeys k = derive_ike_keys(s, nonce_of(m1), nonce_of(m2), v["dh_secret"], m2.header.spi_i, m2.header.spi_r);
  EXPECT_EQ(k.skeyseed, v["skeyseed"]);
  EXPECT_EQ(k.sk_d, v["sk_d"]);
  EXPECT_EQ(k.sk_ai, v["sk_ai"]);  // empty for GCM on both sides
  EXPECT_EQ(k.sk_ar, v["sk_ar"]);
  EXPECT_EQ(k.sk_ei, v["sk_ei"]);
  EXPECT_EQ(k.sk_er, v["sk_er"]);
  EXPECT_EQ(k.sk_pi, v["sk_pi"]);
  EXPECT_EQ(k.sk_pr, v["sk_pr"]);

  // The initiator's IKE_AUTH: open, IDi, AUTH.
  Bytes plain;
  ASSERT_EQ(open_sk(s, k.sk_ei, k.sk_ai, v["msg3"], m3, plain), SkError::ok);
  std::vector<Payload> inner;
  const PayloadType first = m3.get<SkPayload>(PayloadType::sk)->first_inner;
  ASSERT_TRUE(parse_payload_chain(first, plain, inner, false).ok());
  Message in3;
  in3.payloads = inner;
  const IdPayload* idi = in3.get<IdPayload>(PayloadType::idi);
  ASSERT_NE(idi, nullptr);
  EXPECT_EQ(std::string(idi->data.begin(), idi->data.end()), "site1.example");
  const AuthPayload* auth_i = in3.get<AuthPayload>(PayloadType::auth);
  ASSERT_NE(auth_i, nullptr);
  EXPECT_EQ(auth_i->method, 2);  // shared key MIC
  EXPECT_EQ(psk_auth(v["psk"], k.sk_pi, v["msg1"], nonce_of(m2), id_body(*idi)), auth_i->data);
  const Bytes wrong_psk{'w', 'r', 'o', 'n', 'g'};
  EXPECT_NE(psk_auth(wrong_psk, k.sk_pi, v["msg1"], nonce_of(m2), id_body(*idi)), auth_i->data);

  // Sealing the same plaintext with the same IV gives strongSwan's bytes.
  const Bytes& body = m3.get<SkPayload>(PayloadType::sk)->body;
  const Bytes iv(body.begin(), body.begin() + static_cast<long>(s.iv_len()));
  const Bytes resealed = seal_sk(s, k.sk_ei, k.sk_ai, m3.header, first, plain, iv);
  Message back = parse(resealed);
  Bytes again;
  ASSERT_EQ(open_sk(s, k.sk_ei, k.sk_ai, resealed, back, again), SkError::ok);
  EXPECT_EQ(again, plain);
  // GCM needs no padding, so the very same bytes (tag included); CBC padding
  // bytes are the sender's choice (strongSwan's are random), so only the
  // round trip above holds there.
  if (s.aead()) {
    EXPECT_EQ(resealed, v["msg3"]);
  }

  // The responder's IKE_AUTH: IDr and its AUTH over message 2 and Ni.
  ASSERT_EQ(open_sk(s, k.sk_er, k.sk_ar, v["msg4"], m4, plain), SkError::ok);
  ASSERT_TRUE(parse_payload_chain(m4.get<SkPayload>(PayloadType::sk)->first_inner, plain, inner, false).ok());
  Message in4;
  in4.payloads = inner;
  const IdPayload* idr = in4.get<IdPayload>(PayloadType::idr);
  ASSERT_NE(idr, nullptr);
  EXPECT_EQ(std::string(idr->data.begin(), idr->data.end()), "headend.example");
  const AuthPayload* auth_r = in4.get<AuthPayload>(PayloadType::auth);
  ASSERT_NE(auth_r, nullptr);
  EXPECT_EQ(psk_auth(v["psk"], k.sk_pr, v["msg2"], nonce_of(m1), id_body(*idr)), auth_r->data);

  // The wrong direction's keys, or one flipped bit anywhere, and nothing opens.
  EXPECT_EQ(open_sk(s, k.sk_er, k.sk_ar, v["msg3"], m3, plain), SkError::bad_icv);
  for (size_t at : {size_t{0}, size_t{20}, v["msg3"].size() / 2, v["msg3"].size() - 1}) {
    Bytes t = v["msg3"];
    t[at] ^= 0x01;
    Message tm;
    if (!parse_message(t, tm).ok()) continue;  // a flipped length byte: the parser refuses first
    EXPECT_EQ(open_sk(s, k.sk_ei, k.sk_ai, t, tm, plain), SkError::bad_icv) << "bit flipped at " << at;
  }
}

TEST(IkeCrypto, StrongSwanAes256Sha256Modp2048) { check_exchange("strongswan_psk_aes256_sha256_modp2048.txt", 14, false); }

TEST(IkeCrypto, StrongSwanAes256Gcm16PrfSha256Ecp256) {
  check_exchange("strongswan_psk_aes256gcm16_prfsha256_ecp256.txt", 19, true);
}

TEST(IkeCrypto, PrfPlusIsTheChainedHmacOfRfc7296) {
  const Bytes key(32, 0x0b), seed{'s', 'e', 'e', 'd'};
  const Bytes t1 = prf(key, Bytes{'s', 'e', 'e', 'd', 0x01});
  Bytes in2 = t1;
  in2.insert(in2.end(), {'s', 'e', 'e', 'd', 0x02});
  const Bytes t2 = prf(key, in2);
  const Bytes out = prf_plus(key, seed, 40);
  ASSERT_EQ(out.size(), 40u);
  EXPECT_TRUE(std::equal(t1.begin(), t1.end(), out.begin()));
  EXPECT_TRUE(std::equal(t2.begin(), t2.begin() + 8, out.begin() + 32));
  EXPECT_EQ(prf_plus(key, seed, 255 * 32 + 1).size(), 255u * 32);  // the RFC's limit
}

TEST(IkeCrypto, SuitesFromProposals) {
  using T = TransformType;
  IkeSuite s;
  EXPECT_TRUE(suite_from_proposal({1, Protocol::ike, {}, {{T::encr, 12, 256}, {T::integ, 12, 0}, {T::prf, 5, 0}, {T::dh, 19, 0}}}, s));
  EXPECT_EQ(s.dh, kDhEcp256);
  EXPECT_FALSE(s.aead());
  EXPECT_TRUE(suite_from_proposal({1, Protocol::ike, {}, {{T::encr, 20, 256}, {T::prf, 5, 0}, {T::dh, 14, 0}}}, s));
  EXPECT_TRUE(s.aead());
  EXPECT_EQ(s.encr_key_len(), 36u);
  // GCM with an integrity transform, CBC without one, AES-128, SHA-1 PRF, MODP-1024, a type twice.
  EXPECT_FALSE(suite_from_proposal({1, Protocol::ike, {}, {{T::encr, 20, 256}, {T::integ, 12, 0}, {T::prf, 5, 0}, {T::dh, 19, 0}}}, s));
  EXPECT_FALSE(suite_from_proposal({1, Protocol::ike, {}, {{T::encr, 12, 256}, {T::prf, 5, 0}, {T::dh, 19, 0}}}, s));
  EXPECT_FALSE(suite_from_proposal({1, Protocol::ike, {}, {{T::encr, 12, 128}, {T::integ, 12, 0}, {T::prf, 5, 0}, {T::dh, 19, 0}}}, s));
  EXPECT_FALSE(suite_from_proposal({1, Protocol::ike, {}, {{T::encr, 12, 256}, {T::integ, 12, 0}, {T::prf, 2, 0}, {T::dh, 19, 0}}}, s));
  EXPECT_FALSE(suite_from_proposal({1, Protocol::ike, {}, {{T::encr, 12, 256}, {T::integ, 12, 0}, {T::prf, 5, 0}, {T::dh, 2, 0}}}, s));
  EXPECT_FALSE(suite_from_proposal({1, Protocol::ike, {}, {{T::encr, 12, 256}, {T::integ, 12, 0}, {T::prf, 5, 0}, {T::dh, 19, 0}, {T::dh, 14, 0}}}, s));
}

class IkeDh : public ::testing::TestWithParam<uint16_t> {};

TEST_P(IkeDh, BothSidesAgreeAndBadPeerValuesAreRefused) {
  std::string err;
  auto a = DhKey::generate(GetParam(), err), b = DhKey::generate(GetParam(), err);
  ASSERT_TRUE(a && b) << err;
  EXPECT_EQ(a->public_value().size(), dh_public_len(GetParam()));
  EXPECT_NE(a->public_value(), b->public_value());
  Bytes ab, ba;
  ASSERT_TRUE(a->shared_secret(b->public_value(), ab, err)) << err;
  ASSERT_TRUE(b->shared_secret(a->public_value(), ba, err)) << err;
  EXPECT_EQ(ab, ba);
  // g^ir: the MODP value padded to the prime's length, x of ECP (RFC 5903 § 7), Curve25519's 32 bytes.
  const uint16_t g = GetParam();
  const bool ecp = g == kDhEcp256 || g == kDhEcp384 || g == kDhEcp521;
  EXPECT_EQ(ab.size(), ecp ? dh_public_len(g) / 2 : dh_public_len(g));
  Bytes out;
  EXPECT_FALSE(a->shared_secret(Bytes(dh_public_len(GetParam()) - 1, 7), out, err));
  EXPECT_NE(err.find("expected"), std::string::npos);
  // 1 (MODP) / a point not on the curve (ECP).
  Bytes bad(dh_public_len(GetParam()), 0);
  bad.back() = 1;
  EXPECT_FALSE(a->shared_secret(bad, out, err));
  EXPECT_NE(err.find("not a valid public value"), std::string::npos) << err;
  // 0 (MODP) / the point (0, 0) (ECP); all ones: above p (MODP), coordinates above p (ECP).
  EXPECT_FALSE(a->shared_secret(Bytes(dh_public_len(GetParam()), 0), out, err));
  EXPECT_FALSE(a->shared_secret(Bytes(dh_public_len(GetParam()), 0xff), out, err));
  EXPECT_NE(err.find("not a valid public value"), std::string::npos) << err;
}

// Curve25519's refusals are its own (any 32 bytes are a u-coordinate): ike_dh_groups_test.
INSTANTIATE_TEST_SUITE_P(Groups, IkeDh,
                         ::testing::Values(kDhModp2048, kDhModp3072, kDhModp4096, kDhEcp256, kDhEcp384, kDhEcp521));

TEST(IkeDh, UnsupportedGroupIsAnError) {
  std::string err;
  EXPECT_EQ(DhKey::generate(2, err), nullptr);
  EXPECT_NE(err.find("not supported"), std::string::npos);
}

TEST(IkeCrypto, SealOpenRoundTripAndRefusals) {
  for (const IkeSuite& s : {IkeSuite{}, IkeSuite{kEncrAesGcm16, 256, 0, kPrfHmacSha256, kDhEcp256}}) {
    const Bytes ek(s.encr_key_len(), 0x21), ik(s.integ_key_len(), 0x42), iv(s.iv_len(), 0x07);
    Header h;
    h.exchange = Exchange::informational;
    h.spi_i = 1;
    h.spi_r = 2;
    Message inner;
    inner.payloads = {{PayloadType::del, false, DeletePayload{Protocol::ike, 0, {}}}};
    PayloadType first;
    const Bytes chain = encode_payload_chain(inner.payloads, first);
    const Bytes d = seal_sk(s, ek, ik, h, first, chain, iv);
    Message m = parse(d);
    Bytes plain;
    ASSERT_EQ(open_sk(s, ek, ik, d, m, plain), SkError::ok);
    EXPECT_EQ(plain, chain);
    // Truncated: header length adjusted so the parser accepts it, the SK too short to hold IV + ICV.
    Bytes shortd(d.begin(), d.begin() + static_cast<long>(kHeaderLen + kGenericHeaderLen + 8));
    shortd[kHeaderLen + 3] = 8 + kGenericHeaderLen;
    shortd[kHeaderLen + 2] = 0;
    shortd[27] = static_cast<uint8_t>(shortd.size());
    shortd[26] = 0;
    Message sm = parse(shortd);
    EXPECT_EQ(open_sk(s, ek, ik, shortd, sm, plain), SkError::too_short);
    Message none = parse(encode_message(inner));
    EXPECT_EQ(open_sk(s, ek, ik, encode_message(inner), none, plain), SkError::no_sk);
  }
}

}  // namespace
}  // namespace wp::ike
