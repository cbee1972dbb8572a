// From negotiated Child SAs to the ESP SA table (dataplane/control/ike/child_esp.h).
//
// A Child SA as the responder stores it (the four keys of RFC 7296 § 2.17)
// goes into an EspSaBook; the table it builds must seal what a site holding
// the same keys the other way round opens, and open what that site seals
// (so "in" and "out" are not swapped). Rekeys are make before break: the
// newest Child SA seals at once, the old one opens until deleted, and when
// the sealing one is deleted first the tunnel falls back to the newest left.
#include <gtest/gtest.h>

#include <cstring>
#include <map>
#include <memory>
#include <random>
#include <vector>

#include "dataplane/control/ike/child_esp.h"
#include "dataplane/ipsec/esp_input.h"
#include "dataplane/ipsec/esp_output.h"
#include "tests/unit/eal_env.h"
#include "tests/unit/pkt_builder.h"

namespace wp {
namespace {

using test::ip;
using test::Pkt;
using test::test_pool;

ike::Bytes random_bytes(std::mt19937& rng, size_t n) {
  ike::Bytes b(n);
  for (auto& x : b) x = static_cast<uint8_t>(rng());
  return b;
}

ike::ChildSa child(std::mt19937& rng, bool gcm, uint16_t tunnel) {
  ike::ChildSa c;
  c.suite = gcm ? ike::EspSuite{ike::kEncrAesGcm16, 0, false}
                : ike::EspSuite{ike::kEncrAesCbc, ike::kIntegHmacSha256_128, true};
  c.spi_in = spi_for_tunnel(static_cast<uint32_t>(rng()), tunnel);
  c.spi_out = static_cast<uint32_t>(rng()) | 0x1000;
  c.enc_in = random_bytes(rng, c.suite.encr_key_len());
  c.integ_in = random_bytes(rng, c.suite.integ_key_len());
  c.enc_out = random_bytes(rng, c.suite.encr_key_len());
  c.integ_out = random_bytes(rng, c.suite.integ_key_len());
  return c;
}

const TunnelEndpoint kEp{2, ip("198.51.100.1"), ip("203.0.113.9"), 4500, 4500, true};

// The site's side of `c`: it seals with our inbound keys and SPI, opens with our outbound ones.
struct Site {
  std::unique_ptr<EspSaTable> table = std::make_unique<EspSaTable>();
  EspWorkerState state;
  Site(CryptoEngine& eng, const ike::ChildSa& c) {
    const EspCipher cipher = c.suite.aead() ? EspCipher::aes256_gcm16 : EspCipher::aes256_cbc_hmac_sha256;
    auto sa = [&](uint32_t spi, bool inbound, const ike::Bytes& enc, const ike::Bytes& integ, uint32_t gen) {
      EspSa s;
      s.spi = spi;
      s.generation = gen;
      s.tunnel = 0;
      s.inbound = inbound;
      s.local = kEp.peer.v4;
      s.peer = kEp.local.v4;
      ike::Bytes km = enc;
      km.insert(km.end(), integ.begin(), integ.end());
      esp_keys_init(eng, cipher, c.suite.esn, km.data(), s.keys);
      return s;
    };
    EXPECT_TRUE(table->install(0, sa(c.spi_out, true, c.enc_out, c.integ_out, 1)));
    EXPECT_TRUE(table->install(1, sa(c.spi_in, false, c.enc_in, c.integ_in, 1)));
    table->mutable_tunnel(0).out_sa = 1;
  }
};

rte_mbuf* inner_packet() {
  rte_mbuf* m = Pkt().ipv4("10.50.0.7", "10.60.0.9").udp(1234, 80).payload("hello").mbuf(test_pool());
  rte_pktmbuf_adj(m, 14);
  return m;
}

// Seals on `from` (tunnel `t`) and opens on `to`; true when the inner packet came back.
bool carries(CryptoEngine& eng, IvSource& ivs, const EspSaTable& from, EspWorkerState& fs, uint16_t t,
             const EspSaTable& to, EspWorkerState& ts) {
  rte_mbuf* m = inner_packet();
  EspResult r;
  esp_output_burst(eng, ivs, from, fs, &m, &t, 1, &r);
  if (r.ok) esp_input_burst(eng, to, ts, &m, 1, &r);
  const bool ok = r.ok && m->data_len == 33 && std::memcmp(rte_pktmbuf_mtod(m, char*) + 28, "hello", 5) == 0;
  rte_pktmbuf_free(m);
  return ok;
}

class ChildEsp : public testing::TestWithParam<bool> {
 protected:
  CryptoEngine eng;
  IvSource ivs{eng};
  std::mt19937 rng{7};
  EspSaBook book;
  EspWorkerState ours;
};

TEST_P(ChildEsp, BookTableTalksToTheSite) {
  const ike::ChildSa c = child(rng, GetParam(), kEp.tunnel);
  std::string error;
  ASSERT_TRUE(book.add(eng, c, kEp, error)) << error;
  const auto table = book.build();
  ASSERT_NE(table->inbound(c.spi_in), nullptr);
  ASSERT_NE(table->outbound(kEp.tunnel), nullptr);
  EXPECT_EQ(table->outbound(kEp.tunnel)->spi, c.spi_out);
  EXPECT_EQ(table->outbound(kEp.tunnel)->peer, kEp.peer.v4);
  Site site(eng, c);
  EXPECT_TRUE(carries(eng, ivs, *table, ours, kEp.tunnel, *site.table, site.state));  // headend -> site
  EXPECT_TRUE(carries(eng, ivs, *site.table, site.state, 0, *table, ours));           // site -> headend
}

INSTANTIATE_TEST_SUITE_P(Gcm, ChildEsp, testing::Values(true, false));

TEST_F(ChildEsp, RekeyIsMakeBeforeBreak) {
  const ike::ChildSa old_sa = child(rng, true, 2), new_sa = child(rng, true, 2), newest = child(rng, false, 2);
  std::string error;
  ASSERT_TRUE(book.add(eng, old_sa, kEp, error));
  ASSERT_TRUE(book.add(eng, new_sa, kEp, error));
  Site site_old(eng, old_sa), site_new(eng, new_sa);
  auto table = book.build();
  EXPECT_EQ(table->outbound(2)->spi, new_sa.spi_out);  // the new SA seals at once
  EXPECT_TRUE(carries(eng, ivs, *site_old.table, site_old.state, 0, *table, ours));  // the old one still opens
  EXPECT_TRUE(carries(eng, ivs, *table, ours, 2, *site_new.table, site_new.state));
  ASSERT_TRUE(book.remove(old_sa.spi_in));  // the peer deleted the old Child SA
  EXPECT_FALSE(book.remove(old_sa.spi_in));
  table = book.build();
  EXPECT_EQ(table->inbound(old_sa.spi_in), nullptr);
  EXPECT_FALSE(carries(eng, ivs, *site_old.table, site_old.state, 0, *table, ours));
  EXPECT_TRUE(carries(eng, ivs, *site_new.table, site_new.state, 0, *table, ours));
  // The sealing SA deleted first: the newest one left seals.
  ASSERT_TRUE(book.add(eng, newest, kEp, error));
  EXPECT_EQ(book.build()->outbound(2)->spi, newest.spi_out);
  ASSERT_TRUE(book.remove(newest.spi_in));
  EXPECT_EQ(book.build()->outbound(2)->spi, new_sa.spi_out);
  ASSERT_TRUE(book.remove(new_sa.spi_in));
  EXPECT_EQ(book.build()->outbound(2), nullptr);
  EXPECT_EQ(book.child_sas(), 0u);
}

// The site's rekey we answered (docs/ipsec.md § Rekeying, RFC 7296 § 2.8):
// the old SA seals until a packet authenticates on the new one in the
// worker that owns both, which then seals on the new one from the same
// table; a forged packet or one on the old SA changes nothing.
TEST_F(ChildEsp, SitesRekeySealsOnTheOldUntilItsFirstPacketOnTheNew) {
  const ike::ChildSa old_sa = child(rng, true, 2);
  ike::ChildSa new_sa = child(rng, true, 2), forged = child(rng, true, 2);
  new_sa.seal_deferred = true;
  forged.spi_in = new_sa.spi_in;  // the new SPI, other keys
  std::string error;
  ASSERT_TRUE(book.add(eng, old_sa, kEp, error));
  ASSERT_TRUE(book.add(eng, new_sa, kEp, error));
  EXPECT_EQ(book.pending(2), new_sa.spi_in);
  EXPECT_EQ(book.sealing_child(2), old_sa.spi_in);
  Site site_old(eng, old_sa), site_new(eng, new_sa), site_forged(eng, forged);
  const auto table = book.build();
  EXPECT_EQ(table->outbound(2)->spi, old_sa.spi_out);
  EXPECT_TRUE(carries(eng, ivs, *table, ours, 2, *site_old.table, site_old.state));
  EXPECT_FALSE(carries(eng, ivs, *table, ours, 2, *site_new.table, site_new.state));
  EXPECT_TRUE(carries(eng, ivs, *site_old.table, site_old.state, 0, *table, ours));
  EXPECT_FALSE(carries(eng, ivs, *site_forged.table, site_forged.state, 0, *table, ours));
  EXPECT_EQ(ours.sealing(*table, 2)->spi, old_sa.spi_out);
  EXPECT_TRUE(carries(eng, ivs, *site_new.table, site_new.state, 0, *table, ours));  // the site's first on the new
  EXPECT_EQ(ours.sealing(*table, 2)->spi, new_sa.spi_out);
  EXPECT_TRUE(carries(eng, ivs, *table, ours, 2, *site_new.table, site_new.state));
  EXPECT_EQ(table->outbound(2)->spi, old_sa.spi_out);  // published tables never change
  EspWorkerState other;  // a worker that saw no packet of it (the HA peer's, a restart) keeps the old
  EXPECT_EQ(other.sealing(*table, 2)->spi, old_sa.spi_out);
  EXPECT_TRUE(book.promote(2));  // the control thread learns it
  EXPECT_FALSE(book.promote(2));
  EXPECT_EQ(book.pending(2), 0u);
  EXPECT_EQ(other.sealing(*book.build(), 2)->spi, new_sa.spi_out);
}

// What ends a pending switch besides a packet: the old SA's Delete (the
// newest left seals: the pending one), the pending SA's own Delete or drain
// (the old keeps sealing), a Child SA that seals at once (ours).
TEST_F(ChildEsp, SitesRekeyPendingEndsWithDeletesAndOurRekey) {
  const ike::ChildSa old_sa = child(rng, true, 2), ours_new = child(rng, true, 2);
  ike::ChildSa a = child(rng, true, 2), b = child(rng, true, 2), c = child(rng, true, 2);
  a.seal_deferred = b.seal_deferred = c.seal_deferred = true;
  std::string error;
  ASSERT_TRUE(book.add(eng, a, kEp, error));  // nothing sealed yet: seals at once
  EXPECT_EQ(book.pending(2), 0u);
  EXPECT_EQ(book.build()->outbound(2)->spi, a.spi_out);
  ASSERT_TRUE(book.remove(a.spi_in));
  ASSERT_TRUE(book.add(eng, old_sa, kEp, error));
  ASSERT_TRUE(book.add(eng, a, kEp, error));
  ASSERT_TRUE(book.remove(old_sa.spi_in));  // the site's Delete of the old SA
  EXPECT_EQ(book.pending(2), 0u);
  EXPECT_EQ(book.build()->outbound(2)->spi, a.spi_out);
  ASSERT_TRUE(book.add(eng, b, kEp, error));
  EXPECT_EQ(book.pending(2), b.spi_in);
  ASSERT_TRUE(book.remove(b.spi_in));  // the pending one deleted
  EXPECT_EQ(book.pending(2), 0u);
  EXPECT_EQ(book.build()->tunnel(2)->pending_out, kEspNoSa);
  ASSERT_TRUE(book.add(eng, c, kEp, error));
  ASSERT_TRUE(book.drain(c.spi_in));  // rekeyed away before it sealed
  EXPECT_EQ(book.pending(2), 0u);
  ASSERT_TRUE(book.add(eng, b, kEp, error));
  ASSERT_TRUE(book.add(eng, ours_new, kEp, error));  // our rekey's answer: seals at once
  EXPECT_EQ(book.pending(2), 0u);
  EXPECT_EQ(book.build()->outbound(2)->spi, ours_new.spi_out);
  EXPECT_FALSE(book.promote(2));
  EXPECT_EQ(ours.sealing(*book.build(), 2)->spi, ours_new.spi_out);
}

// The site's NAT mapping moved (RFC 7296 § 2.23): only the port changes,
// slots and generations stay (the workers' numbers and replay window go on).
TEST_F(ChildEsp, PeerPortFollowsTheNatKeepingGenerations) {
  const ike::ChildSa c = child(rng, true, kEp.tunnel);
  std::string error;
  ASSERT_TRUE(book.add(eng, c, kEp, error)) << error;
  EspSaBook::Slots before, after;
  ASSERT_TRUE(book.slots(c.spi_in, before));
  EXPECT_FALSE(book.set_peer_port(c.spi_in, kEp.peer_port));  // unchanged
  EXPECT_TRUE(book.set_peer_port(c.spi_in, 31337));
  EXPECT_FALSE(book.set_peer_port(c.spi_in ^ 1, 31337));  // unknown
  ASSERT_TRUE(book.slots(c.spi_in, after));
  EXPECT_EQ(after.in_generation, before.in_generation);
  EXPECT_EQ(after.out_generation, before.out_generation);
  const auto table = book.build();
  EXPECT_EQ(table->outbound(kEp.tunnel)->peer_port, 31337);
  EXPECT_EQ(table->inbound(c.spi_in)->peer_port, 31337);
  EXPECT_EQ(table->outbound(kEp.tunnel)->spi, c.spi_out);
}

// A Child SA rekeyed away drains: its inbound keeps opening, but it never
// seals again, not even when the SA that replaced it goes first.
TEST_F(ChildEsp, DrainingSaOpensButNeverSeals) {
  const ike::ChildSa old_sa = child(rng, true, 2), new_sa = child(rng, true, 2);
  std::string error;
  ASSERT_TRUE(book.add(eng, old_sa, kEp, error));
  ASSERT_TRUE(book.add(eng, new_sa, kEp, error));
  Site site_old(eng, old_sa);
  ASSERT_TRUE(book.drain(old_sa.spi_in));
  EXPECT_FALSE(book.drain(0x12345678u));
  auto table = book.build();
  EXPECT_EQ(table->outbound(2)->spi, new_sa.spi_out);
  EXPECT_TRUE(carries(eng, ivs, *site_old.table, site_old.state, 0, *table, ours));  // still opens
  ASSERT_TRUE(book.remove(new_sa.spi_in));
  table = book.build();
  EXPECT_EQ(table->outbound(2), nullptr);  // not the draining one
  EXPECT_NE(table->inbound(old_sa.spi_in), nullptr);
  ASSERT_TRUE(book.remove(old_sa.spi_in));
  EXPECT_EQ(book.build()->inbound(old_sa.spi_in), nullptr);
  EXPECT_EQ(book.child_sas(), 0u);
}

TEST_F(ChildEsp, RefusalsSayWhy) {
  ike::ChildSa c = child(rng, true, 2);
  std::string error;
  ASSERT_TRUE(book.add(eng, c, kEp, error));
  EXPECT_FALSE(book.add(eng, c, kEp, error));
  EXPECT_EQ(error, "inbound SPI already installed");
  ike::ChildSa bad = child(rng, true, 2);
  bad.integ_in = ike::Bytes(32);  // CBC's integrity key on a GCM SA
  EXPECT_FALSE(book.add(eng, bad, kEp, error));
  EXPECT_NE(error.find("key lengths"), std::string::npos);
  TunnelEndpoint far = kEp;
  far.tunnel = kMaxEspTunnels;
  EXPECT_FALSE(book.add(eng, child(rng, true, 0), far, error));
  TunnelEndpoint mixed = kEp;  // an IPv6 site, an IPv4 local address (docs/ipsec.md § IPv6 outer addresses)
  mixed.peer = IpAddress(*parse_ipv6("2001:db8:ff::9"));
  EXPECT_FALSE(book.add(eng, child(rng, true, 0), mixed, error));
  EXPECT_EQ(error, "outer addresses of two families");
  TunnelEndpoint six = mixed;  // both IPv6: an outer6 pair
  six.local = IpAddress(*parse_ipv6("2001:db8:ff::2"));
  ike::ChildSa c6 = child(rng, true, 2);
  ASSERT_TRUE(book.add(eng, c6, six, error)) << error;
  const auto t6 = book.build();
  ASSERT_NE(t6->inbound(c6.spi_in), nullptr);
  EXPECT_TRUE(t6->inbound(c6.spi_in)->outer6);
  EXPECT_EQ(t6->inbound(c6.spi_in)->peer6, six.peer.addr6);
  EXPECT_EQ(t6->inbound(c6.spi_in)->local6, six.local.addr6);
  EXPECT_TRUE(book.remove(c6.spi_in));
  // A reused slot gets a new generation: a worker's state for it starts afresh.
  const uint32_t gen = book.build()->inbound(c.spi_in)->generation;
  ASSERT_TRUE(book.remove(c.spi_in));
  ASSERT_TRUE(book.add(eng, c, kEp, error));
  EXPECT_GT(book.build()->inbound(c.spi_in)->generation, gen);
}

// Issue #20: thousands of sites. Every tunnel holds two Child SAs (a
// rekey's make before break) at once: all 16 384 slots are found, the next
// Child SA is refused with the reason, and a freed pair of slots is taken again.
TEST_F(ChildEsp, FullScaleInstallLookupRemove) {
  std::vector<ike::ChildSa> children;
  std::string error;
  for (uint32_t k = 0; k < kMaxEspSas / 2; ++k) {
    TunnelEndpoint ep = kEp;
    ep.tunnel = static_cast<uint16_t>(k % kMaxEspTunnels);
    children.push_back(child(rng, k % 2 == 0, ep.tunnel));
    ASSERT_TRUE(book.add(eng, children.back(), ep, error)) << k << ": " << error;
  }
  EXPECT_EQ(book.child_sas(), kMaxEspSas / 2);
  auto table = book.build();
  for (uint32_t k = 0; k < children.size(); ++k) {
    const EspSa* in = table->inbound(children[k].spi_in);
    ASSERT_NE(in, nullptr) << k;
    EXPECT_EQ(in->tunnel, k % kMaxEspTunnels);
    EXPECT_LE(table->probes(children[k].spi_in), 64u);
  }
  for (uint32_t t = 0; t < kMaxEspTunnels; ++t)  // the newest of each tunnel seals
    ASSERT_EQ(table->outbound(t)->spi, children[t + kMaxEspTunnels].spi_out) << t;
  TunnelEndpoint ep = kEp;
  EXPECT_FALSE(book.add(eng, child(rng, true, 2), ep, error));
  EXPECT_EQ(error, "ESP SA table full (16384 SAs)");
  // The older Child SA of every tunnel leaves; the newer ones stay found.
  for (uint32_t t = 0; t < kMaxEspTunnels; ++t) ASSERT_TRUE(book.remove(children[t].spi_in));
  table = book.build();
  for (uint32_t k = 0; k < children.size(); ++k)
    ASSERT_EQ(table->inbound(children[k].spi_in) != nullptr, k >= kMaxEspTunnels) << k;
  const ike::ChildSa again = child(rng, false, 2);
  ASSERT_TRUE(book.add(eng, again, ep, error)) << error;
  EspSaBook::Slots slots;
  ASSERT_TRUE(book.slots(again.spi_in, slots));
  EXPECT_EQ(slots.in, 0);  // the lowest free slots
  EXPECT_EQ(slots.out, 1);
}

// A publish copies the slot pointers, the SPI index and the tunnels, never
// an SA: what did not change is the same object in both tables, and a
// retired table keeps what it held (keys intact) after the book let go.
TEST_F(ChildEsp, PublishSharesUnchangedSas) {
  std::vector<ike::ChildSa> children;
  std::string error;
  for (uint16_t t = 0; t < 100; ++t) {
    TunnelEndpoint ep = kEp;
    ep.tunnel = t;
    children.push_back(child(rng, t % 2 == 0, t));
    ASSERT_TRUE(book.add(eng, children.back(), ep, error)) << error;
  }
  auto before = book.build();
  TunnelEndpoint ep = kEp;
  ep.tunnel = 7;
  const ike::ChildSa rekeyed = child(rng, true, 7);
  ASSERT_TRUE(book.add(eng, rekeyed, ep, error));
  ASSERT_TRUE(book.remove(children[3].spi_in));
  ASSERT_TRUE(book.set_peer_port(children[5].spi_in, 40000));
  const auto after = book.build();
  size_t shared = 0;
  for (uint16_t s = 0; s < kMaxEspSas; ++s) {
    if (!before->ref(s) || !after->ref(s)) continue;
    const bool changed = before->slot(s).spi == children[5].spi_in || before->slot(s).spi == children[5].spi_out;
    EXPECT_EQ(&before->slot(s) == &after->slot(s), !changed) << s;
    shared += !changed;
  }
  EXPECT_EQ(shared, 2u * 100 - 2 - 2);  // all but the removed and the re-ported Child SAs
  EXPECT_EQ(after->inbound(children[5].spi_in)->peer_port, 40000);
  EXPECT_EQ(before->inbound(children[5].spi_in)->peer_port, kEp.peer_port);  // published tables never change
  EXPECT_EQ(after->inbound(children[5].spi_in)->generation, before->inbound(children[5].spi_in)->generation);
  EXPECT_EQ(after->inbound(children[3].spi_in), nullptr);
  EXPECT_EQ(after->outbound(7)->spi, rekeyed.spi_out);
  EXPECT_EQ(before->outbound(7)->spi, children[7].spi_out);
  // The removed Child SA still works through the table published before.
  Site site3(eng, children[3]);
  EXPECT_TRUE(carries(eng, ivs, *site3.table, site3.state, 0, *before, ours));
  EXPECT_FALSE(carries(eng, ivs, *site3.table, site3.state, 0, *after, ours));
  // Its object goes with the last table that holds it.
  const std::weak_ptr<const EspSa> gone = before->ref(before->inbound(children[3].spi_in)->slot);
  EXPECT_FALSE(gone.expired());
  before.reset();
  EXPECT_TRUE(gone.expired());
}

// Generations: every SA installed gets one never used before (both
// directions, a re-added SPI too); a reused slot's worker state starts
// afresh; a port change keeps them (the state goes on).
TEST_F(ChildEsp, GenerationsAndReusedSlotState) {
  std::string error;
  const ike::ChildSa a = child(rng, true, 2), b = child(rng, false, 2);
  ASSERT_TRUE(book.add(eng, a, kEp, error));
  EspSaBook::Slots sa, sb;
  ASSERT_TRUE(book.slots(a.spi_in, sa));
  EXPECT_NE(sa.in_generation, sa.out_generation);
  auto table = book.build();
  EspSaState& st = ours.of(*table, table->slot(sa.out));
  st.seq_out = 1234;
  ASSERT_TRUE(book.remove(a.spi_in));
  ASSERT_TRUE(book.add(eng, b, kEp, error));
  ASSERT_TRUE(book.slots(b.spi_in, sb));
  EXPECT_EQ(sb.in, sa.in);  // the same slots, reused
  EXPECT_EQ(sb.out, sa.out);
  EXPECT_GT(sb.in_generation, sa.out_generation);
  EXPECT_GT(sb.out_generation, sa.out_generation);
  table = book.build();
  EXPECT_EQ(ours.of(*table, table->slot(sb.out)).seq_out, 0u);  // afresh
  ours.of(*table, table->slot(sb.out)).seq_out = 99;
  ASSERT_TRUE(book.set_peer_port(b.spi_in, 4501));
  table = book.build();
  EXPECT_EQ(ours.of(*table, table->slot(sb.out)).seq_out, 99u);  // goes on
  ASSERT_TRUE(book.remove(b.spi_in));
  ASSERT_TRUE(book.add(eng, b, kEp, error));  // the same SPI again: new generations
  EspSaBook::Slots again;
  ASSERT_TRUE(book.slots(b.spi_in, again));
  EXPECT_GT(again.in_generation, sb.out_generation);
}

// 1 000 sites through the book the IKE service feeds: ESP passes both ways
// on several of them, before and after one of them is rekeyed.
TEST_F(ChildEsp, ThousandSitesCarryBothWays) {
  constexpr uint16_t kSites = 1000;
  std::vector<ike::ChildSa> children;
  std::string error;
  for (uint16_t t = 0; t < kSites; ++t) {
    TunnelEndpoint ep = kEp;
    ep.tunnel = t;
    children.push_back(child(rng, t % 3 != 0, t));
    ASSERT_TRUE(book.add(eng, children.back(), ep, error)) << t << ": " << error;
  }
  auto table = book.build();
  std::map<uint16_t, std::unique_ptr<Site>> sites;  // each site's numbers go on across the checks
  for (const uint16_t t : {0, 1, 63, 64, 500, 998, 999}) {
    Site& site = *(sites[t] = std::make_unique<Site>(eng, children[t]));
    EXPECT_TRUE(carries(eng, ivs, *table, ours, t, *site.table, site.state)) << t;  // headend -> site
    EXPECT_TRUE(carries(eng, ivs, *site.table, site.state, 0, *table, ours)) << t;  // site -> headend
    EXPECT_FALSE(carries(eng, ivs, *table, ours, static_cast<uint16_t>(t ^ 1), *site.table, site.state)) << t;
  }
  TunnelEndpoint ep = kEp;
  ep.tunnel = 500;
  const ike::ChildSa rekeyed = child(rng, true, 500);
  ASSERT_TRUE(book.add(eng, rekeyed, ep, error)) << error;
  table = book.build();
  Site& old_site = *sites[500];
  Site new_site(eng, rekeyed);
  EXPECT_TRUE(carries(eng, ivs, *table, ours, 500, *new_site.table, new_site.state));
  EXPECT_TRUE(carries(eng, ivs, *old_site.table, old_site.state, 0, *table, ours));  // make before break
  EXPECT_TRUE(carries(eng, ivs, *new_site.table, new_site.state, 0, *table, ours));
  EXPECT_TRUE(carries(eng, ivs, *sites[999]->table, sites[999]->state, 0, *table, ours));
  EXPECT_TRUE(carries(eng, ivs, *table, ours, 999, *sites[999]->table, sites[999]->state));
}

}  // namespace
}  // namespace wp
