// One SVR session as a worker holds it (docs/architecture.md § Sessions).
//
// A session has two sides. Forward packets (client -> service) arrive on side
// A and leave on side B; reverse packets the other way. A side is the LAN or a
// WAN leg to a peer, so one struct covers the ingress router (A = LAN,
// B = WAN), the last hop (A = WAN, B = LAN) and transit (A = WAN, B = WAN).
// The tuple a packet carries when it *leaves* a side is stored (`out_fwd`
// leaves B, `out_rev` leaves A); the tuple it carries when it *arrives* is the
// reverse of that, so both table keys are derived, not stored.
// Handshake (docs/svr-wire-format.md § Handshake), per WAN leg: `fwd_md_acked` stops forward
// metadata on leg B once reverse metadata with TLV 18 arrived; `rev_md_pending`
// keeps reverse metadata on leg A until a forward packet came without it.
#pragma once

#include <cstdint>

#include "dataplane/ip/tuple.h"
#include "dataplane/session/uuid.h"

namespace wp {

enum class Dir : uint8_t { forward = 0, reverse = 1 };

// A session keeps its peer's index in SideOut::peer (16 bits signed); a
// router takes at most this many peers (validated: peers[]). The IPv6
// waypoint stand-ins encode as many (control/waypoint6_addr.h,
// kWaypoint6MaxPeers), and the per-peer arrays (crypto/pair_keys.h
// kMaxKeyPeers) are sized to it.
inline constexpr int kMaxSessionPeers = 16256;
static_assert(kMaxSessionPeers <= INT16_MAX, "SideOut::peer must hold every peer index");

// `peer` follows `key_version` so that the struct stays 24 bytes; the
// constructor keeps the order callers name them in (tuple, next hop,
// interface, peer, key version).
struct SideOut {
  FiveTuple tuple;    // addresses/ports written on packets leaving this side
  Ipv4 next_hop = 0;  // resolved with ARP on `iface`
  int8_t iface = -1;
  // WAN leg: the pair-key version its session keys were derived from (0:
  // none); the HA peer re-derives with it (crypto/pair_keys.h).
  uint8_t key_version = 0;
  int16_t peer = -1;  // WAN leg: peer index (HMAC key); LAN: -1

  SideOut() = default;
  SideOut(const FiveTuple& t, Ipv4 hop, int iface_index, int peer_index = -1, uint8_t version = 0)
      : tuple(t),
        next_hop(hop),
        iface(static_cast<int8_t>(iface_index)),
        key_version(version),
        peer(static_cast<int16_t>(peer_index)) {}

  bool operator==(const SideOut&) const = default;  // the fields, never the padding
};
static_assert(sizeof(SideOut) == 24, "SideOut grew: Session would too");

enum SessionFlags : uint8_t {
  kFwdMdAcked = 1 << 0,    // leg B: peer acked our forward metadata (TLV 18)
  kRevMdPending = 1 << 1,  // leg A: keep sending reverse metadata
  kReverseSeen = 1 << 2,   // any reverse packet: TCP/UDP "established"
  kFinFwd = 1 << 3,
  kFinRev = 1 << 4,
  kRst = 1 << 5,
  kEstablished = 1 << 6,  // "established" event posted (session/events.h)
  // Synced from the HA peer, which owns and ages it; never expired
  // here until a takeover makes it ours (worker/ha_dataplane.h).
  kPeerSession = 1 << 7,
};

// What the session does to its data on its WAN legs (docs/svr-wire-format.md §
// Security). Keys are in the worker's KeySlab, one slot per WAN side.
// reads it: a session with kCryptoHmacAll needs software on every packet.
enum SessionCrypto : uint8_t {
  kCryptoEncrypt = 1 << 0,       // AES-256-CBC on the data of every packet (TLV 11)
  kCryptoHmacAll = 1 << 1,       // HMAC-SHA256-128 trailer on every packet, session key
  kCryptoAdaptiveSkip = 1 << 2,  // policy encrypts, but the data already was (TLS, DTLS, ESP, IKE)
  kCryptoPending = 1 << 3,       // adaptive: no data seen yet to decide on
};

inline constexpr uint16_t kAppDone = 0xFFFF;  // Session::app_slot: not (or no longer) classifying
inline constexpr uint16_t kAppDenied = 0xFFFE;  // Session::app_slot: refused for its application, dropping

struct Session {
  FiveTuple original;  // client -> service as the client sent it
  SideOut out_fwd;     // leaving side B
  SideOut out_rev;     // leaving side A
  SessionUuid uuid;
  int16_t tenant = -1, service = -1, security = -1;
  uint8_t flags = 0;
  uint8_t in_use = 0;
  uint16_t md_only_ms = 0;  // when metadata last left in a packet of its own (low 16 bits of ms)
  // QoS class on shaped WAN ports (qos/scheduler.h QosClass) + 1; 0 = best-effort
  // (a zeroed session). From the service; in the padding before created_ms: no growth.
  uint8_t qos = 0;
  // Internet breakout: out_fwd.tuple.sport is a source-NAT port from the
  // worker's pool (session/nat_ports.h), given back when the session ends.
  // In the padding before created_ms: no growth.
  uint8_t nat = 0;
  uint32_t created_ms = 0;
  uint32_t last_ms = 0;
  // The application (nDPI id, apps/classifier.h; kAppUnknown = none found or not yet) and,
  // while the ingress router's worker still classifies the session, its classifier slot
  // (kAppDone otherwise; kAppDenied once refused: its packets are dropped until it ages out).
  // Both in the 4 bytes of padding before `packets`: no growth.
  uint16_t app = 0;
  uint16_t app_slot = 0xFFFF;
  uint64_t packets[2] = {0, 0};  // by Dir
  uint64_t bytes[2] = {0, 0};
  uint32_t key_slot[2] = {UINT32_MAX, UINT32_MAX};  // KeySlab slot per side (0 = A, 1 = B)
  uint8_t crypto = 0;                               // SessionCrypto bits
  // Generation of the RouterModel whose indexes tenant/service/security/peer
  // hold (svr/policy_recheck.h re-maps a session the first time a packet or
  // the re-check sweep finds it behind).
  uint8_t model_gen = 0;
  uint16_t migrations = 0;  // times a WAN side moved path (saturates); fits in padding
  // Worker clock of the last `update` event (0: none yet, count from created_ms).
  uint32_t updated_ms = 0;

  FiveTuple key_a() const { return out_rev.tuple.reversed(); }  // forward packets arrive with this
  FiveTuple key_b() const { return out_fwd.tuple.reversed(); }  // reverse packets arrive with this
  // Side 0 = A (out_rev), 1 = B (out_fwd), as key_slot.
  uint8_t key_version(int side) const { return side == 0 ? out_rev.key_version : out_fwd.key_version; }
  bool side_a_wan() const { return out_rev.peer >= 0; }
  bool side_b_wan() const { return out_fwd.peer >= 0; }
  // QosClass values; kQosBestEffort for a session that never had one.
  static constexpr uint8_t kQosBestEffort = 5;
  // The top bit of `qos`: the session is duplicated (svr/duplication.h): its
  // forward packets without metadata carry a sequence number, and the ingress
  // sends each over two paths. Kept across class changes.
  static constexpr uint8_t kQosDuplicated = 0x80;
  uint8_t qos_class() const {
    const uint8_t q = qos & static_cast<uint8_t>(~kQosDuplicated);
    return q ? static_cast<uint8_t>(q - 1) : kQosBestEffort;
  }
  void set_qos_class(uint8_t cls) { qos = static_cast<uint8_t>((qos & kQosDuplicated) | (cls + 1)); }
  bool duplicated() const { return (qos & kQosDuplicated) != 0; }
  void set_duplicated() { qos = static_cast<uint8_t>(qos | kQosDuplicated); }

  // Every field (tests: an HA record decodes to the same session); padding
  // bytes are not compared, they differ between compilers' copies.
  bool operator==(const Session&) const = default;
};
static_assert(sizeof(Session) == 152, "Session grew: bytes per session (README, docs/architecture.md)");

}  // namespace wp
