// libFuzzer target for IKEv2 messages (dataplane/control/ike/ike_message.h):
// any datagram to parse_message, and the same bytes after the header to
// parse_payload_chain as the plaintext of an Encrypted payload (no SK
// allowed inside).
// Checked: a refusal's offset lies inside the input; what parses encodes,
// and the encoding parses again to the same message (payload for payload)
// and re-encodes to the same bytes; an SK payload is always the last.
// Seeds: a strongSwan 5.9.8 IKE_SA_INIT captured on the wire, and messages
// from encode_message (wp_fuzz_seeds: CREATE_CHILD_SA with every payload
// kind, IKE_AUTH with an SK payload, INFORMATIONAL delete).
#include <cstddef>
#include <cstdint>
#include <span>

#include "dataplane/control/ike/ike_message.h"

namespace {

void check(bool ok) {
  if (!ok) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace wp::ike;
  const std::span<const uint8_t> in(data, size);
  Message m;
  ParseResult r = parse_message(in, m);
  check(r.offset <= size);
  if (r.ok()) {
    for (size_t i = 0; i < m.payloads.size(); ++i)
      check(m.payloads[i].type != PayloadType::sk || i + 1 == m.payloads.size());
    const Bytes once = encode_message(m);
    Message again;
    check(parse_message(once, again).ok());
    check(again.payloads == m.payloads);
    check(again.header.spi_i == m.header.spi_i && again.header.message_id == m.header.message_id);
    check(encode_message(again) == once);
  }
  if (size > kHeaderLen) {
    std::vector<Payload> chain;
    ParseResult c = parse_payload_chain(static_cast<PayloadType>(data[16]), in.subspan(kHeaderLen), chain, false);
    check(c.offset <= size - kHeaderLen);
    if (c.ok()) {
      for (const Payload& p : chain) check(p.type != PayloadType::sk);
      PayloadType first;
      const Bytes enc = encode_payload_chain(chain, first);
      std::vector<Payload> back;
      check(parse_payload_chain(first, enc, back, false).ok() && back == chain);
    }
  }
  return 0;
}
