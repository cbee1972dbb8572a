// Session crypto benchmark: our IPsec-MB burst path against
// OpenSSL EVP one packet at a time, same packets, same run, one core.
//
// For each size (L4 data bytes per packet: 64, 512, 1400, and IMIX 7:4:1 of
// 64/576/1400) and each direction:
//   encrypt+hmac   IV from our IvSource (AES-CTR DRBG), PKCS#7-padded data
//                  AES-256-CBC encrypted, HMAC-SHA256-128 over UDP header +
//                  IV + ciphertext + seq — the exact op the worker submits
//                  (crypto/session_data.h layout), bursts of --burst packets.
//   verify+decrypt the sealed packets opened again (HMAC compare, CBC decrypt);
//                  every tag must verify or the run aborts.
// OpenSSL baseline: EVP_aes_256_cbc (key set once, IV per packet) then
// EVP_MAC HMAC-SHA256 (key schedule kept, re-init per packet), one packet at a
// time; its IVs come from a pre-filled table (so IV generation is charged to
// our side only). Rounds of ours and OpenSSL's alternate and the median of
// each is kept, so machine noise hits both alike. Gbit/s counts data bytes.
//
//   build/perf/wp_bench_crypto [--seconds S] [--burst N] [--rounds R]
// Prints a table and one JSON line per (size, direction).
#include <intel-ipsec-mb.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <x86intrin.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "dataplane/crypto/engine.h"
#include "dataplane/crypto/iv_source.h"
#include "dataplane/crypto/session_data.h"
#include "perf/report.h"

namespace {

using Clock = std::chrono::steady_clock;
using wp::bench::median;
constexpr uint32_t kHead = 8;  // UDP header: hashed, not ciphered

struct Packet {
  std::vector<uint8_t> buf;  // UDP hdr | IV | data+pad | seq | tag
  uint32_t data_len;
  uint32_t cipher_len;
};

std::vector<Packet> make_packets(const std::vector<uint32_t>& sizes, size_t n, std::mt19937_64& rng) {
  std::vector<Packet> out(n);
  for (size_t i = 0; i < n; ++i) {
    uint32_t len = sizes[i % sizes.size()];
    uint32_t pad = 16 - len % 16;
    Packet& p = out[i];
    p.data_len = len;
    p.cipher_len = len + pad;
    p.buf.resize(kHead + 16 + p.cipher_len + wp::kSeqLen + wp::kHmacTagLen);
    for (auto& b : p.buf) b = static_cast<uint8_t>(rng());
    std::memset(p.buf.data() + kHead + 16 + len, static_cast<int>(pad), pad);
  }
  return out;
}

struct Result {
  double seconds = 0;
  uint64_t packets = 0, bytes = 0, cycles = 0;
};

struct Ours {
  wp::CryptoEngine& e;
  wp::IvSource& ivs;
  wp::AesKey aes;
  wp::HmacKey mac;
  size_t burst;
  std::vector<wp::CryptoOp> ops;

  void setup(wp::CryptoOp& op, Packet& p) {
    op.msg = p.buf.data();
    op.hash_len = static_cast<uint32_t>(p.buf.size() - wp::kHmacTagLen);
    op.cipher_off = kHead + 16;
    op.cipher_len = p.cipher_len;
    op.iv = p.buf.data() + kHead;
    op.aes = &aes;
    op.mac = &mac;
    op.tag = p.buf.data() + p.buf.size() - wp::kHmacTagLen;
  }
  // One pass over all packets; returns cycles spent in seal (out[0]) and open (out[1]).
  void pass(std::vector<Packet>& pk, uint64_t cyc[2]) {
    for (size_t i = 0; i < pk.size(); i += burst) {
      size_t n = std::min(burst, pk.size() - i);
      uint64_t t0 = __rdtsc();
      for (size_t k = 0; k < n; ++k) {
        ivs.next(pk[i + k].buf.data() + kHead);
        setup(ops[k], pk[i + k]);
      }
      e.seal_burst(ops.data(), n);
      uint64_t t1 = __rdtsc();
      for (size_t k = 0; k < n; ++k) setup(ops[k], pk[i + k]);
      uint32_t bad = e.open_burst(ops.data(), n);
      uint64_t t2 = __rdtsc();
      if (bad) {
        std::fprintf(stderr, "bench_crypto: %u tags did not verify\n", bad);
        std::exit(1);
      }
      cyc[0] += t1 - t0;
      cyc[1] += t2 - t1;
    }
  }
};

struct OpenSsl {
  EVP_CIPHER_CTX* enc = EVP_CIPHER_CTX_new();
  EVP_CIPHER_CTX* dec = EVP_CIPHER_CTX_new();
  EVP_MAC* mac_alg = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  EVP_MAC_CTX* mac = EVP_MAC_CTX_new(mac_alg);
  std::vector<uint8_t> ivs;
  size_t iv_pos = 0;

  OpenSsl(const uint8_t* key, const uint8_t* mac_key, std::mt19937_64& rng) {
    EVP_EncryptInit_ex(enc, EVP_aes_256_cbc(), nullptr, key, nullptr);
    EVP_CIPHER_CTX_set_padding(enc, 0);
    EVP_DecryptInit_ex(dec, EVP_aes_256_cbc(), nullptr, key, nullptr);
    EVP_CIPHER_CTX_set_padding(dec, 0);
    char digest[] = "SHA256";
    OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0), OSSL_PARAM_END};
    EVP_MAC_init(mac, mac_key, 32, params);
    ivs.resize(16 * 4096);
    for (auto& b : ivs) b = static_cast<uint8_t>(rng());
  }
  ~OpenSsl() {
    EVP_CIPHER_CTX_free(enc);
    EVP_CIPHER_CTX_free(dec);
    EVP_MAC_CTX_free(mac);
    EVP_MAC_free(mac_alg);
  }
  void hmac(const uint8_t* msg, size_t len, uint8_t out[32]) {
    size_t n = 0;
    EVP_MAC_init(mac, nullptr, 0, nullptr);  // same key: keeps the ipad/opad state
    EVP_MAC_update(mac, msg, len);
    EVP_MAC_final(mac, out, &n, 32);
  }
  void pass(std::vector<Packet>& pk, uint64_t cyc[2]) {
    uint8_t tag[32];
    for (Packet& p : pk) {
      uint8_t* iv = p.buf.data() + kHead;
      uint8_t* ct = iv + 16;
      uint8_t* tail = p.buf.data() + p.buf.size() - wp::kHmacTagLen;
      int out = 0;
      uint64_t t0 = __rdtsc();
      std::memcpy(iv, ivs.data() + iv_pos, 16);
      iv_pos = (iv_pos + 16) % ivs.size();
      EVP_EncryptInit_ex(enc, nullptr, nullptr, nullptr, iv);
      EVP_EncryptUpdate(enc, ct, &out, ct, static_cast<int>(p.cipher_len));
      hmac(p.buf.data(), p.buf.size() - wp::kHmacTagLen, tag);
      std::memcpy(tail, tag, wp::kHmacTagLen);
      uint64_t t1 = __rdtsc();
      hmac(p.buf.data(), p.buf.size() - wp::kHmacTagLen, tag);
      if (CRYPTO_memcmp(tag, tail, wp::kHmacTagLen) != 0) {
        std::fprintf(stderr, "bench_crypto: OpenSSL tag mismatch\n");
        std::exit(1);
      }
      EVP_DecryptInit_ex(dec, nullptr, nullptr, nullptr, iv);
      EVP_DecryptUpdate(dec, ct, &out, ct, static_cast<int>(p.cipher_len));
      uint64_t t2 = __rdtsc();
      cyc[0] += t1 - t0;
      cyc[1] += t2 - t1;
    }
  }
};

double tsc_hz() {
  auto c0 = Clock::now();
  uint64_t t0 = __rdtsc();
  while (Clock::now() - c0 < std::chrono::milliseconds(200)) {
  }
  uint64_t t1 = __rdtsc();
  return (t1 - t0) / std::chrono::duration<double>(Clock::now() - c0).count();
}

}  // namespace

int main(int argc, char** argv) {
  double seconds = 0.3;
  size_t burst = 32;
  int rounds = 5;
  std::string arch;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--seconds" && i + 1 < argc)
      seconds = std::atof(argv[++i]);
    else if (a == "--burst" && i + 1 < argc)
      burst = std::strtoul(argv[++i], nullptr, 10);
    else if (a == "--rounds" && i + 1 < argc)
      rounds = std::atoi(argv[++i]);
    else if (a == "--arch" && i + 1 < argc)  // compare IPsec-MB managers (sse has SHA-NI)
      arch = argv[++i];
    else {
      std::fprintf(stderr,
                   "usage: %s [--seconds S per round] [--burst N<=64] [--rounds R] [--arch sse|avx|avx2|avx512]\n",
                   argv[0]);
      return a == "--help" ? 0 : 2;
    }
  }
  burst = std::clamp<size_t>(burst, 1, wp::CryptoEngine::kMaxBurst);
  wp::CryptoEngine engine(arch);
  if (!engine.ok()) return std::fprintf(stderr, "IPsec-MB manager failed\n"), 1;
  wp::IvSource ivs(engine);
  std::mt19937_64 rng(42);
  uint8_t key[32], mac_key[32];
  for (auto& b : key) b = static_cast<uint8_t>(rng());
  for (auto& b : mac_key) b = static_cast<uint8_t>(rng());
  Ours ours{engine, ivs, {}, {}, burst, std::vector<wp::CryptoOp>(burst)};
  engine.expand_aes_key(key, ours.aes);
  ours.mac = engine.hmac_key({mac_key, 32});
  OpenSsl ossl(key, mac_key, rng);
  const double hz = tsc_hz();

  struct Size {
    const char* name;
    std::vector<uint32_t> sizes;
  };
  std::vector<Size> sizes = {{"64", {64}},
                             {"512", {512}},
                             {"1400", {1400}},
                             {"imix", {64, 576, 64, 64, 1400, 576, 64, 64, 576, 64, 576, 64}}};  // 7:4:1
  std::printf(
      "bench_crypto: AES-256-CBC + HMAC-SHA256-128, IPsec-MB %s (arch %s, burst %zu) vs %s, one core, %.2f GHz TSC\n",
      imb_get_version_str(), std::string(engine.arch()).c_str(), burst, OpenSSL_version(OPENSSL_VERSION), hz / 1e9);
  std::printf("%-6s %-15s %9s %9s %8s | %9s %9s %8s | %6s\n", "size", "direction", "Mpps", "Gbit/s", "cyc/B",
              "ossl Mpps", "Gbit/s", "cyc/B", "ratio");
  std::vector<std::string> json;
  for (Size& sz : sizes) {
    auto pk = make_packets(sz.sizes, 2048, rng);
    uint64_t data_bytes = 0;
    for (auto& p : pk) data_bytes += p.data_len;
    // rate[side][dir] per round: packets per second of crypto time.
    std::vector<double> rate[2][2], cpb[2][2];
    for (int r = 0; r < rounds; ++r) {
      for (int side = 0; side < 2; ++side) {
        uint64_t cyc[2] = {0, 0}, passes = 0;
        auto t0 = Clock::now();
        while (std::chrono::duration<double>(Clock::now() - t0).count() < seconds) {
          if (side == 0)
            ours.pass(pk, cyc);
          else
            ossl.pass(pk, cyc);
          ++passes;
        }
        for (int d = 0; d < 2; ++d) {
          double secs = cyc[d] / hz;
          rate[side][d].push_back(passes * pk.size() / secs);
          cpb[side][d].push_back(static_cast<double>(cyc[d]) / (passes * data_bytes));
        }
      }
    }
    const char* dirs[2] = {"encrypt+hmac", "verify+decrypt"};
    for (int d = 0; d < 2; ++d) {
      double pps = median(rate[0][d]), opps = median(rate[1][d]);
      double avg = static_cast<double>(data_bytes) / pk.size();
      double gbps = pps * avg * 8 / 1e9, ogbps = opps * avg * 8 / 1e9;
      double c = median(cpb[0][d]), oc = median(cpb[1][d]);
      std::printf("%-6s %-15s %9.2f %9.2f %8.2f | %9.2f %9.2f %8.2f | %5.1fx\n", sz.name, dirs[d], pps / 1e6, gbps, c,
                  opps / 1e6, ogbps, oc, pps / opps);
      char line[512];
      std::snprintf(line, sizeof line,
                    "{\"bench\":\"crypto\",\"size\":\"%s\",\"direction\":\"%s\",\"mpps\":%.3f,\"gbps\":%.3f,"
                    "\"cycles_per_byte\":%.2f,\"openssl_mpps\":%.3f,\"openssl_gbps\":%.3f,"
                    "\"openssl_cycles_per_byte\":%.2f,\"ratio_vs_openssl\":%.2f,\"arch\":\"%s\",\"burst\":%zu,"
                    "\"rounds\":%d}",
                    sz.name, dirs[d], pps / 1e6, gbps, c, opps / 1e6, ogbps, oc, pps / opps,
                    std::string(engine.arch()).c_str(), burst, rounds);
      json.push_back(line);
    }
  }
  for (const auto& j : json) std::printf("%s\n", j.c_str());
  return 0;
}
