// IKEv2 identities; see ike_identity.h.
#include "dataplane/control/ike/ike_identity.h"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <memory>

namespace wp::ike {
namespace {

struct NameFree {
  void operator()(X509_NAME* n) const { X509_NAME_free(n); }
};
using NamePtr = std::unique_ptr<X509_NAME, NameFree>;

std::string_view trim(std::string_view s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  return s;
}

bool printable(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](unsigned char c) { return c >= 0x20 && c < 0x7f; });
}

// "C=CH, O=Example, CN=site1" (',' or '/' between RDNs, as strongSwan reads them).
NamePtr parse_dn(std::string_view text, std::string& error) {
  NamePtr name(X509_NAME_new());
  if (!name) return error = "out of memory", nullptr;
  size_t begin = 0;
  while (begin <= text.size()) {
    size_t end = text.find_first_of(",/", begin);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view rdn = trim(text.substr(begin, end - begin));
    begin = end + 1;
    if (rdn.empty()) continue;  // a leading '/' ("/C=CH/O=..."), a trailing ','
    const size_t eq = rdn.find('=');
    if (eq == std::string_view::npos)
      return error = "\"" + std::string(rdn) + "\" is not ATTRIBUTE=value", nullptr;
    std::string key(trim(rdn.substr(0, eq)));
    const std::string value(trim(rdn.substr(eq + 1)));
    if (key == "E" || key == "email") key = "emailAddress";  // strongSwan's spelling
    if (value.empty()) return error = "attribute " + key + " has no value", nullptr;
    if (X509_NAME_add_entry_by_txt(name.get(), key.c_str(), MBSTRING_UTF8,
                                   reinterpret_cast<const unsigned char*>(value.data()), static_cast<int>(value.size()),
                                   -1, 0) != 1) {
      ERR_clear_error();
      return error = "unknown DN attribute \"" + key + "\" (C, ST, L, O, OU, CN, E, DC, serialNumber, ...)", nullptr;
    }
  }
  if (X509_NAME_entry_count(name.get()) == 0) return error = "an empty distinguished name", nullptr;
  return name;
}

NamePtr dn_of(const Bytes& der) {
  const unsigned char* p = der.data();
  NamePtr n(d2i_X509_NAME(nullptr, &p, static_cast<long>(der.size())));
  if (!n || p != der.data() + der.size()) {
    ERR_clear_error();
    return nullptr;
  }
  return n;
}

std::string text_of(const Bytes& b) { return std::string(b.begin(), b.end()); }

}  // namespace

std::optional<Identity> parse_identity(std::string_view text, std::string& error) {
  if (text.empty() || text.size() > 255) return error = "must be 1-255 characters", std::nullopt;
  if (!printable(text)) return error = "must be printable ASCII", std::nullopt;
  if (text.find('=') != std::string_view::npos) {
    NamePtr n = parse_dn(text, error);
    if (!n) return std::nullopt;
    unsigned char* der = nullptr;
    const int len = i2d_X509_NAME(n.get(), &der);
    if (len <= 0) return error = "cannot encode the distinguished name", std::nullopt;
    Identity id{kIdDerAsn1Dn, Bytes(der, der + len)};
    OPENSSL_free(der);
    return id;
  }
  const std::string s(text);
  uint8_t addr[16];
  if (inet_pton(AF_INET, s.c_str(), addr) == 1) return Identity{kIdIpv4Addr, Bytes(addr, addr + 4)};
  if (inet_pton(AF_INET6, s.c_str(), addr) == 1) return Identity{kIdIpv6Addr, Bytes(addr, addr + 16)};
  if (text.find(' ') != std::string_view::npos)
    return error = "has a space but no '=' (a distinguished name is written C=.., O=.., CN=..)", std::nullopt;
  if (text.front() == '@') {
    text.remove_prefix(1);
    if (text.empty()) return error = "\"@\" names no FQDN", std::nullopt;
    return Identity{kIdFqdn, Bytes(text.begin(), text.end())};
  }
  if (text.find('@') != std::string_view::npos) return Identity{kIdRfc822Addr, Bytes(text.begin(), text.end())};
  return Identity{kIdFqdn, Bytes(text.begin(), text.end())};
}

Identity identity_of(std::string_view text) {
  std::string error;
  if (auto id = parse_identity(text, error)) return *id;
  return Identity{kIdFqdn, Bytes(text.begin(), text.end())};
}

bool identity_matches(const Identity& want, const IdPayload& got) {
  if (want.type != got.type) return false;
  if (want.type != kIdDerAsn1Dn) return want.data == got.data;
  if (want.data == got.data) return true;
  NamePtr a = dn_of(want.data), b = dn_of(got.data);
  return a && b && X509_NAME_cmp(a.get(), b.get()) == 0;
}

std::string_view identity_type_name(uint8_t type) {
  switch (type) {
    case kIdIpv4Addr: return "ipv4";
    case kIdFqdn: return "fqdn";
    case kIdRfc822Addr: return "email";
    case kIdIpv6Addr: return "ipv6";
    case kIdDerAsn1Dn: return "dn";
    default: return "other";
  }
}

std::string identity_text(const IdPayload& id) {
  const std::string type(identity_type_name(id.type));
  char buf[INET6_ADDRSTRLEN] = {};
  if (id.type == kIdIpv4Addr && id.data.size() == 4 && inet_ntop(AF_INET, id.data.data(), buf, sizeof buf))
    return type + ":" + buf;
  if (id.type == kIdIpv6Addr && id.data.size() == 16 && inet_ntop(AF_INET6, id.data.data(), buf, sizeof buf))
    return type + ":" + buf;
  if (id.type == kIdDerAsn1Dn) {
    NamePtr n = dn_of(id.data);
    if (!n) return "dn:(not DER)";
    char* line = X509_NAME_oneline(n.get(), nullptr, 0);
    std::string out = "dn:" + std::string(line ? line : "?");
    OPENSSL_free(line);
    return out;
  }
  std::string t = text_of(id.data);
  std::replace_if(t.begin(), t.end(), [](unsigned char c) { return c < 0x20 || c >= 0x7f; }, '?');
  return (id.type == kIdFqdn || id.type == kIdRfc822Addr ? type : "id" + std::to_string(id.type)) + ":" + t;
}

bool cert_names_identity(X509* cert, const Identity& id) {
  int r = 0;
  const char* d = reinterpret_cast<const char*>(id.data.data());
  switch (id.type) {
    case kIdFqdn:
      r = X509_check_host(cert, d, id.data.size(), X509_CHECK_FLAG_NEVER_CHECK_SUBJECT | X509_CHECK_FLAG_NO_WILDCARDS,
                          nullptr);
      break;
    case kIdRfc822Addr: r = X509_check_email(cert, d, id.data.size(), X509_CHECK_FLAG_NEVER_CHECK_SUBJECT); break;
    case kIdIpv4Addr:
    case kIdIpv6Addr: r = X509_check_ip(cert, id.data.data(), id.data.size(), 0); break;
    case kIdDerAsn1Dn: {
      NamePtr n = dn_of(id.data);
      r = n && X509_NAME_cmp(X509_get_subject_name(cert), n.get()) == 0;
      break;
    }
    default: r = 0;
  }
  ERR_clear_error();
  return r == 1;
}

}  // namespace wp::ike
