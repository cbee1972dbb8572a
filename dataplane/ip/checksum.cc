// Checksums; see checksum.h.
#include "dataplane/ip/checksum.h"

#include "dataplane/ip/packet.h"

namespace wp {

uint32_t csum_partial(const uint8_t* data, size_t len, uint32_t sum) {
  uint64_t acc = sum;
  size_t i = 0;
  for (; i + 1 < len; i += 2) acc += uint32_t{data[i]} << 8 | data[i + 1];
  if (i < len) acc += uint32_t{data[i]} << 8;
  while (acc >> 32) acc = (acc & 0xffffffff) + (acc >> 32);
  return static_cast<uint32_t>((acc & 0xffff) + (acc >> 16));
}

uint16_t ipv4_header_checksum(const uint8_t* ip) {
  uint32_t ihl = (ip[0] & 0x0f) * 4u;
  uint32_t sum = csum_partial(ip, 10);
  sum = csum_partial(ip + 12, ihl - 12, sum);
  return csum_fold(sum);
}

uint16_t l4_checksum(const uint8_t* ip, const uint8_t* l4, uint16_t l4_len) {
  uint8_t proto = ip[9];
  uint32_t sum = csum_partial(ip + 12, 8);  // src + dst
  sum += proto;
  sum += l4_len;
  size_t check_off = proto == kProtoTcp ? 16 : 6;
  sum = csum_partial(l4, check_off, sum);
  sum = csum_partial(l4 + check_off + 2, l4_len - check_off - 2, sum);
  uint16_t c = csum_fold(sum);
  if (proto == kProtoUdp && c == 0) c = 0xffff;
  return c;
}

}  // namespace wp
