// TicketKeys::rotate_to: keys derived per epoch from a shared master, so workers that never
// talk agree on them; a ticket opens in its own epoch and the next one, not later.
#include <gtest/gtest.h>

#include <array>
#include <memory>
#include <vector>

#include "drivers/ossl/ossl_aead.h"
#include "lib/crypto/rng.h"
#include "lib/tls/ticket13.h"

namespace linetls::tls {
namespace {

struct Keys {
  std::unique_ptr<ossl::OsslAeadBatch> batch = ossl::OsslAeadBatch::create(1).value();
  TicketKeys keys{*batch, crypto::os_rng()};
};

TicketContents contents() {
  TicketContents c;
  c.suite = CipherSuite::kAes128GcmSha256;
  const std::vector<uint8_t> psk(32, 0x42);
  c.psk.assign(psk);
  c.lifetime_s = 60;
  return c;
}

std::array<uint8_t, 32> master(uint8_t seed) {
  std::array<uint8_t, 32> m;
  for (size_t i = 0; i < m.size(); i++) {
    m[i] = static_cast<uint8_t>(seed + i);
  }
  return m;
}

TEST(TicketKeysRotateTo, WorkersWithTheSameMasterAgree) {
  const auto m = master(1);
  Keys a, b;
  ASSERT_TRUE(a.keys.rotate_to(7, m));
  ASSERT_TRUE(b.keys.rotate_to(7, m));
  EXPECT_EQ(a.keys.current_id(), 7u);
  auto t = a.keys.seal(contents());
  ASSERT_TRUE(t);
  EXPECT_EQ((*t)[3], 7);  // the key id is the epoch
  EXPECT_TRUE(b.keys.open(*t));
  // Another master derives other keys.
  Keys other;
  ASSERT_TRUE(other.keys.rotate_to(7, master(2)));
  EXPECT_FALSE(other.keys.open(*t));
}

TEST(TicketKeysRotateTo, TicketOpensInItsEpochAndTheNextOnly) {
  const auto m = master(9);
  Keys issuer;
  ASSERT_TRUE(issuer.keys.rotate_to(100, m));
  auto t = issuer.keys.seal(contents());
  ASSERT_TRUE(t);
  // Stepping forward one epoch at a time.
  Keys w;
  ASSERT_TRUE(w.keys.rotate_to(100, m));
  EXPECT_TRUE(w.keys.open(*t));
  ASSERT_TRUE(w.keys.rotate_to(100, m));  // same epoch: nothing changes
  EXPECT_TRUE(w.keys.open(*t));
  ASSERT_TRUE(w.keys.rotate_to(101, m));
  EXPECT_EQ(w.keys.current_id(), 101u);
  EXPECT_TRUE(w.keys.open(*t));
  ASSERT_TRUE(w.keys.rotate_to(102, m));
  EXPECT_FALSE(w.keys.open(*t));
  // Joining late: a worker that starts at epoch 101 derives 100 as its previous key.
  Keys late;
  ASSERT_TRUE(late.keys.rotate_to(101, m));
  EXPECT_TRUE(late.keys.open(*t));
  Keys later;
  ASSERT_TRUE(later.keys.rotate_to(102, m));
  EXPECT_FALSE(later.keys.open(*t));
  // Jumping over epochs replaces both slots.
  ASSERT_TRUE(late.keys.rotate_to(103, m));
  EXPECT_FALSE(late.keys.open(*t));
  auto t102 = later.keys.seal(contents());
  ASSERT_TRUE(t102);
  EXPECT_TRUE(late.keys.open(*t102));
}

TEST(TicketKeysRotateTo, AfterRandomRotation) {
  const auto m = master(3);
  Keys k;
  ASSERT_TRUE(k.keys.rotate());
  auto random_ticket = k.keys.seal(contents());
  ASSERT_TRUE(random_ticket);
  ASSERT_TRUE(k.keys.rotate_to(5, m));
  EXPECT_FALSE(k.keys.open(*random_ticket));  // both slots replaced
  Keys peer;
  ASSERT_TRUE(peer.keys.rotate_to(5, m));
  auto t = peer.keys.seal(contents());
  ASSERT_TRUE(t);
  EXPECT_TRUE(k.keys.open(*t));
}

}  // namespace
}  // namespace linetls::tls
