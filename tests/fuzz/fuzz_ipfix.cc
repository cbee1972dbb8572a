// libFuzzer target for the IPFIX decoder (ipfix_decoder.h, RFC 7011), what
// `wpctl flows --listen` runs on datagrams from any exporter.
//
// The input is a stream of IPFIX messages cut by their own header length
// (what a collector gets as consecutive datagrams; the last one takes the
// rest), decoded by one IpfixDecoder so templates learnt from one message
// apply to the next. Checked: a decoded message yields no more records than
// it has bytes, names stay within kIpfixNameMax; and every record survives a
// round trip through our own encoder (template 256; 257 for a record with
// IPv6 pre-NAT addresses, 258 for one with IPv6 pre-NAT and IPv4 post-NAT
// ones; 259 for one with IPv6 post-NAT addresses only) and a fresh decoder
// with every field equal (of the addresses: those its template carries).
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

#include "mgmt/ipfix_decoder.h"
#include "mgmt/ipfix_encoder.h"

namespace {

void check(bool ok) {
  if (!ok) __builtin_trap();
}

bool same_tuples(const wp::mgmt::IpfixRecord& a, const wp::mgmt::IpfixRecord& b) {
  if (a.ipv6 != b.ipv6 || a.post_ipv4 != b.post_ipv4 || a.post_ipv6 != b.post_ipv6) return false;
  // Pre-NAT: IPv6 addresses in 257/258, IPv4 in 256/259; post-NAT: IPv6 in 257/259, IPv4 in 256/258.
  const bool pre = a.ipv6 ? a.pre_src6 == b.pre_src6 && a.pre_dst6 == b.pre_dst6
                          : a.pre.src == b.pre.src && a.pre.dst == b.pre.dst;
  const bool post = a.post_is_ipv6() ? a.post_src6 == b.post_src6 && a.post_dst6 == b.post_dst6
                                     : a.post.src == b.post.src && a.post.dst == b.post.dst;
  return pre && post && a.pre.sport == b.pre.sport && a.pre.dport == b.pre.dport && a.pre.proto == b.pre.proto &&
         a.post.sport == b.post.sport && a.post.dport == b.post.dport && a.post.proto == b.post.proto;
}

bool same(const wp::mgmt::IpfixRecord& a, const wp::mgmt::IpfixRecord& b) {
  return a.start_ms == b.start_ms && a.end_ms == b.end_ms && same_tuples(a, b) &&
         a.initiator_octets == b.initiator_octets && a.responder_octets == b.responder_octets &&
         a.initiator_packets == b.initiator_packets && a.responder_packets == b.responder_packets &&
         a.nat_event == b.nat_event && a.end_reason == b.end_reason && a.ingress_if == b.ingress_if &&
         a.egress_if == b.egress_if && a.session_id == b.session_id && a.tenant_len == b.tenant_len &&
         a.service_len == b.service_len && std::memcmp(a.tenant, b.tenant, a.tenant_len) == 0 &&
         std::memcmp(a.service, b.service, a.service_len) == 0 && a.app_id == b.app_id && a.app_len == b.app_len &&
         std::memcmp(a.app, b.app, a.app_len) == 0;
}

void round_trip(const wp::mgmt::IpfixRecord& r) {
  uint8_t buf[wp::mgmt::kIpfixMaxMessage];
  wp::mgmt::IpfixMessage m;
  m.begin(buf, 1, 2, 3);
  check(m.add_template() && m.add_template6() && m.add_record(r));
  size_t n = m.finish();
  wp::mgmt::IpfixDecoder d;
  wp::mgmt::IpfixDecoded out;
  std::string error;
  check(d.decode(buf, n, out, error));
  check(out.templates == 4 && out.records.size() == 1 && same(out.records[0], r));  // 256 to 259
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  wp::mgmt::IpfixDecoder decoder;
  size_t off = 0;
  while (off < size) {
    size_t left = size - off;
    size_t n = left >= 4 ? size_t{data[off + 2]} << 8 | data[off + 3] : left;
    if (n == 0 || n > left) n = left;
    // An exact-size copy: the decoder must not read past the datagram.
    std::string msg(reinterpret_cast<const char*>(data + off), n);
    off += n;
    wp::mgmt::IpfixDecoded out;
    std::string error;
    if (!decoder.decode(reinterpret_cast<const uint8_t*>(msg.data()), msg.size(), out, error)) {
      check(!error.empty());
      continue;
    }
    check(out.records.size() <= n);
    for (const wp::mgmt::IpfixRecord& r : out.records) {
      check(r.tenant_len <= wp::mgmt::kIpfixNameMax && r.service_len <= wp::mgmt::kIpfixNameMax &&
            r.app_len <= wp::mgmt::kIpfixNameMax);
      round_trip(r);
    }
  }
  return 0;
}
