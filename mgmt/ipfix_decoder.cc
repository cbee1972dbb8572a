// IPFIX decoding; see ipfix_decoder.h.
#include "mgmt/ipfix_decoder.h"

#include <cstring>

namespace wp::mgmt {
namespace {

uint16_t get16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }
uint32_t get32(const uint8_t* p) { return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | p[3]; }
// Unsigned integers may be sent in fewer bytes (reduced-size encoding, § 6.2).
uint64_t get_uint(const uint8_t* p, size_t n) {
  uint64_t v = 0;
  for (size_t i = 0; i < n; ++i) v = v << 8 | p[i];
  return v;
}

}  // namespace

bool IpfixDecoder::decode(const uint8_t* msg, size_t len, IpfixDecoded& out, std::string& error) {
  out = IpfixDecoded{};
  if (len < 16) return error = "message shorter than its 16-byte header", false;
  if (get16(msg) != 10) return error = "version " + std::to_string(get16(msg)) + ", expected 10", false;
  size_t mlen = get16(msg + 2);
  if (mlen != len)
    return error = "header length " + std::to_string(mlen) + " != datagram " + std::to_string(len), false;
  out.export_time = get32(msg + 4);
  out.sequence = get32(msg + 8);
  out.domain = get32(msg + 12);
  size_t off = 16;
  while (off < len) {
    if (len - off < 4) return error = "truncated set header at " + std::to_string(off), false;
    uint16_t id = get16(msg + off);
    size_t slen = get16(msg + off + 2);
    if (slen < 4 || off + slen > len)
      return error = "set length " + std::to_string(slen) + " at " + std::to_string(off), false;
    const uint8_t* body = msg + off + 4;
    size_t blen = slen - 4;
    if (id == 2) {
      if (!parse_template_set(body, blen, out.domain, out, error)) return false;
    } else if (id >= 256) {
      auto it = templates_.find({out.domain, id});
      if (it == templates_.end())
        ++out.unknown_sets;
      else if (!parse_data_set(it->second, body, blen, out, error))
        return false;
    }  // 3 (options templates) and reserved ids: skipped
    off += slen;
  }
  return true;
}

bool IpfixDecoder::parse_template_set(const uint8_t* p, size_t len, uint32_t domain, IpfixDecoded& out,
                                      std::string& error) {
  size_t off = 0;
  while (len - off >= 4) {
    uint16_t tid = get16(p + off);
    uint16_t count = get16(p + off + 2);
    off += 4;
    std::vector<Field> fields;
    for (uint16_t i = 0; i < count; ++i) {
      if (len - off < 4) return error = "truncated template " + std::to_string(tid), false;
      Field f{get16(p + off), get16(p + off + 2), 0};
      off += 4;
      if (f.id & 0x8000) {
        if (len - off < 4) return error = "truncated enterprise number in template " + std::to_string(tid), false;
        f.id &= 0x7fff;
        f.pen = get32(p + off);
        off += 4;
      }
      fields.push_back(f);
    }
    templates_[{domain, tid}] = std::move(fields);
    ++out.templates;
  }
  return true;  // fewer than 4 bytes left: padding
}

bool IpfixDecoder::parse_data_set(const std::vector<Field>& t, const uint8_t* p, size_t len, IpfixDecoded& out,
                                  std::string& error) {
  size_t min_len = 0;
  for (const Field& f : t) min_len += f.length == 65535 ? 1 : f.length;
  size_t off = 0;
  while (min_len > 0 && len - off >= min_len) {
    IpfixRecord r;
    bool pre6 = false, post4 = false, post6 = false;  // 27/28, 225/226, 281/282 seen
    for (const Field& f : t) {
      size_t n = f.length;
      if (n == 65535) {
        if (off >= len) return error = "truncated variable-length field", false;
        n = p[off++];
        if (n == 255) {
          if (len - off < 2) return error = "truncated variable length", false;
          n = get16(p + off);
          off += 2;
        }
      }
      if (len - off < n) return error = "record runs past its set", false;
      const uint8_t* v = p + off;
      off += n;
      if (f.pen == kWaypointPen) {
        if (f.id == 1 && n == 16) std::memcpy(r.session_id.data(), v, 16);
        if (f.id == 2) r.set_tenant(std::string_view(reinterpret_cast<const char*>(v), n));
        if (f.id == 3) r.set_service(std::string_view(reinterpret_cast<const char*>(v), n));
        continue;
      }
      if (f.pen != 0) continue;
      if (f.id == 95) {  // applicationId: only nDPI's registry (PANA-L7-PEN 35632, 2-byte selector)
        if (n == kApplicationIdBytes && v[0] == kClassificationEnginePanaL7Pen && get32(v + 1) == kNdpiRegistryPen)
          r.app_id = get16(v + 5);
        continue;
      }
      if (f.id == 96) {
        r.set_app(std::string_view(reinterpret_cast<const char*>(v), n));
        continue;
      }
      if (f.id == 27 || f.id == 28 || f.id == 281 || f.id == 282) {  // IPv6 addresses (templates 257 to 259)
        if (n != 16) continue;
        const Ipv6 a{get_uint(v, 8), get_uint(v + 8, 8)};
        (f.id < 281 ? pre6 : post6) = true;
        (f.id == 27 ? r.pre_src6 : f.id == 28 ? r.pre_dst6 : f.id == 281 ? r.post_src6 : r.post_dst6) = a;
        continue;
      }
      uint64_t x = n <= 8 ? get_uint(v, n) : 0;
      switch (f.id) {
        case 152: r.start_ms = x; break;
        case 153: r.end_ms = x; break;
        case 8: r.pre.src = static_cast<uint32_t>(x); break;
        case 12: r.pre.dst = static_cast<uint32_t>(x); break;
        case 7: r.pre.sport = static_cast<uint16_t>(x); break;
        case 11: r.pre.dport = static_cast<uint16_t>(x); break;
        case 4: r.pre.proto = r.post.proto = static_cast<uint8_t>(x); break;
        case 225: r.post.src = static_cast<uint32_t>(x), post4 = true; break;
        case 226: r.post.dst = static_cast<uint32_t>(x), post4 = true; break;
        case 227: r.post.sport = static_cast<uint16_t>(x); break;
        case 228: r.post.dport = static_cast<uint16_t>(x); break;
        case 231: r.initiator_octets = x; break;
        case 232: r.responder_octets = x; break;
        case 298: r.initiator_packets = x; break;
        case 299: r.responder_packets = x; break;
        case 230: r.nat_event = static_cast<uint8_t>(x); break;
        case 136: r.end_reason = static_cast<uint8_t>(x); break;
        case 10: r.ingress_if = static_cast<uint32_t>(x); break;
        case 14: r.egress_if = static_cast<uint32_t>(x); break;
        default: break;
      }
    }
    // An IPv6 session (257), between IPv4 waypoints (258); an IPv4 session between IPv6 waypoints (259).
    r.ipv6 = pre6;
    r.post_ipv4 = pre6 && post4;
    r.post_ipv6 = !pre6 && post6;
    out.records.push_back(r);
  }
  return true;
}

}  // namespace wp::mgmt
