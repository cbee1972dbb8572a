// The secret mark (proto/options.proto) and everything driven by it
// (mgmt/config_secrets.h): every field of every schema whose name looks
// secret is marked (or listed below with the reason it is not), redaction
// reaches every marked field however deep, and errors are scrubbed of
// secret values.
#include <gtest/gtest.h>

#include <regex>
#include <set>

#include "api.pb.h"
#include "ha.pb.h"
#include "mgmt/config_secrets.h"

namespace wp::mgmt {
namespace {

namespace pb = google::protobuf;

// Names that look secret but hold none, and why.
const std::set<std::string> kNotSecret = {
    "waypoint.config.Peer.key_file",               // a path; the key it holds is read into Peer.key (marked)
    "waypoint.config.Peer.next_key_file",          // a path; read into Peer.next_key (marked)
    "waypoint.config.Peer.key_version",            // which version `key` is; sent in clear in TLV 16
    "waypoint.config.Peer.next_key_version",       // which version `next_key` is; sent in clear in TLV 22
    "waypoint.ha.SessionRecord.key_version_a",     // pair-key version of a side's keys; no key material
    "waypoint.ha.SessionRecord.key_version_b",
    "waypoint.config.PathMonitoring.auth_key_id",  // the BFD key's number, sent in clear on the wire
    "waypoint.config.Mgmt.tls_key",                // a path; the TLS key never enters the config
    "waypoint.config.Mgmt.tokens",                 // the list; MgmtToken.token is marked
    "waypoint.ha.SessionRecord.key_id",            // which pair-key version; no key material
    "waypoint.ha.KeyUpdate.keys",                  // fingerprints of pair keys (KeyUpdate.PeerKey.key_id)
    "waypoint.ha.HaMessage.keys",                  // the KeyUpdate body: fingerprints only
    "waypoint.ha.KeyUpdate.PeerKey.key_id",        // a fingerprint, made to be compared across nodes
    "waypoint.ha.IkeSaRecord.encr_key_bits",       // the IKE cipher's key length (256); no key material
    "waypoint.config.IpsecPeer.psk_file",          // a path; the key it holds is read into IpsecPeer.psk (marked)
    "waypoint.config.IpsecPeer.private_key_file",  // a path; read into IpsecPeer.private_key (marked)
};

void collect(const pb::Descriptor* d, std::vector<const pb::FieldDescriptor*>& out) {
  for (int i = 0; i < d->field_count(); ++i) out.push_back(d->field(i));
  for (int i = 0; i < d->nested_type_count(); ++i) collect(d->nested_type(i), out);
}

std::vector<const pb::FieldDescriptor*> all_fields() {
  std::vector<const pb::FieldDescriptor*> out;
  for (const pb::FileDescriptor* f :
       {config::Config::descriptor()->file(), ::waypoint::ha::SessionRecord::descriptor()->file(),
        ::waypoint::api::Error::descriptor()->file()})
    for (int i = 0; i < f->message_type_count(); ++i) collect(f->message_type(i), out);
  return out;
}

TEST(SecretFields, EveryFieldThatLooksSecretIsMarked) {
  const std::regex looks_secret("key|token|secret|passw|credential|private|psk", std::regex::icase);
  size_t marked = 0;
  for (const pb::FieldDescriptor* f : all_fields()) {
    if (is_secret(f)) {
      ++marked;
      EXPECT_EQ(f->cpp_type(), pb::FieldDescriptor::CPPTYPE_STRING) << f->full_name() << ": only text can be redacted";
      continue;
    }
    if (!std::regex_search(f->name(), looks_secret)) continue;
    EXPECT_TRUE(kNotSecret.count(f->full_name()))
        << f->full_name() << " looks secret: mark it [(waypoint.secret) = true] or list it in kNotSecret with why";
  }
  EXPECT_GE(marked, 5u) << "peer key, BFD key, mgmt token, named tokens, HA key material";
  for (const std::string& name : kNotSecret)
    EXPECT_NE(pb::DescriptorPool::generated_pool()->FindFieldByName(name), nullptr) << name << " no longer exists";
}

config::Config with_every_secret() {
  config::Config c;
  c.add_peers()->set_key("peer-key-value-0001");
  c.add_peers()->set_key("peer-key-value-0002");
  c.add_peers();  // no key: stays empty
  c.mutable_path_monitoring()->set_auth_key("bfd-key-value");
  c.mutable_mgmt()->set_token("mgmt-token-value");
  config::MgmtToken* t = c.mutable_mgmt()->add_tokens();
  t->set_name("ops");
  t->set_token("named-token-value");
  c.mutable_router()->set_name("r1");
  return c;
}

TEST(SecretFields, RedactionReachesEveryMarkedField) {
  config::Config c = with_every_secret();
  EXPECT_EQ(secret_values(c).size(), 5u);
  redact_secrets(c);
  EXPECT_TRUE(secret_values(c) == std::vector<std::string>(5, kRedacted));
  EXPECT_EQ(c.peers(2).key(), "") << "absent stays absent";
  EXPECT_EQ(c.mgmt().tokens(0).name(), "ops");
  EXPECT_EQ(c.router().name(), "r1");
  ::waypoint::ha::SessionRecord rec;
  rec.set_key_material("raw");
  rec.set_key_id(7);
  redact_secrets(rec);
  EXPECT_EQ(rec.key_material(), kRedacted);
  EXPECT_EQ(rec.key_id(), 7u);
}

TEST(SecretFields, ErrorsAreScrubbedOfEverySecretValue) {
  const config::Config c = with_every_secret();
  std::vector<ConfigError> errors = {{"mgmt.listen", "\"mgmt-token-value\" is not IPv4:port"},
                                     {"peers[0]", "key peer-key-value-0001 twice: peer-key-value-0001"}};
  scrub_errors(c, errors);
  EXPECT_EQ(errors[0].message, "\"<redacted>\" is not IPv4:port");
  EXPECT_EQ(errors[1].message, "key <redacted> twice: <redacted>");
}

}  // namespace
}  // namespace wp::mgmt
