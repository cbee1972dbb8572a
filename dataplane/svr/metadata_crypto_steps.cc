// TLV 16 in the worker: which blocks are encrypted, and the drop reasons
// when one cannot be opened (metadata_crypto.h has the bytes).
//
// The sender's session policy decides (forward blocks at the ingress router,
// reverse blocks at the egress). A receiver opens any block that names our
// key version, whatever its own policy says: the names it needs to apply
// that policy are inside.
#include "dataplane/ip/packet_edit.h"
#include "dataplane/worker/worker.h"

namespace wp {

size_t Worker::seal_metadata(uint8_t* block, size_t len, size_t cap, const Session& s, const SideOut& out) {
  if (len == 0 || !model().security[s.security].encrypt_metadata) return len;
  size_t n = seal_metadata_payload(crypto_, ivs_, model().peers[out.peer].metadata_key, block, len, cap);
  if (n) counters_->add(Counter::metadata_encrypted);
  return n;
}

bool Worker::open_metadata(rte_mbuf* m, const ParsedPacket& pp, Metadata& md, int peer) {
  switch (open_metadata_payload(crypto_, model().peers[peer].metadata_key, pkt_data(m) + pp.payload, md, md_plain_)) {
    case MetadataOpen::ok: counters_->add(Counter::metadata_decrypted); return true;
    case MetadataOpen::unknown_key_version: drop(m, DropReason::unknown_key_version); return false;
    case MetadataOpen::bad_padding: drop(m, DropReason::bad_metadata_padding); return false;
    case MetadataOpen::malformed: drop(m, DropReason::bad_metadata); return false;
  }
  return false;
}

}  // namespace wp
