// An IKEv2 initiator for the tests, built from the codec and crypto
// primitives only (whose keys and AUTH values ike_crypto_test checks against
// strongSwan): IKE_SA_INIT, IKE_AUTH with a PSK and a Child SA, requests
// sealed with its own keys, answers opened with them. ike_responder_test
// drives the responder with it, ike_service_test waypointd's IKE service.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "dataplane/control/ike/ike_responder.h"

namespace wp::ike {
namespace {

const std::string kPsk = "test-psk-0123456789";
const Endpoint kSite{{10, 78, 0, 1}, 500}, kHeadend{{10, 78, 0, 2}, 500};

inline Bytes bytes(const std::string& s) { return Bytes(s.begin(), s.end()); }

inline TrafficSelector ts(std::initializer_list<uint8_t> lo, std::initializer_list<uint8_t> hi) {
  TrafficSelector t;
  t.start_addr = lo;
  t.end_addr = hi;
  return t;
}


// The headend's entry for site1, the tests' usual responder peer: PSK kPsk, ESP aes256gcm16,
// 10.60.0.0/24 here and 10.50.0.0/24 at the site, no tunnel.
inline PeerConfig site1_psk_peer() {
  PeerConfig p;
  p.name = "site1";
  p.local_id = "headend.example";
  p.remote_id = "site1.example";
  p.psk = bytes(kPsk);
  p.esp_suites = {EspSuite{kEncrAesGcm16, 0, false}};
  p.local_ts = {ts({10, 60, 0, 0}, {10, 60, 0, 255})};
  p.remote_ts = {ts({10, 50, 0, 0}, {10, 50, 0, 255})};
  return p;
}

inline Proposal ike_proposal(uint8_t n, const IkeSuite& s) { return ike_answer(n, s).proposals[0]; }

inline std::vector<Payload> decode(PayloadType first, const Bytes& plain) {
  std::vector<Payload> out;
  EXPECT_TRUE(parse_payload_chain(first, plain, out, false).ok());
  return out;
}

template <class T>
const T* find(const std::vector<Payload>& in, PayloadType type) {
  for (const Payload& p : in)
    if (p.type == type) return std::get_if<T>(&p.body);
  return nullptr;
}

inline const NotifyPayload* notify_of(const std::vector<Payload>& in, uint16_t type) {
  for (const Payload& p : in)
    if (auto* n = std::get_if<NotifyPayload>(&p.body); n && n->type == type) return n;
  return nullptr;
}

// The initiator side, from the primitives only (TestInitiator: not the
// library's wp::ike::Initiator, which ike_initiator_test drives).
struct TestInitiator {
  IkeSuite suite;
  uint64_t spi_i = 0x1122334455667788, spi_r = 0;
  Bytes ni = Bytes(32, 0x5a), nr, init_request, init_response;
  std::unique_ptr<DhKey> dh;
  IkeKeys keys;
  uint32_t next_id = 1;
  bool initial_contact = false;
  Bytes cookie;  // sent first in IKE_SA_INIT when set (§ 2.6)
  std::vector<Payload> init_extra;  // appended to IKE_SA_INIT (NAT_DETECTION notifies)

  Bytes sa_init(std::vector<Proposal> proposals, uint16_t ke_group) {
    std::string err;
    dh = DhKey::generate(ke_group, err);
    Message m;
    m.header.spi_i = spi_i;
    m.header.flags = kFlagInitiator;
    if (!cookie.empty())
      m.payloads.push_back({PayloadType::notify, false, NotifyPayload{Protocol::none, {}, kNotifyCookie, cookie}});
    m.payloads.insert(m.payloads.end(),
                      {{PayloadType::sa, false, SaPayload{std::move(proposals)}},
                  {PayloadType::ke, false, KePayload{ke_group, dh->public_value()}},
                       {PayloadType::nonce, false, NoncePayload{ni}}});
    m.payloads.insert(m.payloads.end(), init_extra.begin(), init_extra.end());
    init_request = encode_message(m);
    return init_request;
  }

  // Takes the IKE_SA_INIT answer; false when it is not an accepted SA.
  bool accept(const Bytes& resp) {
    Message m;
    if (!parse_message(resp, m).ok() || !m.get<KePayload>(PayloadType::ke)) return false;
    init_response = resp;
    spi_r = m.header.spi_r;
    nr = m.get<NoncePayload>(PayloadType::nonce)->data;
    EXPECT_TRUE(suite_from_proposal(m.get<SaPayload>(PayloadType::sa)->proposals.at(0), suite));
    Bytes g_ir;
    std::string err;
    EXPECT_TRUE(dh->shared_secret(m.get<KePayload>(PayloadType::ke)->data, g_ir, err)) << err;
    keys = derive_ike_keys(suite, ni, nr, g_ir, spi_i, spi_r);
    return true;
  }

  // Our message `id` under the IKE SA's keys with header `flags`.
  Bytes sealed(Exchange ex, const std::vector<Payload>& inner, uint32_t id, uint8_t flags) const {
    Header h;
    h.spi_i = spi_i;
    h.spi_r = spi_r;
    h.exchange = ex;
    h.flags = flags;
    h.message_id = id;
    PayloadType first = PayloadType::none;
    const Bytes plain = encode_payload_chain(inner, first);
    return seal_sk(suite, keys.sk_ei, keys.sk_ai, h, first, plain, Bytes(suite.iv_len(), 0x33));
  }
  Bytes request(Exchange ex, const std::vector<Payload>& inner, uint32_t id) {
    return sealed(ex, inner, id, kFlagInitiator);
  }
  // Our answer to the responder's own request `id` (a rekey, a delete).
  Bytes answer(Exchange ex, uint32_t id, const std::vector<Payload>& inner) const {
    return sealed(ex, inner, id, kFlagInitiator | kFlagResponse);
  }
  // The responder's own request `req` opened with the IKE SA's keys; its header in `h`.
  std::vector<Payload> open_request(const Bytes& req, Header& h) const {
    Message m;
    EXPECT_TRUE(parse_message(req, m).ok());
    h = m.header;
    Bytes plain;
    EXPECT_EQ(open_sk(suite, keys.sk_er, keys.sk_ar, req, m, plain), SkError::ok);
    return decode(m.get<SkPayload>(PayloadType::sk)->first_inner, plain);
  }

  Bytes auth(const std::string& psk, const std::string& id = "site1.example", bool child = true,
             std::vector<TrafficSelector> tsi = {ts({10, 50, 0, 0}, {10, 50, 0, 255})}) {
    const IdPayload idi{kIdFqdn, bytes(id)};
    const Bytes a = psk_auth(bytes(psk), keys.sk_pi, init_request, nr, id_body(idi));
    std::vector<Payload> in{{PayloadType::idi, false, idi}, {PayloadType::auth, false, AuthPayload{kAuthPsk, a}}};
    if (initial_contact)
      in.push_back({PayloadType::notify, false, NotifyPayload{Protocol::none, {}, kNotifyInitialContact, {}}});
    if (child) {
      Proposal esp{1, Protocol::esp, {0xc0, 0xff, 0xee, 0x01}, {{TransformType::encr, kEncrAesCbc, 256}}};
      esp.transforms.push_back({TransformType::integ, kIntegHmacSha256_128, 0});
      esp.transforms.push_back({TransformType::esn, kEsnYes, 0});  // only ESN: our third suite
      in.push_back({PayloadType::sa, false, SaPayload{{esp}}});
      in.push_back({PayloadType::tsi, false, TsPayload{tsi}});
      in.push_back({PayloadType::tsr, false, TsPayload{{ts({0, 0, 0, 0}, {255, 255, 255, 255})}}});
    }
    return request(Exchange::ike_auth, in, next_id++);
  }

  std::vector<Payload> open(const Bytes& resp) {
    Message m;
    EXPECT_TRUE(parse_message(resp, m).ok());
    EXPECT_TRUE(m.header.response());
    EXPECT_FALSE(m.header.initiator());
    Bytes plain;
    EXPECT_EQ(open_sk(suite, keys.sk_er, keys.sk_ar, resp, m, plain), SkError::ok);
    return decode(m.get<SkPayload>(PayloadType::sk)->first_inner, plain);
  }
};

}  // namespace
}  // namespace wp::ike
