// Canned first packets of well-known applications (payloads only: the caller wraps them with
// Pkt), shared by the classifier's unit tests and its benchmark (perf/bench_app.cc).
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

namespace wp::test::app_packets {

using Bytes = std::vector<uint8_t>;

inline void put8(Bytes& b, unsigned v) { b.push_back(static_cast<uint8_t>(v)); }
inline void put16(Bytes& b, unsigned v) {
  put8(b, v >> 8);
  put8(b, v & 0xff);
}
inline void put_bytes(Bytes& b, std::string_view s) { b.insert(b.end(), s.begin(), s.end()); }

// A TLS 1.3 ClientHello (RFC 8446 § 4.1.2) with a server_name extension (RFC 6066 § 3).
inline Bytes tls_client_hello(std::string_view sni) {
  Bytes ext;
  put16(ext, 0);  // server_name
  put16(ext, static_cast<unsigned>(sni.size() + 5));
  put16(ext, static_cast<unsigned>(sni.size() + 3));
  put8(ext, 0);  // host_name
  put16(ext, static_cast<unsigned>(sni.size()));
  put_bytes(ext, sni);
  for (unsigned v : {0x2bu, 3u}) put16(ext, v);  // supported_versions: TLS 1.3
  put8(ext, 2);
  put16(ext, 0x0304);
  for (unsigned v : {0x0au, 4u, 2u, 0x1du}) put16(ext, v);    // supported_groups: x25519
  for (unsigned v : {0x0du, 4u, 2u, 0x0403u}) put16(ext, v);  // signature_algorithms
  Bytes body;
  put16(body, 0x0303);
  for (unsigned i = 0; i < 32; ++i) put8(body, i);  // random
  put8(body, 0);                                   // session id
  for (unsigned v : {4u, 0x1301u, 0xc02fu}) put16(body, v);
  for (unsigned v : {1u, 0u}) put8(body, v);  // compression: null
  put16(body, static_cast<unsigned>(ext.size()));
  body.insert(body.end(), ext.begin(), ext.end());
  Bytes rec = {0x16, 3, 1};
  put16(rec, static_cast<unsigned>(body.size() + 4));
  put8(rec, 1);  // ClientHello
  put8(rec, 0);
  put16(rec, static_cast<unsigned>(body.size()));
  rec.insert(rec.end(), body.begin(), body.end());
  return rec;
}

// A DNS query for one A record (RFC 1035 § 4.1).
inline Bytes dns_query(std::string_view name) {
  Bytes b = {0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0};
  size_t start = 0;
  while (start <= name.size()) {
    size_t dot = name.find('.', start);
    if (dot == std::string_view::npos) dot = name.size();
    put8(b, static_cast<unsigned>(dot - start));
    put_bytes(b, name.substr(start, dot - start));
    start = dot + 1;
  }
  put8(b, 0);
  put16(b, 1);  // A
  put16(b, 1);  // IN
  return b;
}

// The BitTorrent peer handshake (BEP 3): pstrlen, pstr, reserved, info_hash, peer_id.
inline Bytes bittorrent_handshake() {
  Bytes b;
  b.reserve(68);
  put8(b, 19);
  put_bytes(b, "BitTorrent protocol");
  b.resize(b.size() + 8, 0);
  for (unsigned i = 0; i < 40; ++i) put8(b, i);
  return b;
}

// A QUIC v1 Initial (RFC 9000 § 17.2.2), padded to 1200 bytes; the protected payload is
// not decryptable, which is what nDPI sees for any ClientHello it has no keys for.
inline Bytes quic_initial() {
  Bytes b = {0xc3, 0, 0, 0, 1, 8};
  for (unsigned i = 1; i <= 8; ++i) put8(b, i);  // destination connection id
  put8(b, 0);                                    // source connection id: empty
  put8(b, 0);                                    // token: none
  put16(b, 0x4000 | 1182);                       // length (varint)
  b.resize(1200, 0);
  return b;
}

}  // namespace wp::test::app_packets
