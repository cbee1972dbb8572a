// libFuzzer target for the HA peer's IKE SA records (docs/ipsec.md § HA,
// dataplane/control/ike/ike_sa_sync.h): the input is a serialized
// waypoint.ha.IkeSaRecord as the HA thread hands it to the IKE service.
// Checked: no crash; a record that decodes is an established IKE SA bound to
// the configured peer, encodes and decodes again to the same SA, and a
// responder adopts it (unless its SPIs are taken) and releases it whole; one
// with `initiator` set (an SA our HA peer's initiator held) is adopted by an
// initiator with its message-ID windows and released whole again.
#include <cstddef>
#include <cstdint>

#include "dataplane/control/ike/ike_initiator.h"
#include "dataplane/control/ike/ike_responder.h"
#include "dataplane/control/ike/ike_sa_sync.h"

namespace {

using namespace wp::ike;

void check(bool ok) {
  if (!ok) __builtin_trap();
}

ResponderConfig config() {
  PeerConfig p;
  p.name = "site1";
  p.local_id = "headend.example";
  p.remote_id = "site1.example";
  p.psk = Bytes(16, 0x42);
  p.tunnel = 0;
  ResponderConfig c;
  c.peers.push_back(p);
  return c;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Responder* responder = new Responder(config());
  waypoint::ha::IkeSaRecord rec;
  if (!rec.ParseFromArray(data, static_cast<int>(size))) return 0;
  ChildSeqs seqs;
  std::string error;
  const std::chrono::steady_clock::time_point now{};  // arrived and sent again at once
  std::unique_ptr<IkeSa> sa = decode_ike_sa(rec, responder->config(), now, seqs, error);
  if (!sa) {
    check(!error.empty());
    return 0;
  }
  check(sa->state == IkeSaState::established && sa->config == &responder->config().peers[0]);
  waypoint::ha::IkeSaRecord again;
  encode_ike_sa(*sa, 1, now, seqs, again);
  ChildSeqs seqs2;
  std::unique_ptr<IkeSa> back = decode_ike_sa(again, responder->config(), now, seqs2, error);
  check(back && back->spi_r == sa->spi_r && back->keys.sk_ei == sa->keys.sk_ei &&
        back->children.size() == sa->children.size() && seqs2 == seqs && sync_fingerprint(*back) == sync_fingerprint(*sa));
  if (rec.initiator()) {
    // An SA our HA peer's initiator held (docs/ipsec.md § HA): our initiator
    // carries it on with the synced windows and gives it back whole.
    InitiatorConfig ic;
    ic.peer = responder->config().peers[0];
    ic.local = sa->local;
    ic.remote = sa->peer;
    Initiator init(ic);
    const InitiatorHaState st{rec.nat_t(), rec.nat_local(), rec.nat_remote(), rec.newest_child()};
    const uint64_t spi_i = sa->spi_i, spi_r = sa->spi_r;
    // The peer's messages on an SA its rekey began carry its SPI first and
    // the Initiator flag (IkeSa::peer_initiated).
    const bool peer_began = sa->peer_initiated;
    const uint32_t peer_next = sa->next_request_id, own_next = sa->own_next_request_id;
    const size_t children = sa->children.size();
    check(init.adopt(std::move(sa), st, Initiator::Clock::now()));
    check(init.state() == InitiatorState::established && (peer_began ? init.owns(spi_r, spi_i, true) : init.owns(spi_i)) &&
          init.child_count() == children);
    check(init.ha_state().nat_t == rec.nat_t() && (children == 0) == (init.ha_state().newest_child == 0));
    std::unique_ptr<IkeSa> out = init.release();
    check(out && out->spi_i == spi_i && out->next_request_id == peer_next && out->own_next_request_id == own_next &&
          out->children.size() == children && init.state() == InitiatorState::idle && !init.sa());
    return 0;
  }
  const uint64_t spi_r = sa->spi_r;
  const size_t held = responder->sas().size();
  if (responder->adopt(std::move(sa), Responder::Clock::now())) {
    check(responder->sas().size() == held + 1);
    std::unique_ptr<IkeSa> out = responder->release(spi_r);
    check(out && out->spi_r == spi_r && responder->sas().size() == held);
  }
  return 0;
}
