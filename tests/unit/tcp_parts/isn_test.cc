#include "lib/net/tcp/isn.h"

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <cstdio>
#include <random>
#include <set>

namespace linetls::net::tcp {
namespace {

constexpr std::array<uint8_t, 16> kSecret = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
constexpr uint64_t kNow = 1'000'000'000'000'000;  // an arbitrary monotonic time, ns

FourTuple tuple(uint16_t remote_port = 40000) {
  return FourTuple{Ipv4Addr{0x0a630002}, 443, Ipv4Addr{0x0a630001}, remote_port};
}

class IsnTest : public ::testing::Test {
 protected:
  IsnGenerator gen_{kSecret};
};

TEST_F(IsnTest, SameInputsSameIsn) {
  EXPECT_EQ(gen_.isn(tuple(), kNow), gen_.isn(tuple(), kNow));
  IsnGenerator other(kSecret);
  EXPECT_EQ(gen_.isn(tuple(), kNow), other.isn(tuple(), kNow));
}

TEST_F(IsnTest, DifferentPerTuple) {
  std::set<uint32_t> seen;
  for (uint16_t port = 1000; port < 3000; port++) {
    seen.insert(gen_.isn(tuple(port), kNow).raw());
  }
  EXPECT_EQ(seen.size(), 2000u);
  // Every field of the tuple takes part.
  const Seq base = gen_.isn(tuple(), kNow);
  FourTuple t = tuple();
  t.local_ip.v ^= 1;
  EXPECT_NE(gen_.isn(t, kNow), base);
  t = tuple();
  t.local_port ^= 1;
  EXPECT_NE(gen_.isn(t, kNow), base);
  t = tuple();
  t.remote_ip.v ^= 0x80000000u;
  EXPECT_NE(gen_.isn(t, kNow), base);
  t = tuple();
  t.remote_port ^= 0x100;
  EXPECT_NE(gen_.isn(t, kNow), base);
  // Swapping local and remote is a different connection.
  const FourTuple swapped{t.remote_ip, t.remote_port, t.local_ip, t.local_port};
  EXPECT_NE(gen_.isn(swapped, kNow), gen_.isn(t, kNow));
}

TEST_F(IsnTest, DifferentPerSecret) {
  std::array<uint8_t, 16> key2 = kSecret;
  key2[15] ^= 1;
  IsnGenerator other(key2);
  EXPECT_NE(gen_.isn(tuple(), kNow), other.isn(tuple(), kNow));
}

TEST_F(IsnTest, AdvancesWithThe4MicrosecondClock) {
  const Seq a = gen_.isn(tuple(), kNow);
  EXPECT_EQ(gen_.isn(tuple(), kNow + 3999) - a, 0);
  EXPECT_EQ(gen_.isn(tuple(), kNow + 4000) - a, 1);
  EXPECT_EQ(gen_.isn(tuple(), kNow + 4'000'000) - a, 1000);
  // Increasing for the same tuple over an hour (2^31 ticks of 4 µs is ~2.4 hours).
  Seq prev = a;
  for (uint64_t dt = 1'000'000'000; dt <= 3600'000'000'000; dt += 60'000'000'000) {
    const Seq s = gen_.isn(tuple(), kNow + dt);
    EXPECT_GT(s, prev) << dt;
    prev = s;
  }
}

// Peer SYN options as a cookie sees them, across the whole space of values.
std::vector<CookieSyn> all_syns(bool with_options) {
  std::vector<CookieSyn> out;
  for (uint16_t mss : kCookieMssTable) {
    if (!with_options) {
      out.push_back(CookieSyn{mss, std::nullopt, false});
      continue;
    }
    for (int ws = -1; ws <= 14; ws++) {
      for (bool sack : {false, true}) {
        CookieSyn s{mss, std::nullopt, sack};
        if (ws >= 0) {
          s.wscale = static_cast<uint8_t>(ws);
        }
        out.push_back(s);
      }
    }
  }
  return out;
}

void expect_same(const CookieSyn& got, const CookieSyn& want) {
  EXPECT_EQ(got.mss, want.mss);
  EXPECT_EQ(got.wscale, want.wscale);
  EXPECT_EQ(got.sack_permitted, want.sack_permitted);
}

TEST_F(IsnTest, CookieRoundTripWithTimestamps) {
  const Seq peer(0x12345678);
  const uint32_t base_tsval = 0xabcdef77u;
  for (const CookieSyn& syn : all_syns(true)) {
    const auto c = gen_.make_cookie(tuple(), peer, syn, kNow, base_tsval);
    ASSERT_TRUE(c.tsval.has_value());
    // The high bits of the clock are kept and the TSval never runs ahead of it.
    const uint32_t behind = base_tsval - *c.tsval;
    EXPECT_LT(behind, 32u);
    EXPECT_EQ(*c.tsval & 0x1f,
              (syn.sack_permitted ? 0x10u : 0u) | (syn.wscale ? *syn.wscale : 0xfu));
    const auto got = gen_.check_cookie(tuple(), peer, c.isn, c.tsval, kNow + 1'000'000'000);
    ASSERT_TRUE(got.has_value()) << syn.mss << " " << int{syn.wscale.value_or(99)};
    expect_same(*got, syn);
  }
}

TEST_F(IsnTest, CookieRoundTripWithoutTimestamps) {
  const Seq peer(0xfffffff0u);
  for (const CookieSyn& syn : all_syns(false)) {
    const auto c = gen_.make_cookie(tuple(), peer, syn, kNow, std::nullopt);
    EXPECT_FALSE(c.tsval.has_value());
    const auto got = gen_.check_cookie(tuple(), peer, c.isn, std::nullopt, kNow);
    ASSERT_TRUE(got.has_value()) << syn.mss;
    expect_same(*got, syn);
  }
  // Without timestamps there is nowhere to keep wscale and SACK: they are dropped.
  const CookieSyn rich{1460, 7, true};
  const auto c = gen_.make_cookie(tuple(), peer, rich, kNow, std::nullopt);
  const auto got = gen_.check_cookie(tuple(), peer, c.isn, std::nullopt, kNow);
  ASSERT_TRUE(got.has_value());
  expect_same(*got, CookieSyn{1460, std::nullopt, false});
}

TEST_F(IsnTest, CookieMssRoundsDownToTable) {
  const Seq peer(1);
  auto mss_for = [&](uint16_t mss) {
    const auto c =
        gen_.make_cookie(tuple(), peer, CookieSyn{mss, std::nullopt, false}, kNow, std::nullopt);
    return gen_.check_cookie(tuple(), peer, c.isn, std::nullopt, kNow).value().mss;
  };
  EXPECT_EQ(mss_for(100), 536);
  EXPECT_EQ(mss_for(536), 536);
  EXPECT_EQ(mss_for(1299), 536);
  EXPECT_EQ(mss_for(1300), 1300);
  EXPECT_EQ(mss_for(1459), 1440);
  EXPECT_EQ(mss_for(1460), 1460);
  EXPECT_EQ(mss_for(9000), 1460);
}

TEST_F(IsnTest, CookieWscaleAbove14EncodedAs14) {
  const auto c =
      gen_.make_cookie(tuple(), Seq(5), CookieSyn{1460, 15, false}, kNow, uint32_t{1000});
  const auto got = gen_.check_cookie(tuple(), Seq(5), c.isn, c.tsval, kNow);
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->wscale, 14);
}

TEST_F(IsnTest, CookieTimeSlots) {
  const Seq peer(77);
  const CookieSyn syn{1440, 7, true};
  // Made 1 s into a slot: valid for the rest of it and all of the next one.
  const uint64_t slot_start = (kNow / kCookieSlotNs) * kCookieSlotNs;
  const uint64_t made = slot_start + 1'000'000'000;
  const auto c = gen_.make_cookie(tuple(), peer, syn, made, uint32_t{5000});
  auto check = [&](uint64_t at) {
    return gen_.check_cookie(tuple(), peer, c.isn, c.tsval, at).has_value();
  };
  EXPECT_TRUE(check(made));
  EXPECT_TRUE(check(slot_start + kCookieSlotNs - 1));
  EXPECT_TRUE(check(slot_start + kCookieSlotNs));  // previous slot: accepted
  EXPECT_TRUE(check(slot_start + 2 * kCookieSlotNs - 1));
  EXPECT_FALSE(check(slot_start + 2 * kCookieSlotNs));  // two slots old: rejected
  EXPECT_FALSE(check(slot_start + 10 * kCookieSlotNs));
  EXPECT_FALSE(check(slot_start - 1));  // from the future
  // 64 slots later the slot bits in the cookie match again; the MAC still rejects it.
  EXPECT_FALSE(check(made + 64 * kCookieSlotNs));
  EXPECT_FALSE(check(made + 65 * kCookieSlotNs));
}

TEST_F(IsnTest, CookieRejectsWrongTuplePeerIsnOrOptions) {
  const Seq peer(0x01020304);
  const CookieSyn syn{1460, 9, true};
  const auto c = gen_.make_cookie(tuple(), peer, syn, kNow, uint32_t{0x7777});
  ASSERT_TRUE(gen_.check_cookie(tuple(), peer, c.isn, c.tsval, kNow).has_value());

  EXPECT_FALSE(gen_.check_cookie(tuple(40001), peer, c.isn, c.tsval, kNow).has_value());
  FourTuple t = tuple();
  t.remote_ip.v++;
  EXPECT_FALSE(gen_.check_cookie(t, peer, c.isn, c.tsval, kNow).has_value());
  t = tuple();
  t.local_port = 80;
  EXPECT_FALSE(gen_.check_cookie(t, peer, c.isn, c.tsval, kNow).has_value());
  t = tuple();
  t.local_ip.v--;
  EXPECT_FALSE(gen_.check_cookie(t, peer, c.isn, c.tsval, kNow).has_value());

  EXPECT_FALSE(gen_.check_cookie(tuple(), peer + 1, c.isn, c.tsval, kNow).has_value());
  EXPECT_FALSE(gen_.check_cookie(tuple(), peer - 1, c.isn, c.tsval, kNow).has_value());
  EXPECT_FALSE(gen_.check_cookie(tuple(), peer, c.isn + 1, c.tsval, kNow).has_value());
  EXPECT_FALSE(gen_.check_cookie(tuple(), peer, c.isn + 0x100, c.tsval, kNow).has_value());
  // A peer editing the option bits it echoes, or dropping timestamps, fails the MAC.
  for (uint32_t flip = 1; flip < 32; flip <<= 1) {
    EXPECT_FALSE(gen_.check_cookie(tuple(), peer, c.isn, *c.tsval ^ flip, kNow).has_value());
  }
  EXPECT_FALSE(gen_.check_cookie(tuple(), peer, c.isn, std::nullopt, kNow).has_value());
  // The high TSval bits are not part of the cookie (the peer's echo only has to carry the
  // low ones), so a different clock reading with the same low bits still passes.
  EXPECT_TRUE(gen_.check_cookie(tuple(), peer, c.isn, *c.tsval + 32, kNow).has_value());
  // And a cookie made without timestamps fails when an ACK suddenly carries them.
  const auto plain = gen_.make_cookie(tuple(), peer, syn, kNow, std::nullopt);
  EXPECT_FALSE(gen_.check_cookie(tuple(), peer, plain.isn, uint32_t{0x1f}, kNow).has_value());
  // Another worker's secret does not accept our cookies.
  std::array<uint8_t, 16> key2 = kSecret;
  key2[0] ^= 0x80;
  IsnGenerator other(key2);
  EXPECT_FALSE(other.check_cookie(tuple(), peer, c.isn, c.tsval, kNow).has_value());
}

TEST_F(IsnTest, RandomForgeriesRejected) {
  std::mt19937 rng(2024);
  const Seq peer(0xdeadbeefu);
  const auto real = gen_.make_cookie(tuple(), peer, CookieSyn{1460, 7, true}, kNow, 1234u);
  int accepted_random = 0, accepted_guessed_low_bits = 0;
  for (int i = 0; i < 10000; i++) {
    const uint32_t forged = rng();
    if (gen_.check_cookie(tuple(), peer, Seq(forged), real.tsval, kNow)) {
      accepted_random++;
    }
    // A smarter forger copies the slot and MSS bits and guesses the 24-bit MAC.
    const uint32_t guessed = (forged & 0xffffff00u) | (real.isn.raw() & 0xffu);
    if (guessed != real.isn.raw() &&
        gen_.check_cookie(tuple(), peer, Seq(guessed), real.tsval, kNow)) {
      accepted_guessed_low_bits++;
    }
  }
  // Expected 10,000 * 2^-24 = 0.0006 acceptances: none with this seed.
  EXPECT_EQ(accepted_random, 0);
  EXPECT_EQ(accepted_guessed_low_bits, 0);
}

}  // namespace
}  // namespace linetls::net::tcp
