// IKEv2 message codec; see ike_message.h.
#include "dataplane/control/ike/ike_message.h"

#include <algorithm>

namespace wp::ike {
namespace {

using Span = std::span<const uint8_t>;

uint16_t be16(Span d, size_t o) { return static_cast<uint16_t>(d[o] << 8 | d[o + 1]); }
uint32_t be32(Span d, size_t o) { return uint32_t(be16(d, o)) << 16 | be16(d, o + 2); }
uint64_t be64(Span d, size_t o) { return uint64_t(be32(d, o)) << 32 | be32(d, o + 4); }

void put16(Bytes& b, uint16_t v) {
  b.push_back(static_cast<uint8_t>(v >> 8));
  b.push_back(static_cast<uint8_t>(v));
}
void put32(Bytes& b, uint32_t v) {
  put16(b, static_cast<uint16_t>(v >> 16));
  put16(b, static_cast<uint16_t>(v));
}
void put64(Bytes& b, uint64_t v) {
  put32(b, static_cast<uint32_t>(v >> 32));
  put32(b, static_cast<uint32_t>(v));
}
void set16(Bytes& b, size_t o, uint16_t v) {
  b[o] = static_cast<uint8_t>(v >> 8);
  b[o + 1] = static_cast<uint8_t>(v);
}
void append(Bytes& b, Span s) { b.insert(b.end(), s.begin(), s.end()); }
Bytes copy(Span s) { return Bytes(s.begin(), s.end()); }

// A decoder's verdict: the error and where in its body it was found.
struct Fail {
  IkeError error = IkeError::none;
  size_t at = 0;
  explicit operator bool() const { return error != IkeError::none; }
};
constexpr Fail kOk{};
Fail fail(IkeError e, size_t at = 0) { return {e, at}; }

bool spi_size_ok(Protocol p, size_t n, bool sa) {
  if (p == Protocol::ike) return n == 0 || (sa && n == 8);
  return n == 4;
}

// --- SA (§ 3.3) -------------------------------------------------------------
Fail parse_transform(Span d, size_t& off, bool& last, Transform& t) {
  if (d.size() - off < 8) return fail(IkeError::transform_malformed, off);
  const uint8_t more = d[off];
  const uint16_t len = be16(d, off + 2);
  if ((more != 0 && more != 3) || len < 8 || len > d.size() - off) return fail(IkeError::transform_malformed, off);
  t.type = static_cast<TransformType>(d[off + 4]);
  t.id = be16(d, off + 6);
  t.key_length = 0;
  for (size_t a = off + 8; a < off + len;) {
    if (off + len - a < 4) return fail(IkeError::bad_attribute, a);
    const uint16_t type = be16(d, a);
    // Only Key Length, in TV form (§ 3.3.5): anything else rejects the proposal.
    if (type != (0x8000 | kAttrKeyLength) || t.key_length != 0) return fail(IkeError::bad_attribute, a);
    t.key_length = be16(d, a + 2);
    if (t.key_length == 0) return fail(IkeError::bad_attribute, a);
    a += 4;
  }
  last = more == 0;
  off += len;
  return kOk;
}

Fail parse_proposal(Span d, size_t& off, int prev_number, bool& last, Proposal& p) {
  if (d.size() - off < 8) return fail(IkeError::sa_malformed, off);
  const uint8_t more = d[off];
  const uint16_t len = be16(d, off + 2);
  if ((more != 0 && more != 2) || len < 8 || len > d.size() - off) return fail(IkeError::sa_malformed, off);
  p.number = d[off + 4];
  // An offer numbers from 1; an answer echoes the accepted number (§ 3.3.1),
  // which parse_sa checks is then the only one.
  if (prev_number < 0 ? p.number == 0 : (p.number != prev_number && p.number != prev_number + 1))
    return fail(IkeError::proposal_numbering, off + 4);
  const uint8_t proto = d[off + 5];
  if (proto < 1 || proto > 3) return fail(IkeError::sa_malformed, off + 5);
  p.protocol = static_cast<Protocol>(proto);
  const uint8_t spi_size = d[off + 6], count = d[off + 7];
  if (!spi_size_ok(p.protocol, spi_size, true)) return fail(IkeError::bad_spi_size, off + 6);
  if (len - 8u < spi_size) return fail(IkeError::sa_malformed, off);
  if (count == 0 || count > kMaxTransforms) return fail(IkeError::transform_malformed, off + 7);
  const Span body = d.subspan(off, len);
  p.spi = copy(body.subspan(8, spi_size));
  size_t t_off = 8u + spi_size;
  bool t_last = false;
  p.transforms.clear();
  while (t_off < body.size()) {
    if (t_last || p.transforms.size() == count) return fail(IkeError::transform_malformed, off + t_off);
    Transform t;
    if (Fail f = parse_transform(body, t_off, t_last, t)) return fail(f.error, off + f.at);
    p.transforms.push_back(t);
  }
  if (!t_last || p.transforms.size() != count) return fail(IkeError::transform_malformed, off + 7);
  last = more == 0;
  off += len;
  return kOk;
}

Fail parse_sa(Span d, SaPayload& sa) {
  size_t off = 0;
  bool last = false;
  int prev = -1;
  while (off < d.size()) {
    if (last || sa.proposals.size() == kMaxProposals) return fail(IkeError::sa_malformed, off);
    Proposal p;
    if (Fail f = parse_proposal(d, off, prev, last, p)) return f;
    prev = p.number;
    sa.proposals.push_back(std::move(p));
  }
  if (!last) return fail(IkeError::sa_malformed, off);  // also: no proposal at all
  const uint8_t first = sa.proposals.front().number;
  for (const Proposal& p : sa.proposals)
    if (first != 1 && p.number != first) return fail(IkeError::proposal_numbering, 0);
  return kOk;
}

// --- the other payloads -------------------------------------------------------
Fail parse_ts(Span d, TsPayload& ts) {
  if (d.size() < 4 || d[0] == 0 || d[0] > kMaxSelectors) return fail(IkeError::ts_malformed, 0);
  size_t off = 4;
  for (unsigned i = 0; i < d[0]; ++i) {
    if (d.size() - off < 8) return fail(IkeError::ts_malformed, off);
    TrafficSelector s;
    s.type = d[off];
    s.ip_protocol = d[off + 1];
    const uint16_t len = be16(d, off + 2);
    const size_t addr = s.type == kTsIpv4Range ? 4 : s.type == kTsIpv6Range ? 16 : 0;
    if (addr == 0 || len != 8 + 2 * addr || len > d.size() - off) return fail(IkeError::ts_malformed, off);
    s.start_port = be16(d, off + 4);
    s.end_port = be16(d, off + 6);
    s.start_addr = copy(d.subspan(off + 8, addr));
    s.end_addr = copy(d.subspan(off + 8 + addr, addr));
    ts.selectors.push_back(std::move(s));
    off += len;
  }
  if (off != d.size()) return fail(IkeError::ts_malformed, off);
  return kOk;
}

Fail parse_notify(Span d, NotifyPayload& n) {
  if (d.size() < 4) return fail(IkeError::notify_malformed, 0);
  n.protocol = static_cast<Protocol>(d[0]);
  const uint8_t spi_size = d[1];
  if (d[0] > 3) return fail(IkeError::notify_malformed, 0);
  if (spi_size != 0 && spi_size != 4 && spi_size != 8) return fail(IkeError::bad_spi_size, 1);
  if (d.size() - 4 < spi_size) return fail(IkeError::notify_malformed, 1);
  n.type = be16(d, 2);
  n.spi = copy(d.subspan(4, spi_size));
  n.data = copy(d.subspan(4u + spi_size));
  return kOk;
}

Fail parse_delete(Span d, DeletePayload& del) {
  if (d.size() < 4 || d[0] < 1 || d[0] > 3) return fail(IkeError::delete_malformed, 0);
  del.protocol = static_cast<Protocol>(d[0]);
  del.spi_size = d[1];
  const uint16_t n = be16(d, 2);
  if (!spi_size_ok(del.protocol, del.spi_size, false)) return fail(IkeError::bad_spi_size, 1);
  if ((del.protocol == Protocol::ike) != (n == 0) || n > kMaxDeleteSpis ||
      d.size() != 4 + size_t(n) * del.spi_size)
    return fail(IkeError::delete_malformed, 2);
  for (size_t i = 0; i < n; ++i) del.spis.push_back(copy(d.subspan(4 + i * del.spi_size, del.spi_size)));
  return kOk;
}

// Type byte + 3 reserved + data (ID, AUTH) or type byte + data (CERT, CERTREQ).
template <class T>
Fail parse_typed(Span d, size_t head, bool data_required, IkeError err, uint8_t T::*field, T& out) {
  if (d.size() < head || (data_required && d.size() == head)) return fail(err, 0);
  out.*field = d[0];
  out.data = copy(d.subspan(head));
  return kOk;
}

Fail parse_body(PayloadType type, Span d, PayloadBody& body) {
  switch (type) {
    case PayloadType::sa: return parse_sa(d, body.emplace<SaPayload>());
    case PayloadType::ke: {
      auto& ke = body.emplace<KePayload>();
      if (d.size() <= 4) return fail(IkeError::ke_malformed, 0);
      ke.group = be16(d, 0);
      ke.data = copy(d.subspan(4));
      return kOk;
    }
    case PayloadType::idi:
    case PayloadType::idr:
      return parse_typed(d, 4, true, IkeError::id_malformed, &IdPayload::type, body.emplace<IdPayload>());
    case PayloadType::cert:
      return parse_typed(d, 1, true, IkeError::cert_malformed, &CertPayload::encoding, body.emplace<CertPayload>());
    case PayloadType::certreq:
      return parse_typed(d, 1, false, IkeError::cert_malformed, &CertPayload::encoding, body.emplace<CertPayload>());
    case PayloadType::auth:
      return parse_typed(d, 4, true, IkeError::auth_malformed, &AuthPayload::method, body.emplace<AuthPayload>());
    case PayloadType::nonce:
      if (d.size() < kMinNonce || d.size() > kMaxNonce) return fail(IkeError::nonce_length, 0);
      body.emplace<NoncePayload>().data = copy(d);
      return kOk;
    case PayloadType::notify: return parse_notify(d, body.emplace<NotifyPayload>());
    case PayloadType::del: return parse_delete(d, body.emplace<DeletePayload>());
    case PayloadType::tsi:
    case PayloadType::tsr: return parse_ts(d, body.emplace<TsPayload>());
    default: body.emplace<RawPayload>().data = copy(d); return kOk;
  }
}

bool known(uint8_t t) { return (t >= 33 && t <= 48) || t == 53; }

// --- encoding -------------------------------------------------------------------
void encode_sa(Bytes& b, const SaPayload& sa) {
  for (size_t i = 0; i < sa.proposals.size(); ++i) {
    const Proposal& p = sa.proposals[i];
    const size_t start = b.size();
    b.push_back(i + 1 == sa.proposals.size() ? 0 : 2);
    b.push_back(0);
    put16(b, 0);
    b.push_back(p.number);
    b.push_back(static_cast<uint8_t>(p.protocol));
    b.push_back(static_cast<uint8_t>(p.spi.size()));
    b.push_back(static_cast<uint8_t>(p.transforms.size()));
    append(b, p.spi);
    for (size_t k = 0; k < p.transforms.size(); ++k) {
      const Transform& t = p.transforms[k];
      b.push_back(k + 1 == p.transforms.size() ? 0 : 3);
      b.push_back(0);
      put16(b, t.key_length ? 12 : 8);
      b.push_back(static_cast<uint8_t>(t.type));
      b.push_back(0);
      put16(b, t.id);
      if (t.key_length) {
        put16(b, 0x8000 | kAttrKeyLength);
        put16(b, t.key_length);
      }
    }
    set16(b, start + 2, static_cast<uint16_t>(b.size() - start));
  }
}

void encode_body(Bytes& b, const PayloadBody& body) {
  std::visit(
      [&b](const auto& p) {
        using T = std::decay_t<decltype(p)>;
        if constexpr (std::is_same_v<T, SaPayload>) {
          encode_sa(b, p);
        } else if constexpr (std::is_same_v<T, KePayload>) {
          put16(b, p.group);
          put16(b, 0);
          append(b, p.data);
        } else if constexpr (std::is_same_v<T, IdPayload>) {
          b.insert(b.end(), {p.type, 0, 0, 0});
          append(b, p.data);
        } else if constexpr (std::is_same_v<T, AuthPayload>) {
          b.insert(b.end(), {p.method, 0, 0, 0});
          append(b, p.data);
        } else if constexpr (std::is_same_v<T, CertPayload>) {
          b.push_back(p.encoding);
          append(b, p.data);
        } else if constexpr (std::is_same_v<T, NotifyPayload>) {
          b.push_back(static_cast<uint8_t>(p.protocol));
          b.push_back(static_cast<uint8_t>(p.spi.size()));
          put16(b, p.type);
          append(b, p.spi);
          append(b, p.data);
        } else if constexpr (std::is_same_v<T, DeletePayload>) {
          b.push_back(static_cast<uint8_t>(p.protocol));
          b.push_back(p.spi_size);
          put16(b, static_cast<uint16_t>(p.spis.size()));
          for (const Bytes& s : p.spis) append(b, s);
        } else if constexpr (std::is_same_v<T, TsPayload>) {
          b.insert(b.end(), {static_cast<uint8_t>(p.selectors.size()), 0, 0, 0});
          for (const TrafficSelector& s : p.selectors) {
            b.push_back(s.type);
            b.push_back(s.ip_protocol);
            put16(b, static_cast<uint16_t>(8 + s.start_addr.size() + s.end_addr.size()));
            put16(b, s.start_port);
            put16(b, s.end_port);
            append(b, s.start_addr);
            append(b, s.end_addr);
          }
        } else {  // NoncePayload, SkPayload, RawPayload
          if constexpr (std::is_same_v<T, SkPayload>)
            append(b, p.body);
          else
            append(b, p.data);
        }
      },
      body);
}

PayloadType next_field(const std::vector<Payload>& ps, size_t i) {
  if (ps[i].type == PayloadType::sk) {
    const auto* sk = std::get_if<SkPayload>(&ps[i].body);
    return sk ? sk->first_inner : PayloadType::none;
  }
  return i + 1 < ps.size() ? ps[i + 1].type : PayloadType::none;
}

}  // namespace

std::string_view ike_error_name(IkeError e) {
  static constexpr std::string_view kNames[] = {
#define WP_X(n) #n,
      WP_IKE_ERRORS(WP_X)
#undef WP_X
  };
  const auto i = static_cast<size_t>(e);
  return i < std::size(kNames) ? kNames[i] : "unknown";
}

Payload make_notify(uint16_t type, Bytes data) {
  return {PayloadType::notify, false, NotifyPayload{Protocol::none, {}, type, std::move(data)}};
}

const NotifyPayload* find_notify(const std::vector<Payload>& chain, uint16_t notify_type) {
  for (const Payload& p : chain)
    if (const auto* n = std::get_if<NotifyPayload>(&p.body); n && p.type == PayloadType::notify && n->type == notify_type)
      return n;
  return nullptr;
}

const Payload* Message::find(PayloadType type) const {
  auto it = std::find_if(payloads.begin(), payloads.end(), [type](const Payload& p) { return p.type == type; });
  return it == payloads.end() ? nullptr : &*it;
}

const NotifyPayload* Message::notify(uint16_t notify_type) const { return find_notify(payloads, notify_type); }

ParseResult parse_header(Span data, Header& h) {
  if (data.size() < kHeaderLen) return {IkeError::truncated_header, data.size()};
  h.spi_i = be64(data, 0);
  h.spi_r = be64(data, 8);
  h.next = static_cast<PayloadType>(data[16]);
  h.version = data[17];
  h.exchange = static_cast<Exchange>(data[18]);
  h.flags = data[19];
  h.message_id = be32(data, 20);
  h.length = be32(data, 24);
  if (h.version >> 4 != 2) return {IkeError::bad_major_version, 17};
  return {};
}

ParseResult parse_payload_chain(PayloadType first, Span data, std::vector<Payload>& out, bool sk_allowed) {
  out.clear();
  size_t off = 0;
  uint8_t next = static_cast<uint8_t>(first);
  while (next != 0) {
    if (out.size() == kMaxPayloads) return {IkeError::too_many_payloads, off};
    if (data.size() - off < kGenericHeaderLen) return {IkeError::payload_truncated, off};
    const uint8_t type = next;
    const bool critical = (data[off + 1] & 0x80) != 0;
    const uint16_t len = be16(data, off + 2);
    if (len < kGenericHeaderLen) return {IkeError::payload_too_short, off};
    if (len > data.size() - off) return {IkeError::payload_truncated, off};
    next = data[off];
    const Span body = data.subspan(off + kGenericHeaderLen, len - kGenericHeaderLen);
    if (!known(type) && critical) return {IkeError::unsupported_critical, off};
    Payload p;
    p.type = static_cast<PayloadType>(type);
    p.critical = critical;
    if (p.type == PayloadType::sk) {
      // The Encrypted payload ends its chain: its "next" names the first
      // payload inside it (§ 3.14).
      if (!sk_allowed || off + len != data.size()) return {IkeError::sk_not_last, off};
      p.body = SkPayload{static_cast<PayloadType>(next), copy(body)};
      out.push_back(std::move(p));
      return {};
    }
    if (Fail f = parse_body(p.type, body, p.body)) return {f.error, off + kGenericHeaderLen + f.at};
    out.push_back(std::move(p));
    off += len;
  }
  if (off != data.size()) return {IkeError::bad_length, off};
  return {};
}

ParseResult parse_message(Span data, Message& out) {
  if (data.size() > kMaxMessageLen) return {IkeError::too_long, kMaxMessageLen};
  if (ParseResult r = parse_header(data, out.header); !r.ok()) return r;
  if (out.header.length != data.size()) return {IkeError::bad_length, 24};
  const auto ex = static_cast<uint8_t>(out.header.exchange);
  if (ex < 34 || ex > 37) return {IkeError::unknown_exchange, 18};
  ParseResult r = parse_payload_chain(out.header.next, data.subspan(kHeaderLen), out.payloads, true);
  if (!r.ok()) r.offset += kHeaderLen;
  return r;
}

Bytes encode_payload_chain(const std::vector<Payload>& payloads, PayloadType& first) {
  first = payloads.empty() ? PayloadType::none : payloads.front().type;
  Bytes b;
  for (size_t i = 0; i < payloads.size(); ++i) {
    const size_t start = b.size();
    b.push_back(static_cast<uint8_t>(next_field(payloads, i)));
    b.push_back(payloads[i].critical ? 0x80 : 0);
    put16(b, 0);
    encode_body(b, payloads[i].body);
    set16(b, start + 2, static_cast<uint16_t>(b.size() - start));
  }
  return b;
}

Bytes encode_message(const Message& msg) {
  PayloadType first;
  const Bytes chain = encode_payload_chain(msg.payloads, first);
  Bytes b;
  b.reserve(kHeaderLen + chain.size());
  put64(b, msg.header.spi_i);
  put64(b, msg.header.spi_r);
  b.push_back(static_cast<uint8_t>(first));
  b.push_back(msg.header.version);
  b.push_back(static_cast<uint8_t>(msg.header.exchange));
  b.push_back(msg.header.flags);
  put32(b, msg.header.message_id);
  put32(b, static_cast<uint32_t>(kHeaderLen + chain.size()));
  append(b, chain);
  return b;
}

}  // namespace wp::ike
