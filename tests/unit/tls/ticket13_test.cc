// TicketKeys::rotate_to: keys derived per epoch from a shared master, so workers that never
// talk agree on them; a ticket opens in its own epoch and the next one, not later.
// TicketKeys::install: explicit keys from a key file entry (derive_explicit_ticket_key):
// two servers with the same entries open each other's tickets, one sealing key, all open.
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

std::vector<uint8_t> entry(uint8_t seed, size_t len = 80) {
  std::vector<uint8_t> e(len);
  for (size_t i = 0; i < e.size(); i++) {
    e[i] = static_cast<uint8_t>(seed * 7 + i);
  }
  return e;
}

ExplicitTicketKey explicit_key(uint8_t seed, size_t len = 80) {
  auto k = derive_explicit_ticket_key(entry(seed, len));
  EXPECT_TRUE(k);
  return std::move(k).value();
}

TEST(TicketKeysExplicit, DerivationIsDeterministicAndDependsOnEveryByte) {
  const ExplicitTicketKey a = explicit_key(1);
  const ExplicitTicketKey b = explicit_key(1);
  EXPECT_EQ(a.id, b.id);
  EXPECT_TRUE(a.key == b.key);
  EXPECT_EQ(a.key.size(), 32u);
  std::vector<uint8_t> e = entry(1);
  e.back() ^= 1;
  auto c = derive_explicit_ticket_key(e);
  ASSERT_TRUE(c);
  EXPECT_FALSE(c->key == a.key);
  EXPECT_NE(c->id, a.id);
  EXPECT_FALSE(derive_explicit_ticket_key({}));
}

TEST(TicketKeysExplicit, ServersWithTheSameKeysOpenEachOthersTickets) {
  std::vector<ExplicitTicketKey> keys;
  keys.push_back(explicit_key(1));
  keys.push_back(explicit_key(2, 48));
  Keys a, b, stranger;
  ASSERT_TRUE(a.keys.rotate());
  ASSERT_TRUE(b.keys.rotate());
  ASSERT_TRUE(stranger.keys.rotate());
  ASSERT_TRUE(a.keys.install(keys, 0));
  ASSERT_TRUE(b.keys.install(keys, 1));
  EXPECT_EQ(a.keys.current_id(), keys[0].id);
  EXPECT_EQ(b.keys.current_id(), keys[1].id);
  auto from_a = a.keys.seal(contents());
  auto from_b = b.keys.seal(contents());
  ASSERT_TRUE(from_a && from_b);
  EXPECT_TRUE(b.keys.open(*from_a));  // sealed under keys[0]; b decrypts with every key
  EXPECT_TRUE(a.keys.open(*from_b));
  EXPECT_FALSE(stranger.keys.open(*from_a));
  // A rotating-key ticket does not open while explicit keys are installed, and vice versa.
  auto rotated = stranger.keys.seal(contents());
  ASSERT_TRUE(rotated);
  stranger.keys.clear_explicit();
  EXPECT_FALSE(a.keys.open(*rotated));
  ASSERT_TRUE(stranger.keys.install(std::span(keys).first(1), 0));
  EXPECT_TRUE(stranger.keys.open(*from_a));
  EXPECT_FALSE(stranger.keys.open(*from_b));  // keys[1] is no longer installed there
  stranger.keys.clear_explicit();
  EXPECT_FALSE(stranger.keys.has_explicit());
  EXPECT_TRUE(stranger.keys.open(*rotated));
}

TEST(TicketKeysExplicit, InstallRefusesBadLists) {
  Keys k;
  ASSERT_TRUE(k.keys.rotate());
  std::vector<ExplicitTicketKey> keys;
  EXPECT_FALSE(k.keys.install(keys, 0));
  keys.push_back(explicit_key(1));
  EXPECT_FALSE(k.keys.install(keys, 1));
  keys.push_back(explicit_key(1));  // the same id twice
  EXPECT_FALSE(k.keys.install(keys, 0));
  EXPECT_FALSE(k.keys.has_explicit());
}

}  // namespace
}  // namespace linetls::tls
