// libFuzzer target for the header parser (ip/packet.h) and, behind it, the
// metadata decoder as the WAN input path calls it (svr/wan_input.cc).
//
// Every frame off the wire goes through parse_packet before anything else,
// so it must turn any byte string into a status plus offsets that stay inside
// the frame: no read past `len` (ASan), no offset past the datagram. When the
// frame parses as IPv4, the same checks the dataplane then relies on are run:
// the full checksums over exactly [l3, end), and decode_metadata over the L4
// payload, which must also stay inside it.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "dataplane/ip/checksum.h"
#include "dataplane/ip/packet.h"
#include "dataplane/svr/metadata.h"

namespace {

void check(bool ok) {
  if (!ok) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 65535) return 0;
  // An exact-size copy: libFuzzer's buffer is exact too, but be explicit.
  std::vector<uint8_t> frame(data, data + size);
  const uint32_t len = static_cast<uint32_t>(size);
  wp::ParsedPacket pp = wp::parse_packet(frame.data(), len);
  switch (pp.status) {
    case wp::ParseStatus::ipv4: {
      check(pp.l3 == wp::kEthHdrLen);
      check(pp.l3 + 20u <= pp.l4 && pp.l4 <= pp.payload && pp.payload <= pp.end && pp.end <= len);
      const uint8_t* ip = frame.data() + pp.l3;
      (void)wp::ipv4_header_checksum(ip);
      if (pp.proto == wp::kProtoTcp || pp.proto == wp::kProtoUdp) {
        check(pp.payload - pp.l4 >= (pp.proto == wp::kProtoTcp ? 20 : 8));
        (void)wp::l4_checksum(ip, frame.data() + pp.l4, static_cast<uint16_t>(pp.end - pp.l4));
      }
      // The decoder sees exactly the L4 payload, as wan_input passes it.
      std::vector<uint8_t> payload(frame.begin() + pp.payload, frame.begin() + pp.end);
      wp::Metadata md;
      wp::MetadataStatus st = wp::decode_metadata(payload.data(), payload.size(), md);
      if (st == wp::MetadataStatus::ok || st == wp::MetadataStatus::bare) check(md.block_len() <= payload.size());
      if (st == wp::MetadataStatus::bare) check(md.block_len() == wp::kMetadataHeaderLen);
      break;
    }
    case wp::ParseStatus::fragment: check(pp.end <= len && pp.l4 <= pp.end); break;
    case wp::ParseStatus::arp: check(len >= wp::kEthHdrLen + 28u); break;
    case wp::ParseStatus::not_ipv4:
    case wp::ParseStatus::malformed: break;
  }
  return 0;
}
