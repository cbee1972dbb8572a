// AES-CTR IV generator; see iv_source.h.
#include "dataplane/crypto/iv_source.h"
#include "dataplane/crypto/wipe.h"

#include <sys/random.h>

#include <cstring>

namespace wp {

IvSource::IvSource(CryptoEngine& engine) : engine_(engine) {
  if (engine_.ok()) reseed();
}

IvSource::~IvSource() {
  wipe_object(key_);
  wipe(buf_, sizeof buf_);
}

void IvSource::reseed() {
  uint8_t seed[kAesKeyLen + 16];
  size_t got = 0;
  while (got < sizeof seed) {
    ssize_t r = getrandom(seed + got, sizeof seed - got, 0);
    if (r <= 0) return;  // seeded_ stays false: the worker refuses to start
    got += static_cast<size_t>(r);
  }
  engine_.expand_aes_key(seed, key_);
  std::memcpy(counter_, seed + kAesKeyLen, 16);
  wipe(seed, sizeof seed);
  refills_ = 0;
  seeded_ = true;
}

void IvSource::refill() {
  if (++refills_ == kReseedRefills) reseed();
  engine_.ctr_keystream(key_, counter_, buf_, kBufLen);
  // Step the counter block past the 256 blocks just used (big-endian add).
  uint32_t carry = kBufLen / kAesBlock;
  for (int i = 15; i >= 0 && carry; --i) {
    uint32_t v = counter_[i] + (carry & 0xff);
    counter_[i] = static_cast<uint8_t>(v);
    carry = (carry >> 8) + (v >> 8);
  }
  pos_ = 0;
}

}  // namespace wp
