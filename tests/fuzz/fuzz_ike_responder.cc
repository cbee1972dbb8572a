// libFuzzer target for the IKEv2 responder (dataplane/control/ike/ike_responder.h).
// The first input byte picks how far a built-in initiator (the codec and
// crypto primitives, PSK "fuzz-psk-0123456789", aes256gcm16-prfsha256-ecp256)
// takes a fresh responder before the rest of the input arrives:
//   0: nothing; the rest is a datagram as received (any exchange, any SPIs);
//   1: after IKE_SA_INIT; the rest is the plaintext payload chain of an
//      IKE_AUTH request (byte 1: its first payload type), sealed with the
//      right keys, so AUTH, IDs, proposals and selectors are reached;
//   2: after IKE_AUTH; the same as a CREATE_CHILD_SA request;
//   3: after IKE_AUTH; the same as an INFORMATIONAL request.
// Checked: no crash; every answer parses, is a response, carries the
// request's SPIs (its responder SPI when there is one) and message ID, and
// opens with the responder's keys; the counters only move forward and the
// state stays consistent (each Child SA's inbound SPI registered once).
// Seeds: corpus/ike_responder (one per mode: strongSwan's IKE_SA_INIT, an
// IKE_AUTH chain, a CREATE_CHILD_SA chain, a Delete).
#include <cstddef>
#include <cstdint>
#include <set>
#include <span>

#include "dataplane/control/ike/ike_responder.h"

namespace {

using namespace wp::ike;

void check(bool ok) {
  if (!ok) __builtin_trap();
}

const std::string kPsk = "fuzz-psk-0123456789";
const IkeSuite kSuite{kEncrAesGcm16, 256, 0, kPrfHmacSha256, kDhEcp256};
const Endpoint kPeer{{10, 0, 0, 1}, 500}, kLocal{{10, 0, 0, 2}, 500};

ResponderConfig config() {
  PeerConfig p;
  p.local_id = "headend.example";
  p.remote_id = "site1.example";
  p.psk.assign(kPsk.begin(), kPsk.end());
  p.esp_suites = {EspSuite{kEncrAesGcm16, 0, false}, EspSuite{kEncrAesCbc, kIntegHmacSha256_128, true}};
  TrafficSelector any;
  any.start_addr = {0, 0, 0, 0};
  any.end_addr = {255, 255, 255, 255};
  p.local_ts = p.remote_ts = {any};
  ResponderConfig c;
  c.ike_suites = {kSuite, IkeSuite{kEncrAesCbc, 256, kIntegHmacSha256_128, kPrfHmacSha256, kDhModp2048}};
  c.peers = {p};
  return c;
}

struct Initiator {
  uint64_t spi_i = 0x0102030405060708, spi_r = 0;
  Bytes ni = Bytes(32, 0x11), nr, init_request, init_response;
  IkeKeys keys;

  bool init(Responder& r) {
    std::string err;
    auto dh = DhKey::generate(kDhEcp256, err);
    Message m;
    m.header.spi_i = spi_i;
    m.header.flags = kFlagInitiator;
    m.payloads = {{PayloadType::sa, false, ike_answer(1, kSuite)},
                  {PayloadType::ke, false, KePayload{kDhEcp256, dh->public_value()}},
                  {PayloadType::nonce, false, NoncePayload{ni}}};
    init_request = encode_message(m);
    init_response = r.handle(init_request, kPeer, kLocal);
    Message a;
    if (!parse_message(init_response, a).ok() || !a.get<KePayload>(PayloadType::ke)) return false;
    spi_r = a.header.spi_r;
    nr = a.get<NoncePayload>(PayloadType::nonce)->data;
    Bytes g_ir;
    if (!dh->shared_secret(a.get<KePayload>(PayloadType::ke)->data, g_ir, err)) return false;
    keys = derive_ike_keys(kSuite, ni, nr, g_ir, spi_i, spi_r);
    return true;
  }

  Bytes seal(Exchange ex, uint32_t id, PayloadType first, std::span<const uint8_t> plain) {
    Header h;
    h.spi_i = spi_i;
    h.spi_r = spi_r;
    h.exchange = ex;
    h.flags = kFlagInitiator;
    h.message_id = id;
    return seal_sk(kSuite, keys.sk_ei, keys.sk_ai, h, first, plain, Bytes(8, 0x22));
  }

  bool auth(Responder& r) {
    const IdPayload idi{kIdFqdn, Bytes{'s', 'i', 't', 'e', '1', '.', 'e', 'x', 'a', 'm', 'p', 'l', 'e'}};
    const Bytes a = psk_auth(Bytes(kPsk.begin(), kPsk.end()), keys.sk_pi, init_request, nr, id_body(idi));
    PayloadType first = PayloadType::none;
    const Bytes plain = encode_payload_chain(
        {{PayloadType::idi, false, idi}, {PayloadType::auth, false, AuthPayload{kAuthPsk, a}}}, first);
    return !r.handle(seal(Exchange::ike_auth, 1, first, plain), kPeer, kLocal).empty();
  }
};

// An answer to a request with these SPIs and message ID.
void check_answer(const Bytes& out, const Initiator& in, uint32_t id) {
  if (out.empty()) return;
  Message m;
  check(parse_message(out, m).ok());
  check(m.header.response() && !m.header.initiator());
  check(m.header.spi_i == in.spi_i && m.header.message_id == id);
  if (in.spi_r == 0) return;
  check(m.header.spi_r == in.spi_r);
  Bytes plain;
  check(open_sk(kSuite, in.keys.sk_er, in.keys.sk_ar, out, m, plain) == SkError::ok);
}

void check_state(const Responder& r) {
  std::set<uint32_t> spis;
  for (const auto& [spi, sa] : r.sas()) {
    check(sa->spi_r == spi);
    for (const auto& [in, child] : sa->children) check(child.spi_in == in && spis.insert(in).second);
  }
  const ResponderCounters& c = r.counters();
  check(c.responses_sent <= c.requests);
  check(c.child_sas_deleted <= c.child_sas_installed);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  Responder r(config(), [](const std::string&) {});
  const uint8_t mode = data[0] % 4;
  if (mode == 0) {
    Message m;
    const Bytes out = r.handle(std::span<const uint8_t>(data + 1, size - 1), kPeer, kLocal);
    if (!out.empty()) check(parse_message(out, m).ok() && m.header.response());
    check_state(r);
    return 0;
  }
  Initiator in;
  check(in.init(r));
  if (mode >= 2) check(in.auth(r));
  static constexpr Exchange kEx[] = {Exchange::ike_auth, Exchange::ike_auth, Exchange::create_child_sa,
                                     Exchange::informational};
  const uint32_t id = mode == 1 ? 1 : 2;
  const Bytes out = r.handle(in.seal(kEx[mode], id, static_cast<PayloadType>(data[1]),
                                     std::span<const uint8_t>(data + 2, size - 2)),
                             kPeer, kLocal);
  check_answer(out, in, id);
  check_state(r);
  return 0;
}
