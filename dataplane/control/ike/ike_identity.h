// IKEv2 identities (RFC 7296 § 3.5) as configured and as received, and how a
// certificate names one (RFC 4945 § 3.1, § 3.2).
//
// `ipsec_peers[].local_id/remote_id` are typed the way strongSwan types an
// `id`: an IPv4 or IPv6 address is ID_IPV4_ADDR / ID_IPV6_ADDR (the 4 or 16
// address bytes), "user@domain" ID_RFC822_ADDR, a string with '=' a
// distinguished name ("C=CH, O=Example, CN=site1": ID_DER_ASN1_DN, the DER of
// the RDNs in the order written, one attribute each), anything else an FQDN
// (ID_FQDN; a leading '@' is dropped, as strongSwan does). A DN is compared
// by OpenSSL's canonical form (X509_NAME_cmp: case and string type do not
// matter), everything else byte for byte. A certificate names an identity
// by a subjectAltName of its type (dNSName, iPAddress, rfc822Name; never
// the subject's CN) or, for a DN, by its subject. Control thread only.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "dataplane/control/ike/ike_message.h"

typedef struct x509_st X509;  // NOLINT: OpenSSL's forward declaration

namespace wp::ike {

// ID types (IANA "IKEv2 Identification Payload ID Types").
inline constexpr uint8_t kIdIpv4Addr = 1, kIdFqdn = 2, kIdRfc822Addr = 3, kIdIpv6Addr = 5, kIdDerAsn1Dn = 9;

// An identity parsed from its configured text: an ID payload's type and data.
struct Identity {
  uint8_t type = 0;  // 0: none (not parsed)
  Bytes data;
  bool operator==(const Identity&) const = default;
};

// The identity `text` denotes, or nullopt with `error` saying why (a DN
// attribute OpenSSL does not know, an empty value, a non-printable byte).
std::optional<Identity> parse_identity(std::string_view text, std::string& error);
// The identity, assuming `text` was validated (an unparsable one gives an
// FQDN of the text, which matches nothing a peer can send for a DN).
Identity identity_of(std::string_view text);
// A received IDi/IDr is `want` (same type; DN canonically equal).
bool identity_matches(const Identity& want, const IdPayload& got);
// For logs and errors: "fqdn:site1.example", "ipv4:192.0.2.1", "dn:CN=site1,O=Example" ...
std::string identity_text(const IdPayload& id);
std::string_view identity_type_name(uint8_t type);
// The certificate names `id` (RFC 4945: a subjectAltName of the ID's type, or
// the subject for a DN).
bool cert_names_identity(X509* cert, const Identity& id);

}  // namespace wp::ike
