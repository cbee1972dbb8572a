// ESP anti-replay with extended sequence numbers (dataplane/ipsec/esp_replay.h)
// and the ESP trailer (esp_format.h): RFC 4303 Appendix A2's cases, a 2^32
// boundary crossed with reordering, a randomized run against a reference set,
// the sender's counter limits and HA takeover, padding and next header.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <set>

#include "dataplane/ipsec/esp_format.h"
#include "dataplane/ipsec/esp_replay.h"

namespace wp {
namespace {

// The receiver's three steps on one packet carrying `seq` (the ICV always
// verifies here: these tests are about the window).
EspReplay receive(EspReplayWindow& w, uint64_t seq, bool esn = true) {
  const uint64_t inferred = esn_infer(w, static_cast<uint32_t>(seq), esn);
  EXPECT_EQ(inferred, esn ? seq : static_cast<uint32_t>(seq)) << "inferred the wrong high half for " << seq;
  const EspReplay v = esn_check(w, inferred);
  if (v == EspReplay::fresh) esn_update(w, inferred);
  return v;
}

TEST(EspReplay, InOrderReorderedDuplicateAndTooOld) {
  EspReplayWindow w;
  EXPECT_EQ(esn_check(w, 0), EspReplay::too_old);  // never sent
  for (uint64_t s = 1; s <= 100; ++s) EXPECT_EQ(receive(w, s), EspReplay::fresh);
  EXPECT_EQ(receive(w, 100), EspReplay::replayed);
  EXPECT_EQ(receive(w, 50), EspReplay::replayed);
  EXPECT_EQ(receive(w, 105), EspReplay::fresh);
  EXPECT_EQ(receive(w, 103), EspReplay::fresh);  // late, inside the window
  EXPECT_EQ(receive(w, 103), EspReplay::replayed);
  EXPECT_EQ(receive(w, 2000), EspReplay::fresh);
  EXPECT_EQ(esn_check(w, 2000 - kEspWindow), EspReplay::too_old);
  EXPECT_EQ(esn_check(w, 2000 - kEspWindow + 1), EspReplay::fresh);  // the oldest the window holds
  EXPECT_EQ(w.top, 2000u);
}

TEST(EspReplay, CheckDoesNotMoveTheWindow) {
  EspReplayWindow w;
  receive(w, 10);
  EXPECT_EQ(esn_check(w, 5000), EspReplay::fresh);  // a forged packet fails its ICV next:
  EXPECT_EQ(w.top, 10u);                            // nothing recorded until esn_update
  EXPECT_EQ(esn_check(w, 9), EspReplay::fresh);
}

TEST(EspReplay, InferenceCasesOfRfc4303AppendixA2) {
  EspReplayWindow w;
  // Case A (Tl >= W - 1), top 0x3_00001000: a low number just under the window
  // belongs to the next subspace, one inside it to this one.
  w.top = 0x3'0000'1000ull;
  EXPECT_EQ(esn_infer(w, 0x1000 - (kEspWindow - 1), true), 0x3'0000'1000ull - (kEspWindow - 1));
  EXPECT_EQ(esn_infer(w, 0x1000 - kEspWindow, true), 0x4'0000'1000ull - kEspWindow);
  EXPECT_EQ(esn_infer(w, 0xffff'ffff, true), 0x3'ffff'ffffull);
  // Case B (Tl < W - 1), top 0x3_00000010: high low numbers are the end of
  // the previous subspace, small ones this subspace.
  w.top = 0x3'0000'0010ull;
  EXPECT_EQ(esn_infer(w, 0xffff'fff0, true), 0x2'ffff'fff0ull);
  EXPECT_EQ(esn_infer(w, 0x20, true), 0x3'0000'0020ull);
  EXPECT_EQ(esn_infer(w, 0x5, true), 0x3'0000'0005ull);
  // Subspace 0 has nothing below it.
  w.top = 5;
  EXPECT_EQ(esn_infer(w, 0xffff'fff0, true), 0xffff'fff0ull);
  // Without ESN the high half is 0.
  w.top = 0x3'0000'0010ull;
  EXPECT_EQ(esn_infer(w, 0xffff'fff0, false), 0xffff'fff0ull);
}

TEST(EspReplay, CrossesTheLow32BitBoundaryWithReordering) {
  EspReplayWindow w;
  const uint64_t start = 0xffff'ff00ull;
  w.top = start - 1;
  std::vector<uint64_t> seqs;
  for (uint64_t s = start; s < start + 600; ++s) seqs.push_back(s);
  // Swap neighbours in blocks of 8 (reordering well inside the window).
  for (size_t i = 0; i + 8 <= seqs.size(); i += 8) std::reverse(seqs.begin() + i, seqs.begin() + i + 8);
  for (uint64_t s : seqs) EXPECT_EQ(receive(w, s), EspReplay::fresh) << s;
  EXPECT_EQ(w.top, start + 599);
  EXPECT_GT(w.top >> 32, 0u);
  for (uint64_t s : {start, start + 0xff, start + 0x100, start + 599}) EXPECT_EQ(receive(w, s), EspReplay::replayed) << s;
}

TEST(EspReplay, RandomArrivalsAgreeWithAReferenceSet) {
  std::mt19937_64 rng(7);
  EspReplayWindow w;
  w.top = 0xffff'f000ull;  // cross 2^32 on the way; everything up to here seen
  std::fill(std::begin(w.bits), std::end(w.bits), ~uint64_t{0});
  std::set<uint64_t> accepted;
  uint64_t sent = w.top;
  for (int round = 0; round < 20000; ++round) {
    uint64_t seq;
    switch (rng() % 4) {
      case 0: seq = sent + 1 + rng() % 3; sent = seq; break;                   // new, maybe a gap
      case 1: seq = sent - std::min<uint64_t>(sent - 1, rng() % kEspWindow); break;  // late, inside
      case 2: seq = sent - std::min<uint64_t>(sent - 1, kEspWindow + rng() % 5000); break;  // too old
      default: seq = accepted.empty() ? sent : *std::next(accepted.begin(), rng() % std::min<size_t>(accepted.size(), 50)); break;
    }
    const uint64_t top = w.top;
    bool expect_fresh = seq > top || (top - seq < kEspWindow && !accepted.count(seq) && seq > 0xffff'f000ull);
    const uint64_t inferred = esn_infer(w, static_cast<uint32_t>(seq), true);
    if (inferred != seq) {
      // Only a number older than the window can be guessed wrong (A2.2 takes
      // it for the next subspace); its ICV, computed with the wrong high
      // half, then fails, so it is never accepted either way.
      ASSERT_GE(top - seq, kEspWindow) << "round " << round << " seq " << seq;
      ASSERT_FALSE(expect_fresh);
      continue;
    }
    const EspReplay v = esn_check(w, inferred);
    ASSERT_EQ(v == EspReplay::fresh, expect_fresh) << "round " << round << " seq " << seq << " top " << top;
    if (v == EspReplay::fresh) {
      esn_update(w, inferred);
      accepted.insert(seq);
    }
    if (accepted.size() > 4 * kEspWindow) accepted.erase(accepted.begin(), std::next(accepted.begin(), kEspWindow));
  }
  EXPECT_GT(w.top, 0x1'0000'0000ull);
}

TEST(EspReplay, SenderCounterNeverWrapsAndTakeoverSkipsAhead) {
  uint64_t c = UINT32_MAX - 2, seq = 0;
  EXPECT_TRUE(esp_seq_next(c, false, seq));
  EXPECT_EQ(seq, UINT32_MAX - 1);
  EXPECT_TRUE(esp_seq_next(c, false, seq));
  EXPECT_EQ(seq, UINT32_MAX);
  EXPECT_FALSE(esp_seq_next(c, false, seq));  // rekey, never wrap
  EXPECT_TRUE(esp_seq_next(c, true, seq));    // with ESN the same SA goes on
  EXPECT_EQ(seq, uint64_t{UINT32_MAX} + 1);
  c = UINT64_MAX;
  EXPECT_FALSE(esp_seq_next(c, true, seq));
  EXPECT_EQ(esp_seq_takeover(1000, 1 << 20, true), 1000u + (1 << 20));
  EXPECT_EQ(esp_seq_takeover(UINT32_MAX - 5, 1 << 20, false), uint64_t{UINT32_MAX});  // used up: rekey
}

TEST(EspFormat, PaddingLengthsAndTrailerRoundTrip) {
  for (EspCipher c : {EspCipher::aes256_gcm16, EspCipher::aes256_cbc_hmac_sha256}) {
    for (size_t payload : {size_t{0}, size_t{1}, size_t{14}, size_t{20}, size_t{1400}}) {
      const size_t pad = esp_pad_len(c, payload);
      EXPECT_EQ((payload + pad + kEspTrailerMin) % esp_block(c), 0u);
      EXPECT_LT(pad, esp_block(c));
      std::vector<uint8_t> buf(payload + pad + kEspTrailerMin, 0xee);
      EXPECT_EQ(esp_write_trailer(buf.data() + payload, pad, kEspNextIpv4), pad + kEspTrailerMin);
      EspTrailerInfo info;
      ASSERT_EQ(esp_read_trailer(buf.data(), buf.size(), info), EspTrailer::ok);
      EXPECT_EQ(info.payload_len, payload);
      EXPECT_EQ(info.next_header, kEspNextIpv4);
      EXPECT_EQ(esp_packet_len(c, payload), kEspHeaderLen + esp_iv_len(c) + buf.size() + kEspIcvLen);
    }
  }
}

TEST(EspFormat, TrailerRefusals) {
  std::vector<uint8_t> b(20, 0);
  esp_write_trailer(b.data() + 14, 4, kEspNextIpv6);
  EspTrailerInfo info;
  ASSERT_EQ(esp_read_trailer(b.data(), b.size(), info), EspTrailer::ok);
  EXPECT_EQ(info.payload_len, 14u);
  std::vector<uint8_t> t = b;
  t[15] = 9;  // padding must read 1,2,3,4
  EXPECT_EQ(esp_read_trailer(t.data(), t.size(), info), EspTrailer::bad_padding);
  t = b;
  t[18] = 19;  // pad length past the start
  EXPECT_EQ(esp_read_trailer(t.data(), t.size(), info), EspTrailer::too_short);
  t = b;
  t[19] = kEspNextNone;
  EXPECT_EQ(esp_read_trailer(t.data(), t.size(), info), EspTrailer::dummy);
  t[19] = 6;  // TCP: transport mode, not ours
  EXPECT_EQ(esp_read_trailer(t.data(), t.size(), info), EspTrailer::bad_next_header);
  EXPECT_EQ(esp_read_trailer(t.data(), 1, info), EspTrailer::too_short);
}

}  // namespace
}  // namespace wp
