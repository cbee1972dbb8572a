// ESP tunnel encapsulation throughput on one core (dataplane/ipsec/): per
// packet what an ESP output step does around the cipher (sequence number,
// SPI, IV, padding and trailer written into the packet) and then the sealed
// burst on IPsec-MB (esp_seal_burst), for aes256gcm16 and aes256-sha256, at
// 64 B, 1400 B and IMIX (7 x 64, 4 x 576, 1 x 1500) inner packets.
// perf/run_esp.sh runs dpdk-test-crypto-perf on the crypto_aesni_mb vdev in
// the same run as the library's ceiling (no packet edits, no IV, no trailer)
// and prints the ratio.
//   wp_bench_esp [--seconds S] [--burst N] [--rounds R]
// Prints a table and one JSON line per cipher and size. Gbit/s counts the
// inner packet bytes (what a tunnel carries), Mpps the packets. `--path`
// runs the workers' real output step instead (esp_output_burst on mbufs:
// SA and tunnel lookup, MTU, sequence number, IV source, the mbuf grown in
// place, outer IPv4 + UDP 4500 header, then the seal burst), JSON "path":true.
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "dataplane/control/eal.h"
#include "dataplane/ipsec/esp_crypto.h"
#include "dataplane/ipsec/esp_output.h"
#include "perf/report.h"

namespace {

using Clock = std::chrono::steady_clock;
using wp::EspCipher;

struct Options {
  double seconds = 1.0;
  size_t burst = 32;
  int rounds = 5;
  bool path = false;
};

struct Result {
  double mpps = 0, gbps = 0;
};

// One size pattern: the inner lengths, cycled.
std::vector<size_t> pattern(const std::string& size) {
  if (size == "imix") {
    std::vector<size_t> v(7, 64);
    v.insert(v.end(), 4, 576);
    v.push_back(1500);
    return v;
  }
  return {static_cast<size_t>(std::stoul(size))};
}

Result run(wp::CryptoEngine& eng, EspCipher c, const std::vector<size_t>& sizes, const Options& o) {
  uint8_t km[64];
  for (size_t i = 0; i < sizeof km; ++i) km[i] = static_cast<uint8_t>(i * 7 + 1);
  wp::EspKeys keys;
  wp::esp_keys_init(eng, c, true, km, keys);
  const size_t n = o.burst;
  std::vector<std::vector<uint8_t>> bufs(n);
  std::vector<size_t> inner(n);
  for (size_t i = 0; i < n; ++i) {
    inner[i] = sizes[i % sizes.size()];
    bufs[i].assign(wp::esp_packet_len(c, inner[i]), 0x45);
  }
  std::vector<wp::EspOp> ops(n);
  uint64_t seq = 0;
  const size_t iv = wp::esp_iv_len(c);
  std::vector<double> mpps, gbps;
  for (int r = 0; r < o.rounds; ++r) {
    uint64_t packets = 0, bytes = 0;
    const auto t0 = Clock::now();
    double el = 0;
    while (el < o.seconds) {
      for (size_t i = 0; i < n; ++i) {
        uint8_t* p = bufs[i].data();
        ++seq;
        const uint32_t spi = 0xc0010203, low = static_cast<uint32_t>(seq);
        for (int k = 0; k < 4; ++k) p[k] = static_cast<uint8_t>(spi >> (24 - 8 * k));
        for (int k = 0; k < 4; ++k) p[4 + k] = static_cast<uint8_t>(low >> (24 - 8 * k));
        // GCM: the sequence number is the IV (unique per key); CBC: a stand-in
        // for the IV source's bytes (its cost is measured in wp_bench_crypto).
        std::memcpy(p + 8, &seq, 8);
        if (iv == 16) std::memcpy(p + 16, &seq, 8);
        const size_t pad = wp::esp_pad_len(c, inner[i]);
        wp::esp_write_trailer(p + 8 + iv + inner[i], pad, wp::kEspNextIpv4);
        ops[i].pkt = p;
        ops[i].len = static_cast<uint32_t>(bufs[i].size());
        ops[i].seq = seq;
        ops[i].keys = &keys;
        bytes += inner[i];
      }
      if (wp::esp_seal_burst(eng, ops.data(), n) != 0) {
        std::fprintf(stderr, "seal failed\n");
        std::exit(1);
      }
      packets += n;
      el = std::chrono::duration<double>(Clock::now() - t0).count();
    }
    mpps.push_back(packets / el / 1e6);
    gbps.push_back(bytes * 8.0 / el / 1e9);
  }
  return {wp::bench::median(mpps), wp::bench::median(gbps)};
}

// The output step on mbufs: one SA on tunnel 0; after each burst the mbufs
// shrink back to their inner packets (adj/trim, a few cycles each).
Result run_path(wp::CryptoEngine& eng, rte_mempool* pool, EspCipher c, const std::vector<size_t>& sizes,
                const Options& o) {
  uint8_t km[64];
  for (size_t i = 0; i < sizeof km; ++i) km[i] = static_cast<uint8_t>(i * 7 + 1);
  auto table = std::make_unique<wp::EspSaTable>();
  wp::EspSa sa;
  sa.spi = 0xc0010203;
  sa.generation = 1;
  sa.local = 0xc6336401;
  sa.peer = 0xcb007109;
  wp::esp_keys_init(eng, c, true, km, sa.keys);
  table->install(0, sa);
  table->mutable_tunnel(0).out_sa = 0;
  table->mutable_tunnel(0).mtu = 9000;
  wp::EspWorkerState state;
  wp::IvSource ivs(eng);
  const size_t n = std::min<size_t>(o.burst, wp::CryptoEngine::kMaxBurst);
  std::vector<rte_mbuf*> pkts(n);
  std::vector<uint16_t> tunnels(n, 0);
  std::vector<wp::EspResult> res(n);
  uint64_t burst_bytes = 0;
  for (size_t i = 0; i < n; ++i) {
    pkts[i] = rte_pktmbuf_alloc(pool);
    const size_t len = sizes[i % sizes.size()];
    std::memset(rte_pktmbuf_append(pkts[i], static_cast<uint16_t>(len)), 0x45, len);
    burst_bytes += len;
  }
  std::vector<double> mpps, gbps;
  for (int r = 0; r < o.rounds; ++r) {
    uint64_t packets = 0;
    const auto t0 = Clock::now();
    double el = 0;
    while (el < o.seconds) {
      wp::esp_output_burst(eng, ivs, *table, state, pkts.data(), tunnels.data(), static_cast<uint16_t>(n), res.data());
      for (size_t i = 0; i < n; ++i) {
        if (!res[i].ok) std::fprintf(stderr, "seal failed\n"), std::exit(1);
        const size_t len = sizes[i % sizes.size()];
        rte_pktmbuf_trim(pkts[i], static_cast<uint16_t>(rte_pktmbuf_pkt_len(pkts[i]) - len - wp::esp_overhead_front(sa)));
        rte_pktmbuf_adj(pkts[i], static_cast<uint16_t>(wp::esp_overhead_front(sa)));
      }
      packets += n;
      el = std::chrono::duration<double>(Clock::now() - t0).count();
    }
    mpps.push_back(packets / el / 1e6);
    gbps.push_back(static_cast<double>(packets / n) * burst_bytes * 8.0 / el / 1e9);
  }
  for (rte_mbuf* m : pkts) rte_pktmbuf_free(m);
  return {wp::bench::median(mpps), wp::bench::median(gbps)};
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    if (a == "--seconds") o.seconds = std::stod(argv[i + 1]);
    else if (a == "--burst") o.burst = std::stoul(argv[i + 1]);
    else if (a == "--rounds") o.rounds = std::stoi(argv[i + 1]);
    else if (a == "--path") o.path = std::string(argv[i + 1]) == "on";
    else return std::fprintf(stderr, "usage: %s [--seconds S] [--burst N] [--rounds R] [--path on]\n", argv[0]), 2;
  }
  rte_mempool* pool = nullptr;
  if (o.path) {
    std::string error;
    if (!wp::eal_init(wp::private_eal_args("wpbenchesp", 256), error)) return std::fprintf(stderr, "%s\n", error.c_str()), 2;
    pool = rte_pktmbuf_pool_create("wp_bench_esp", 1023, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, 0);
    if (!pool) return std::fprintf(stderr, "no mbuf pool\n"), 2;
  }
  wp::CryptoEngine eng;
  if (!eng.ok()) return std::fprintf(stderr, "IPsec-MB manager did not start\n"), 2;
  std::printf("%-22s %-6s %10s %10s\n", "cipher", "size", "Mpps", "Gbit/s");
  const std::string date = wp::bench::iso_date_now();
  for (EspCipher c : {EspCipher::aes256_gcm16, EspCipher::aes256_cbc_hmac_sha256}) {
    const char* name = c == EspCipher::aes256_gcm16 ? "aes256gcm16" : "aes256-sha256";
    for (const char* size : {"64", "1400", "imix"}) {
      const Result r = o.path ? run_path(eng, pool, c, pattern(size), o) : run(eng, c, pattern(size), o);
      std::printf("%-22s %-6s %10.3f %10.3f\n", name, size, r.mpps, r.gbps);
      std::printf(
          "{\"bench\":\"esp\",\"path\":%s,\"cipher\":\"%s\",\"size\":\"%s\",\"esn\":true,\"arch\":\"%.*s\",\"burst\":%zu,"
          "\"mpps\":%.3f,\"gbps\":%.3f,\"date\":\"%s\"}\n",
          o.path ? "true" : "false", name, size, static_cast<int>(eng.arch().size()), eng.arch().data(), o.burst, r.mpps, r.gbps, date.c_str());
    }
  }
  return 0;
}
