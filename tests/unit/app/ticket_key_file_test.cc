// Ticket key files (apps/linetls/ticket_key_file.h): nginx's binary 48/80 bytes, HAProxy's
// base64 lines (the penultimate key seals), and the ways a file is refused.
#include "apps/linetls/ticket_key_file.h"

#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <vector>

namespace linetls::app {
namespace {

std::vector<uint8_t> bytes(const std::string& s) { return {s.begin(), s.end()}; }

std::vector<uint8_t> pattern(size_t n, uint8_t seed) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; i++) {
    v[i] = static_cast<uint8_t>(seed + 3 * i);
  }
  return v;
}

// Base64 of pattern(n, seed), as `openssl base64 -A` writes it.
std::string b64(const std::vector<uint8_t>& v) {
  static const char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  for (size_t i = 0; i < v.size(); i += 3) {
    uint32_t n = uint32_t{v[i]} << 16;
    if (i + 1 < v.size()) {
      n |= uint32_t{v[i + 1]} << 8;
    }
    if (i + 2 < v.size()) {
      n |= v[i + 2];
    }
    out += kAlphabet[n >> 18 & 63];
    out += kAlphabet[n >> 12 & 63];
    out += i + 1 < v.size() ? kAlphabet[n >> 6 & 63] : '=';
    out += i + 2 < v.size() ? kAlphabet[n & 63] : '=';
  }
  return out;
}

TEST(TicketKeyFile, NginxBinaryFilesOf48And80Bytes) {
  for (size_t n : {48u, 80u}) {
    const auto raw = pattern(n, 1);
    auto f = parse_ticket_key_file(raw);
    ASSERT_TRUE(f.ok()) << f.error();
    EXPECT_EQ(f->format, TicketKeyFile::Format::kNginx);
    ASSERT_EQ(f->keys.size(), 1u);
    EXPECT_TRUE(f->keys[0].equals(raw));
    EXPECT_EQ(f->seal_index, 0u);
  }
}

TEST(TicketKeyFile, HaproxyLinesThePenultimateSeals) {
  const auto k1 = pattern(80, 1), k2 = pattern(80, 2), k3 = pattern(80, 3);
  auto f = parse_ticket_key_file(bytes(b64(k1) + "\n" + b64(k2) + "\r\n\n" + b64(k3) + "\n"));
  ASSERT_TRUE(f.ok()) << f.error();
  EXPECT_EQ(f->format, TicketKeyFile::Format::kHaproxy);
  ASSERT_EQ(f->keys.size(), 3u);
  EXPECT_TRUE(f->keys[0].equals(k1));
  EXPECT_TRUE(f->keys[2].equals(k3));
  EXPECT_EQ(f->seal_index, 1u);  // "the penultimate one for encryption"
  auto one = parse_ticket_key_file(bytes(b64(pattern(48, 9))));  // no final newline
  ASSERT_TRUE(one.ok()) << one.error();
  ASSERT_EQ(one->keys.size(), 1u);
  EXPECT_EQ(one->keys[0].size(), 48u);
  EXPECT_EQ(one->seal_index, 0u);
}

TEST(TicketKeyFile, BadFilesAreRefusedWithAReason) {
  struct Case {
    std::vector<uint8_t> file;
    const char* error;
  };
  const std::string k48 = b64(pattern(48, 1));
  const Case cases[] = {
      {{},
       "empty file (expected nginx's 48 or 80 bytes, or HAProxy's base64 keys, one per "
       "line)"},
      {bytes("\n\n"),
       "no key (expected nginx's 48 or 80 bytes, or HAProxy's base64 keys, "
       "one per line)"},
      {pattern(47, 1),
       "line 1: not base64 of 48 or 80 bytes (HAProxy's format: one base64 "
       "key per line; nginx's: a file of exactly 48 or 80 bytes)"},
      {pattern(81, 1),
       "line 1: not base64 of 48 or 80 bytes (HAProxy's format: one base64 "
       "key per line; nginx's: a file of exactly 48 or 80 bytes)"},
      {bytes(k48 + "\n" + b64(pattern(32, 2)) + "\n"),
       "line 2: a key of 32 bytes (expected 48 or 80)"},
      {bytes(k48 + "\n" + b64(pattern(80, 2)) + "\n"),
       "line 2: a 80-byte key after 48-byte ones (HAProxy does not mix AES-128 and AES-256 "
       "keys)"},
      {bytes(k48.substr(0, 10) + "!" + k48.substr(11) + "\n"),
       "line 1: not base64 of 48 or 80 bytes (HAProxy's format: one base64 key per line; "
       "nginx's: a file of exactly 48 or 80 bytes)"},
      {bytes(k48.substr(1) + "\n"),  // 63 characters: not a multiple of 4
       "line 1: not base64 of 48 or 80 bytes (HAProxy's format: one base64 key per line; "
       "nginx's: a file of exactly 48 or 80 bytes)"},
      {bytes(" " + k48 + "\n"),
       "line 1: not base64 of 48 or 80 bytes (HAProxy's format: one base64 key per line; "
       "nginx's: a file of exactly 48 or 80 bytes)"},
  };
  for (const Case& c : cases) {
    auto f = parse_ticket_key_file(c.file);
    ASSERT_FALSE(f.ok()) << c.error;
    EXPECT_EQ(f.error(), c.error);
  }
}

TEST(TicketKeyFile, LoadDerivesTheSameKeysFromTheSameFile) {
  const std::string dir = ::testing::TempDir();
  const std::string nginx = dir + "/linetls_ticket_nginx.key";
  const std::string haproxy = dir + "/linetls_ticket_haproxy.key";
  const auto raw = pattern(80, 7);
  {
    std::ofstream(nginx, std::ios::binary)
        .write(reinterpret_cast<const char*>(raw.data()), static_cast<std::streamsize>(raw.size()));
    std::ofstream(haproxy) << b64(pattern(48, 1)) << "\n"
                           << b64(pattern(48, 2)) << "\n"
                           << b64(pattern(48, 1)) << "\n";
  }
  auto a = load_ticket_keys(nginx);
  auto b = load_ticket_keys(nginx);
  ASSERT_TRUE(a.ok() && b.ok());
  ASSERT_EQ(a->keys.size(), 1u);
  EXPECT_EQ(a->keys[0].id, b->keys[0].id);
  EXPECT_TRUE(a->keys[0].key == b->keys[0].key);
  // The same key twice in a file is one key; the penultimate line (key 2) seals.
  auto h = load_ticket_keys(haproxy);
  ASSERT_TRUE(h.ok()) << h.error();
  ASSERT_EQ(h->keys.size(), 2u);
  EXPECT_EQ(h->seal_index, 1u);
  auto missing = load_ticket_keys(dir + "/linetls_no_such.key");
  ASSERT_FALSE(missing.ok());
  EXPECT_TRUE(missing.error().starts_with(dir + "/linetls_no_such.key: cannot open"))
      << missing.error();
}

}  // namespace
}  // namespace linetls::app
