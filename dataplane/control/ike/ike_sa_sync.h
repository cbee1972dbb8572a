// IKE and Child SA state as the HA pair syncs it (docs/ipsec.md § HA,
// proto/ha.proto IkeSaRecord), after what strongSwan's HA plugin carries:
// SPIs, suite, SK_d/ai/ar/ei/er/pi/pr, both endpoints and NAT-T state, the
// peer's message-ID window with our last response (a retransmitted request
// is answered byte for byte by the node that took over), the ipsec_peers
// entry it authenticated as, and every Child SA (SPIs, suite, four keys,
// narrowed selectors) with the latest ESP numbers the holder published and
// its lifetime's age and bytes (the node that carries it on keeps its
// deadlines, docs/ipsec.md § HA, Lifetimes).
// Only established responder SAs travel. Keys are copied into secret
// fields and wiped with the SA (IkeSa/ChildSa destructors); no error string
// or log line here ever holds one. Control thread only.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "dataplane/control/ike/ike_sa.h"
#include "dataplane/ip/ip_address.h"
#include "ha.pb.h"

namespace wp::ike {

// The ESP numbers of one Child SA as last published by its holder, and
// where its lifetime stands there: a node that carries it on keeps its
// deadlines and its bytes.
struct ChildSeq {
  uint64_t seq_out = 0;     // outbound counter
  uint64_t replay_top = 0;  // inbound replay window top
  uint64_t bytes = 0;       // inner bytes sealed and opened, toward child_lifetime_bytes
  // When its lifetime began, on the clock of encode's and decode's `now`;
  // none: not known (an older peer's record), it begins at the install.
  std::optional<std::chrono::steady_clock::time_point> born{};
  bool operator==(const ChildSeq&) const = default;
};
using ChildSeqs = std::map<uint32_t, ChildSeq>;  // by spi_in

// `sa` (established, authenticated) into `rec` as an UPSERT from `node`,
// its age as of `now` (the clock of IkeSa::created).
void encode_ike_sa(const IkeSa& sa, uint32_t node, std::chrono::steady_clock::time_point now, const ChildSeqs& seqs,
                   waypoint::ha::IkeSaRecord& rec);

// A record back into an IKE SA bound to the ipsec_peers entry of `config`
// it names, made its age before `now` (when it arrived, on our clock); null with `error` (SPIs, peer names, lengths:
// never a key) when it names no configured peer, its tunnel index differs from ours (the pair must have the same
// tunnels and ipsec_peers), a suite or key length is not one we use, or its addresses are not two IPv4 or two IPv6
// ones.
std::unique_ptr<IkeSa> decode_ike_sa(const waypoint::ha::IkeSaRecord& rec, const ResponderConfig& config,
                                     std::chrono::steady_clock::time_point now, ChildSeqs& seqs, std::string& error);

// The ESP numbers in `seqs` that differ from what the peer last heard
// (`heard`, brought up to date) as IkeSeqMarks appended to `msg`; how many.
size_t add_seq_marks(const ChildSeqs& seqs, ChildSeqs& heard, waypoint::ha::IkeSync& msg);

// An SPI as 16 hex digits, as logs and errors name SAs.
std::string spi_text(uint64_t spi);

// An address field of a record or an SA's endpoint (network order, 4 or 16
// bytes) as an IpAddress; unset (0.0.0.0) for any other length.
inline IpAddress record_address(const Bytes& b) { return IpAddress::from_bytes(b).value_or(IpAddress{}); }

// Changes when anything the peer must hear about changed: state, the
// message-ID window and stored response, endpoints, the set of Child SAs.
uint64_t sync_fingerprint(const IkeSa& sa);

}  // namespace wp::ike
