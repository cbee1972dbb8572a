// Micro benchmarks (google-benchmark) of the per-packet building blocks:
// parse_packet, decode_metadata, HMAC-SHA256-128 sign of 128 B (IPsec-MB),
// SessionTable lookup at 1M sessions (hit and miss). No EAL: the table uses
// process heap memory (SessionTable::kHeapMemory).
//
//   build-perf/perf/wp_micro_bench [--benchmark_filter=...]
#include <benchmark/benchmark.h>
#include <intel-ipsec-mb.h>

#include <cstring>
#include <random>
#include <vector>

#include "dataplane/session/owner.h"
#include "dataplane/crypto/hmac.h"
#include "dataplane/svr/metadata.h"
#include "dataplane/ip/packet.h"
#include "dataplane/session/table.h"
#include "dataplane/ip/tuple.h"

namespace {

using wp::FiveTuple;

// 64 B Ethernet/IPv4/UDP frame (checksums are not checked by the parser).
std::vector<uint8_t> udp_frame() {
  std::vector<uint8_t> f(64, 0);
  f[12] = 0x08;
  f[14] = 0x45;
  wp::store_be16(&f[16], 50);
  f[22] = 64;
  f[23] = wp::kProtoUdp;
  wp::store_be32(&f[26], 0x0a01000a);
  wp::store_be32(&f[30], 0x0a02000a);
  wp::store_be16(&f[34], 40000);
  wp::store_be16(&f[36], 5201);
  wp::store_be16(&f[38], 30);
  return f;
}

void BM_ParsePacket(benchmark::State& st) {
  auto f = udp_frame();
  for (auto _ : st) {
    wp::ParsedPacket pp = wp::parse_packet(f.data(), static_cast<uint32_t>(f.size()));
    benchmark::DoNotOptimize(pp);
  }
}
BENCHMARK(BM_ParsePacket);

std::vector<uint8_t> forward_metadata() {
  std::vector<uint8_t> b(wp::kMaxMetadataLen);
  wp::MetadataWriter w(b.data(), b.size());
  w.forward_context({0x0a01000a, 0x0a02000a, 40000, 80, wp::kProtoTcp});
  wp::SessionUuid u{};
  for (size_t i = 0; i < u.size(); ++i) u[i] = static_cast<uint8_t>(i);
  w.uuid(u);
  w.tenant("branch");
  w.service("web");
  w.source_router("r1");
  w.destination_router("r2");
  w.security_policy("default");
  b.resize(w.finish());
  return b;
}

void BM_DecodeMetadata(benchmark::State& st) {
  auto b = forward_metadata();
  for (auto _ : st) {
    wp::Metadata md;
    auto s = wp::decode_metadata(b.data(), b.size(), md);
    benchmark::DoNotOptimize(s);
    benchmark::DoNotOptimize(md);
  }
  st.SetLabel(std::to_string(b.size()) + " B block");
}
BENCHMARK(BM_DecodeMetadata);

void BM_EncodeMetadata(benchmark::State& st) {
  for (auto _ : st) benchmark::DoNotOptimize(forward_metadata());
}
BENCHMARK(BM_EncodeMetadata);

void BM_HmacSign(benchmark::State& st) {
  wp::HmacEngine hmac;
  std::vector<uint8_t> key(32, 0x5a), data(static_cast<size_t>(st.range(0)), 0xa5);
  wp::HmacKey k = hmac.make_key(key);
  uint8_t tag[wp::kHmacTagLen];
  for (auto _ : st) {
    hmac.sign(k, data.data(), data.size(), tag);
    benchmark::DoNotOptimize(tag);
  }
  st.SetBytesProcessed(static_cast<int64_t>(st.iterations()) * st.range(0));
  st.SetLabel(std::string(hmac.arch()));
}
BENCHMARK(BM_HmacSign)->Arg(128)->Arg(256);

// The same HMAC-SHA256-128 job straight on an IPsec-MB manager of a given
// arch (0 sse, 1 avx2, 2 avx512), `burst` jobs submitted before one flush:
// what one signature costs when the multi-buffer lanes are (not) shared.
void BM_ImbHmac(benchmark::State& st) {
  IMB_MGR* mgr = alloc_mb_mgr(0);
  const char* arch = "?";
  switch (st.range(0)) {
    case 0:
      init_mb_mgr_sse(mgr);
      arch = "sse";
      break;
    case 1:
      init_mb_mgr_avx2(mgr);
      arch = "avx2";
      break;
    default:
      init_mb_mgr_avx512(mgr);
      arch = "avx512";
      break;
  }
  const int burst = static_cast<int>(st.range(1));
  alignas(16) uint8_t ipad[32] = {1}, opad[32] = {2};
  std::vector<uint8_t> data(128 * burst, 0xa5);
  std::vector<uint8_t> tags(16 * burst);
  for (auto _ : st) {
    for (int i = 0; i < burst; ++i) {
      IMB_JOB* job = IMB_GET_NEXT_JOB(mgr);
      job->cipher_mode = IMB_CIPHER_NULL;
      job->cipher_direction = IMB_DIR_ENCRYPT;
      job->chain_order = IMB_ORDER_HASH_CIPHER;
      job->hash_alg = IMB_AUTH_HMAC_SHA_256;
      job->src = data.data() + 128 * i;
      job->dst = nullptr;
      job->cipher_start_src_offset_in_bytes = 0;
      job->msg_len_to_cipher_in_bytes = 0;
      job->hash_start_src_offset_in_bytes = 0;
      job->msg_len_to_hash_in_bytes = 128;
      job->auth_tag_output = tags.data() + 16 * i;
      job->auth_tag_output_len_in_bytes = 16;
      job->u.HMAC._hashed_auth_key_xor_ipad = ipad;
      job->u.HMAC._hashed_auth_key_xor_opad = opad;
      IMB_SUBMIT_JOB(mgr);
    }
    while (IMB_FLUSH_JOB(mgr) != nullptr) {
    }
    benchmark::DoNotOptimize(tags.data());
  }
  st.SetItemsProcessed(static_cast<int64_t>(st.iterations()) * burst);
  st.SetLabel(std::string(arch) + ", " + std::to_string(burst) + " x 128 B per flush");
  free_mb_mgr(mgr);
}
BENCHMARK(BM_ImbHmac)->ArgsProduct({{0, 1, 2}, {1, 16}});

// A table filled with n ingress-like sessions: side A = LAN tuple, side B = WAN.
struct Filled {
  wp::SessionTable table;
  std::vector<FiveTuple> keys;
  explicit Filled(uint32_t n) : table(n, wp::SessionTable::kHeapMemory) {
    keys.reserve(n);
    for (uint32_t i = 0; i < n; ++i) {
      wp::Session* s = table.allocate();
      FiveTuple t{0x0a010000u | (i % 100 + 2), 0x0a020000u | (10 + i / 6400000),
                  static_cast<uint16_t>(1024 + i / 100 % 64000), 80, wp::kProtoTcp};
      s->original = t;
      s->out_rev.tuple = t.reversed();
      s->out_fwd.tuple = {0xac100001, 0xac100002, static_cast<uint16_t>(16384 + 2 * (i % 24000)),
                          static_cast<uint16_t>(16385 + 2 * (i / 24000)), wp::kProtoTcp};
      if (!table.insert(s))
        table.release(s);
      else
        keys.push_back(t);
    }
  }
};

void BM_SessionLookupHit(benchmark::State& st) {
  static Filled f(static_cast<uint32_t>(st.range(0)));
  std::mt19937 rng(1);
  std::vector<uint32_t> order(1 << 16);
  for (auto& o : order) o = rng() % f.keys.size();
  size_t i = 0;
  for (auto _ : st) {
    auto r = f.table.lookup(f.keys[order[i++ & 0xffff]]);
    benchmark::DoNotOptimize(r);
  }
  st.SetLabel(std::to_string(f.table.size()) + " sessions, " +
              std::to_string(f.table.memory_bytes() / f.table.capacity()) + " B/session");
}
BENCHMARK(BM_SessionLookupHit)->Arg(1'000'000);

void BM_SessionLookupMiss(benchmark::State& st) {
  static Filled f(static_cast<uint32_t>(st.range(0)));
  uint32_t i = 0;
  for (auto _ : st) {
    FiveTuple k{0x0b000000u + (i++ & 0xfffff), 0x0a02000a, 1234, 80, wp::kProtoUdp};
    auto r = f.table.lookup(k);
    benchmark::DoNotOptimize(r);
  }
}
BENCHMARK(BM_SessionLookupMiss)->Arg(1'000'000);

void BM_AffinityClass(benchmark::State& st) {
  FiveTuple t{0x0a01000a, 0x0a02000a, 40000, 80, wp::kProtoTcp};
  for (auto _ : st) {
    t.sport++;
    benchmark::DoNotOptimize(wp::affinity_class(t));
  }
}
BENCHMARK(BM_AffinityClass);

}  // namespace

BENCHMARK_MAIN();
