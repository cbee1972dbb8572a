// Pair-key versions; see pair_keys.h.
#include "dataplane/crypto/pair_keys.h"

namespace wp {

bool PairKeyRing::add(const PairKey& k) {
  if (n_ == kMaxPairKeys || k.version == 0 || find(k.version)) return false;
  size_t i = n_++;
  for (; i > 0 && key_version_newer(keys_[i - 1].version, k.version); --i) keys_[i] = keys_[i - 1];
  keys_[i] = k;
  return true;
}

const PairKey* PairKeyRing::find(uint32_t version) const {
  for (size_t i = 0; i < n_; ++i)
    if (keys_[i].version == version) return &keys_[i];
  return nullptr;
}

KeyVersions PairKeyRing::versions() const {
  KeyVersions out;
  for (size_t i = 0; i < n_; ++i) out.v[out.n++] = keys_[i].version;
  return out;
}

const PairKey& PairKeyRing::choose(const KeyVersions* peer_holds) const {
  if (peer_holds)
    for (size_t i = n_; i-- > 0;)
      if (peer_holds->has(keys_[i].version)) return keys_[i];
  return keys_[0];
}

}  // namespace wp
