// ClientHello parsing (RFC 8448 §3 and §4 ClientHellos, and a table of malformed ones with
// the Error each must give), the §4.2 extension table, and the ServerHello /
// HelloRetryRequest / EncryptedExtensions writers (RFC 8448 §3's bytes reproduced).
#include "lib/tls/hello.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "lib/crypto/hash.h"
#include "lib/tls/handshake_msg.h"
#include "lib/tls/key_schedule.h"
#include "tests/unit/crypto/test_util.h"

namespace linetls::tls {
namespace {

using Bytes = std::vector<uint8_t>;
using crypto::testing::hex;
using crypto::testing::read_records;
using crypto::testing::Record;
using crypto::testing::to_hex;

Record section(const char* file, const std::string& name) {
  for (auto& r : read_records(file)) {
    if (r["name"] == name) {
      return r;
    }
  }
  ADD_FAILURE() << "no section " << name;
  return {};
}

std::string hexs(std::span<const uint8_t> b) { return to_hex(b); }

TEST(ClientHelloParse, Rfc8448Simple) {
  const Bytes msg = hex(section("tls13/rfc8448_simple.txt", "messages")["client_hello"]);
  ASSERT_EQ(msg[0], 1);
  auto ch = parse_client_hello(std::span<const uint8_t>(msg).subspan(4));
  ASSERT_TRUE(ch) << to_string(ch.error());
  EXPECT_EQ(ch->legacy_version, 0x0303);
  EXPECT_EQ(hexs(ch->random), "cb34ecb1e78163ba1c38c6dacb196a6dffa21a8d9912ec18a2ef6283024dece7");
  EXPECT_TRUE(ch->legacy_session_id.empty());
  EXPECT_EQ(hexs(ch->cipher_suites), "130113031302");
  EXPECT_EQ(hexs(ch->legacy_compression_methods), "00");
  EXPECT_EQ(std::string(ch->server_name.begin(), ch->server_name.end()), "server");
  EXPECT_EQ(hexs(ch->supported_groups), "001d00170018001901000101010201030104");
  ASSERT_EQ(ch->num_key_shares, 1u);
  EXPECT_EQ(ch->key_shares[0].group, 0x001d);
  EXPECT_EQ(hexs(ch->key_shares[0].key_exchange),
            "99381de560e4bd43d23d8e435a7dbafeb3c06e51c13cae4d5413691e529aaf2c");
  EXPECT_EQ(hexs(ch->supported_versions), "0304");
  EXPECT_TRUE(ch->offers_tls13());
  EXPECT_EQ(hexs(ch->signature_algorithms),
            "040305030603020308040805080604010501060102010402050206020202");
  EXPECT_EQ(hexs(ch->psk_modes), "01");
  EXPECT_EQ(ch->record_size_limit, 0x4001);
  EXPECT_TRUE(ch->has(ExtensionType::kRenegotiationInfo));
  EXPECT_TRUE(ch->has(ExtensionType::kSessionTicket));
  EXPECT_FALSE(ch->has(ExtensionType::kPreSharedKey));
  EXPECT_FALSE(ch->has(ExtensionType::kAlpn));
  EXPECT_FALSE(ch->early_data);
  EXPECT_EQ(ch->num_psks, 0u);
  EXPECT_TRUE(check_tls13_client_hello(*ch));
}

TEST(ClientHelloParse, Rfc8448ResumptionPskAndBinder) {
  Record v = section("tls13/rfc8448_resumption.txt", "client_hello_psk");
  const Bytes msg = hex(v["client_hello"]);
  auto ch = parse_client_hello(std::span<const uint8_t>(msg).subspan(4));
  ASSERT_TRUE(ch) << to_string(ch.error());
  EXPECT_TRUE(ch->early_data);
  EXPECT_TRUE(ch->has(ExtensionType::kPadding));
  ASSERT_EQ(ch->num_psks, 1u);
  EXPECT_EQ(ch->psks[0].identity.size(), std::stoul(v["identity_len"]));
  EXPECT_EQ(ch->psks[0].obfuscated_ticket_age, std::stoul(v["ticket_age"], nullptr, 16));
  EXPECT_EQ(hexs(ch->psks[0].binder), v["binder"]);
  EXPECT_EQ(kHandshakeHeaderLen + ch->binders_offset, std::stoul(v["truncated_len"]));
  // §4.2.11.2: the binder is a Finished over Truncate(ClientHello), keyed from the §3
  // ticket's PSK; verify it through the key schedule.
  auto bh = crypto::hash(crypto::HashAlgo::kSha256,
                         std::span<const uint8_t>(msg).first(4 + ch->binders_offset));
  ASSERT_TRUE(bh);
  EXPECT_EQ(hexs(bh->view()), v["binder_hash"]);
  Record r = section("tls13/rfc8448_simple.txt", "resumption");
  const Bytes bk = hex(r["res_binder_key"]);
  EXPECT_TRUE(verify_finished(crypto::HashAlgo::kSha256, bk, bh->view(), ch->psks[0].binder,
                              Error::kBadPskBinder));
  Bytes bad(ch->psks[0].binder.begin(), ch->psks[0].binder.end());
  bad[0] ^= 1;
  EXPECT_EQ(
      verify_finished(crypto::HashAlgo::kSha256, bk, bh->view(), bad, Error::kBadPskBinder).error(),
      Error::kBadPskBinder);
  EXPECT_TRUE(check_tls13_client_hello(*ch));
}

// Builders for malformed ClientHellos.
Bytes u16(uint16_t v) { return {static_cast<uint8_t>(v >> 8), static_cast<uint8_t>(v)}; }
Bytes cat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const auto& p : parts) {
    out.insert(out.end(), p.begin(), p.end());
  }
  return out;
}
Bytes p8(const Bytes& b) { return cat({{static_cast<uint8_t>(b.size())}, b}); }
Bytes p16(const Bytes& b) { return cat({u16(static_cast<uint16_t>(b.size())), b}); }
Bytes ext(uint16_t type, const Bytes& body) { return cat({u16(type), p16(body)}); }

const Bytes kVersions13 = ext(43, p8(u16(0x0304)));
const Bytes kGroups = ext(10, p16(cat({u16(0x001d), u16(0x0017)})));
const Bytes kShare = ext(51, p16(cat({u16(0x001d), p16(Bytes(32, 9))})));
const Bytes kSigAlgs = ext(13, p16(u16(0x0403)));
const Bytes kModes = ext(45, p8({1}));
Bytes psk_ext(size_t num_ids, size_t num_binders, size_t binder_len = 32) {
  Bytes ids, binders;
  for (size_t i = 0; i < num_ids; i++) {
    ids = cat({ids, p16({1, 2, 3}), {0, 0, 0, 1}});
  }
  for (size_t i = 0; i < num_binders; i++) {
    binders = cat({binders, p8(Bytes(binder_len, 7))});
  }
  return ext(41, cat({p16(ids), p16(binders)}));
}

Bytes ch_body(const Bytes& exts, size_t sid_len = 0, Bytes suites = {0x13, 0x01},
              Bytes comp = {0}) {
  return cat(
      {u16(0x0303), Bytes(32, 0xaa), p8(Bytes(sid_len, 1)), p16(suites), p8(comp), p16(exts)});
}
Bytes good_exts() { return cat({kVersions13, kGroups, kShare, kSigAlgs}); }

// A server_name extension with one host_name.
Bytes sni(const Bytes& host_name) { return ext(0, p16(cat({{0}, p16(host_name)}))); }
// A server_name extension whose entries are {type, name bytes...}.
Bytes sni_ext(const Bytes& a, const Bytes& b = {}) {
  Bytes list = cat({{a[0]}, p16(Bytes(a.begin() + 1, a.end()))});
  if (!b.empty()) {
    list = cat({list, {b[0]}, p16(Bytes(b.begin() + 1, b.end()))});
  }
  return ext(0, p16(list));
}
// A DNS name of n bytes: labels of 63 'a'..'d' bytes joined by dots, the last one shorter.
Bytes dns_name(size_t n) {
  Bytes out;
  for (uint8_t c = 'a'; out.size() < n; c++) {
    if (!out.empty()) {
      out.push_back('.');
    }
    out.insert(out.end(), std::min<size_t>(63, n - out.size()), c);
  }
  return out;
}

TEST(ClientHelloParse, BuilderBaselineIsValid) {
  auto ch = parse_client_hello(ch_body(good_exts()));
  ASSERT_TRUE(ch) << to_string(ch.error());
  EXPECT_TRUE(check_tls13_client_hello(*ch));
  // Unknown extensions (GREASE 0x0a0a, 0xfe0d) are ignored in a ClientHello.
  auto ch2 = parse_client_hello(ch_body(cat({ext(0x0a0a, {}), good_exts(), ext(0xfe0d, {1})})));
  ASSERT_TRUE(ch2);
  // A TLS 1.2 ClientHello may carry no extensions at all, and offer compression 1 beside 0.
  Bytes no_ext = cat({u16(0x0303), Bytes(32, 0xaa), p8({}), p16({0xc0, 0x2b}), p8({1, 0})});
  auto ch3 = parse_client_hello(no_ext);
  ASSERT_TRUE(ch3);
  EXPECT_FALSE(ch3->offers_tls13());
  EXPECT_EQ(check_tls13_client_hello(*ch3).error(), Error::kMissingExtension);
}

struct Malformed {
  const char* what;
  Bytes body;
  Error want;
};

TEST(ClientHelloParse, MalformedTable) {
  Bytes truncated = ch_body(good_exts());
  truncated.resize(20);
  Bytes trailing = cat({ch_body(good_exts()), {0}});
  Bytes overrun = ch_body(good_exts());
  overrun[overrun.size() - 6] = 0xff;  // the last extension's length, high byte
  Bytes many;
  for (uint16_t i = 0; i < 129; i++) {
    many = cat({many, ext(static_cast<uint16_t>(0x7000 + i), {})});
  }
  Bytes shares;
  for (uint16_t g = 1; g <= 17; g++) {
    shares = cat({shares, u16(g), p16({1})});
  }
  const std::vector<Malformed> cases = {
      {"truncated", truncated, Error::kDecodeError},
      {"trailing byte", trailing, Error::kDecodeError},
      {"extension overruns block", overrun, Error::kDecodeError},
      {"session id 33", ch_body(good_exts(), 33), Error::kDecodeError},
      {"no cipher suites", ch_body(good_exts(), 0, {}), Error::kDecodeError},
      {"odd cipher suites", ch_body(good_exts(), 0, {0x13, 0x01, 0x13}), Error::kDecodeError},
      {"no compression", ch_body(good_exts(), 0, {0x13, 0x01}, {}), Error::kDecodeError},
      {"1.3 with deflate", ch_body(good_exts(), 0, {0x13, 0x01}, {1, 0}),
       Error::kBadCompressionMethod},
      {"1.2 without null", ch_body(kSigAlgs, 0, {0xc0, 0x2b}, {1}), Error::kBadCompressionMethod},
      {"duplicate known", ch_body(cat({good_exts(), kSigAlgs})), Error::kDuplicateExtension},
      {"duplicate unknown", ch_body(cat({ext(0x7777, {}), good_exts(), ext(0x7777, {})})),
       Error::kDuplicateExtension},
      {"oid_filters in CH", ch_body(cat({good_exts(), ext(48, p16({}))})),
       Error::kMisplacedExtension},
      {"psk not last", ch_body(cat({psk_ext(1, 1), good_exts(), kModes})),
       Error::kPreSharedKeyNotLast},
      {"psk before unknown", ch_body(cat({good_exts(), kModes, psk_ext(1, 1), ext(0x7777, {})})),
       Error::kPreSharedKeyNotLast},
      {"two server names",
       ch_body(cat({good_exts(), ext(0, p16(cat({{0}, p16({'a'}), {0}, p16({'b'})})))})),
       Error::kBadServerName},
      {"two server names of type 1", ch_body(cat({good_exts(), sni_ext({1, 'a'}, {1, 'b'})})),
       Error::kBadServerName},
      {"server name with NUL", ch_body(cat({good_exts(), sni({'a', 0, 'b'})})),
       Error::kBadServerName},
      {"server name with a trailing dot", ch_body(cat({good_exts(), sni({'a', '.', 'b', '.'})})),
       Error::kBadServerName},
      {"server name with an empty label", ch_body(cat({good_exts(), sni({'a', '.', '.', 'b'})})),
       Error::kBadServerName},
      {"server name with a 64-byte label", ch_body(cat({good_exts(), sni(Bytes(64, 'a'))})),
       Error::kBadServerName},
      {"server name of 254 bytes", ch_body(cat({good_exts(), sni(dns_name(254))})),
       Error::kBadServerName},
      {"server name with a space", ch_body(cat({good_exts(), sni({'a', ' ', 'b'})})),
       Error::kBadServerName},
      {"server name not ASCII", ch_body(cat({good_exts(), sni({'a', 0xc3, 0xa9})})),
       Error::kBadServerName},
      {"empty server name", ch_body(cat({good_exts(), sni({})})), Error::kDecodeError},
      {"empty server name list", ch_body(cat({good_exts(), ext(0, p16({}))})), Error::kDecodeError},
      {"server name entry truncated", ch_body(cat({good_exts(), ext(0, p16({0, 0, 5, 'a'}))})),
       Error::kDecodeError},
      {"server_name trailing",
       ch_body(cat({good_exts(), ext(0, cat({p16(cat({{0}, p16({'a'})})), {0}}))})),
       Error::kDecodeError},
      {"versions odd", ch_body(cat({ext(43, p8({3, 4, 3})), kGroups, kShare, kSigAlgs})),
       Error::kDecodeError},
      {"versions empty", ch_body(cat({ext(43, p8({})), kGroups, kShare, kSigAlgs})),
       Error::kDecodeError},
      {"versions trailing", ch_body(cat({ext(43, cat({p8(u16(0x0304)), {0}})), kGroups, kShare})),
       Error::kDecodeError},
      {"groups empty", ch_body(cat({kVersions13, ext(10, p16({})), kShare})), Error::kDecodeError},
      {"duplicate key share",
       ch_body(cat(
           {kVersions13, kGroups, ext(51, p16(cat({u16(0x1d), p16({1}), u16(0x1d), p16({2})})))})),
       Error::kDuplicateKeyShare},
      {"empty key exchange",
       ch_body(cat({kVersions13, kGroups, ext(51, p16(cat({u16(0x1d), p16({})})))})),
       Error::kDecodeError},
      {"key share not in groups",
       ch_body(cat({kVersions13, kGroups, ext(51, p16(cat({u16(0x18), p16({1})})))})),
       Error::kKeyShareGroupNotOffered},
      {"17 key shares", ch_body(cat({kVersions13, ext(51, p16(shares))})),
       Error::kTooManyListEntries},
      {"alpn empty name", ch_body(cat({good_exts(), ext(16, p16(cat({p8({'h'}), p8({})})))})),
       Error::kDecodeError},
      {"alpn empty list", ch_body(cat({good_exts(), ext(16, p16({}))})), Error::kDecodeError},
      {"psk modes empty", ch_body(cat({good_exts(), ext(45, p8({}))})), Error::kDecodeError},
      {"binder count", ch_body(cat({good_exts(), kModes, psk_ext(2, 1)})),
       Error::kPskBinderCountMismatch},
      {"binder 31 bytes", ch_body(cat({good_exts(), kModes, psk_ext(1, 1, 31)})),
       Error::kDecodeError},
      {"psk no identities", ch_body(cat({good_exts(), kModes, psk_ext(0, 1)})),
       Error::kDecodeError},
      {"record_size_limit 63", ch_body(cat({good_exts(), ext(28, u16(63))})),
       Error::kBadRecordSizeLimit},
      {"record_size_limit 3 bytes", ch_body(cat({good_exts(), ext(28, {0x40, 0, 0})})),
       Error::kDecodeError},
      {"early_data not empty", ch_body(cat({good_exts(), ext(42, {0})})), Error::kDecodeError},
      {"cookie empty", ch_body(cat({good_exts(), ext(44, p16({}))})), Error::kDecodeError},
      {"129 extensions", ch_body(many), Error::kTooManyListEntries},
  };
  for (const Malformed& c : cases) {
    auto ch = parse_client_hello(c.body);
    ASSERT_FALSE(ch) << c.what;
    EXPECT_EQ(ch.error(), c.want) << c.what << ": got " << to_string(ch.error());
  }
}

// RFC 6066 §3: names of types other than host_name decode (their 16-bit length is the rule
// for new types) and are skipped; the host_name beside them counts; 253 bytes of labels of
// at most 63 bytes is a valid name.
TEST(ClientHelloParse, ServerNameTypesAndLimits) {
  // The parsed ClientHello views its body: each body outlives its parse.
  const Bytes other_body = ch_body(cat({good_exts(), sni_ext({1, 'a'})}));
  auto only_other = parse_client_hello(other_body);
  ASSERT_TRUE(only_other) << to_string(only_other.error());
  EXPECT_TRUE(only_other->has(ExtensionType::kServerName));
  EXPECT_TRUE(only_other->server_name.empty());
  const Bytes both_body = ch_body(cat({good_exts(), sni_ext({7, 'x'}, {0, 'a', '.', 'b'})}));
  auto both = parse_client_hello(both_body);
  ASSERT_TRUE(both) << to_string(both.error());
  EXPECT_EQ(std::string(both->server_name.begin(), both->server_name.end()), "a.b");
  const Bytes longest_body = ch_body(cat({good_exts(), sni(dns_name(253))}));
  auto longest = parse_client_hello(longest_body);
  ASSERT_TRUE(longest) << to_string(longest.error());
  EXPECT_EQ(longest->server_name.size(), 253u);
}

TEST(ClientHelloParse, MandatoryExtensionsForTls13) {
  struct Case {
    const char* what;
    Bytes exts;
  };
  const std::vector<Case> cases = {
      {"no supported_versions", cat({kGroups, kShare, kSigAlgs})},
      {"groups without key_share", cat({kVersions13, kGroups, kSigAlgs})},
      {"key_share without groups", cat({kVersions13, kShare, kSigAlgs})},
      {"no signature_algorithms", cat({kVersions13, kGroups, kShare})},
      {"psk without modes", cat({kVersions13, kGroups, kShare, psk_ext(1, 1)})},
  };
  for (const Case& c : cases) {
    auto ch = parse_client_hello(ch_body(c.exts));
    ASSERT_TRUE(ch) << c.what << ": " << to_string(ch.error());
    EXPECT_EQ(check_tls13_client_hello(*ch).error(), Error::kMissingExtension) << c.what;
  }
  // PSK-only (psk_ke style) needs no signature_algorithms.
  auto ch = parse_client_hello(ch_body(cat({kVersions13, kGroups, kShare, kModes, psk_ext(1, 1)})));
  ASSERT_TRUE(ch);
  EXPECT_TRUE(check_tls13_client_hello(*ch));
}

TEST(ExtensionTable, FollowsRfc8446Section42) {
  using M = ExtMessage;
  EXPECT_TRUE(extension_allowed(0, M::kClientHello));
  EXPECT_TRUE(extension_allowed(0, M::kEncryptedExtensions));
  EXPECT_FALSE(extension_allowed(0, M::kServerHello));
  EXPECT_TRUE(extension_allowed(51, M::kHelloRetryRequest));
  EXPECT_TRUE(extension_allowed(44, M::kHelloRetryRequest));
  EXPECT_FALSE(extension_allowed(44, M::kServerHello));
  EXPECT_TRUE(extension_allowed(42, M::kNewSessionTicket));
  EXPECT_FALSE(extension_allowed(45, M::kServerHello));
  EXPECT_TRUE(extension_allowed(48, M::kCertificateRequest));
  EXPECT_FALSE(extension_allowed(48, M::kClientHello));
  EXPECT_TRUE(extension_allowed(5, M::kCertificate));
  EXPECT_TRUE(extension_allowed(28, M::kEncryptedExtensions));
  EXPECT_FALSE(extension_allowed(0x7777, M::kClientHello));
  EXPECT_STREQ(find_extension(16)->name, "application_layer_protocol_negotiation");
  // The table is sorted and complete (extension_index is a binary search over it).
  int last = -1;
  for (uint32_t t = 0; t <= 0xffff; t++) {
    const int i = extension_index(static_cast<uint16_t>(t));
    if (i >= 0) {
      EXPECT_EQ(i, last + 1) << t;
      last = i;
    }
  }
  EXPECT_EQ(static_cast<size_t>(last) + 1, kNumKnownExtensions);
}

TEST(ExtensionWalk, ServerMessagesRejectUnknownAndMisplaced) {
  RawExtension out[kMaxExtensions];
  size_t n = 0;
  // An unknown extension in EncryptedExtensions was not asked for.
  Bytes unknown = ext(0x7777, {});
  EXPECT_EQ(check_extension_block(unknown, ExtMessage::kEncryptedExtensions, out, &n).error(),
            Error::kUnsolicitedExtension);
  // key_share belongs in SH/HRR, not EE; pre_shared_key need not be last outside CH.
  Bytes ks = ext(51, {});
  EXPECT_EQ(check_extension_block(ks, ExtMessage::kEncryptedExtensions, out, &n).error(),
            Error::kMisplacedExtension);
  Bytes sh = cat({ext(41, u16(0)), ext(43, u16(0x0304))});
  ASSERT_TRUE(check_extension_block(sh, ExtMessage::kServerHello, out, &n));
  EXPECT_EQ(n, 2u);
  EXPECT_EQ(check_extension_block(sh, ExtMessage::kHelloRetryRequest, out, &n).error(),
            Error::kMisplacedExtension);
}

TEST(ServerHelloWrite, ReproducesRfc8448) {
  const Bytes want = hex(section("tls13/rfc8448_simple.txt", "messages")["server_hello"]);
  ServerHelloParams p;
  const Bytes random = hex("a6af06a4121860dc5e6e60249cd34c95930c8ac5cb1434dac155772ed3e26928");
  const Bytes key = hex("c9828876112095fe66762bdbf7c672e156d6cc253b833df1dd69b1b04e751f0f");
  p.random = random;
  p.cipher_suite = CipherSuite::kAes128GcmSha256;
  p.key_share_group = 0x001d;
  p.key_share = key;
  uint8_t buf[512];
  ByteWriter w(buf);
  ASSERT_TRUE(write_server_hello(w, p));
  EXPECT_EQ(to_hex(w.written()), to_hex(want));
  // Too small a buffer is an error, not a truncated message.
  ByteWriter small(std::span<uint8_t>(buf, 60));
  EXPECT_EQ(write_server_hello(small, p).error(), Error::kInternalError);
}

TEST(EncryptedExtensionsWrite, ReproducesRfc8448) {
  const Bytes want = hex(section("tls13/rfc8448_simple.txt", "messages")["encrypted_extensions"]);
  const uint16_t groups[] = {0x001d, 0x0017, 0x0018, 0x0019, 0x0100,
                             0x0101, 0x0102, 0x0103, 0x0104};
  EncryptedExtensionsParams p;
  p.supported_groups = groups;
  p.record_size_limit = 0x4001;
  p.server_name_ack = true;
  uint8_t buf[256];
  ByteWriter w(buf);
  ASSERT_TRUE(write_encrypted_extensions(w, p));
  EXPECT_EQ(to_hex(w.written()), to_hex(want));
  // With ALPN: the block parses back under the EE table.
  const std::string h2 = "h2";
  EncryptedExtensionsParams q;
  q.alpn_protocol = crypto::testing::bytes_of(h2);
  ByteWriter w2(buf);
  ASSERT_TRUE(write_encrypted_extensions(w2, q));
  EXPECT_EQ(to_hex(w2.written()), "0800000b0009001000050003026832");
}

TEST(HelloRetryRequestWrite, SpecialRandomAndExtensions) {
  const Bytes cookie = {0xc0, 0x01, 0xe5};
  const Bytes sid(32, 0x5a);
  HelloRetryRequestParams p;
  p.legacy_session_id_echo = sid;
  p.cipher_suite = CipherSuite::kAes256GcmSha384;
  p.selected_group = 0x0017;
  p.cookie = cookie;
  uint8_t buf[256];
  ByteWriter w(buf);
  ASSERT_TRUE(write_hello_retry_request(w, p));
  auto m = w.written();
  ASSERT_EQ(m[0], 2);
  // §4.1.3: SHA-256("HelloRetryRequest").
  auto h = crypto::hash(crypto::HashAlgo::kSha256, crypto::testing::bytes_of("HelloRetryRequest"));
  ASSERT_TRUE(h);
  EXPECT_EQ(to_hex(std::span<const uint8_t>(m).subspan(6, 32)), to_hex(h->view()));
  EXPECT_EQ(to_hex(std::span<const uint8_t>(kHelloRetryRequestRandom)), to_hex(h->view()));
  // After random: session id echo, suite 1302, compression 0, then the extensions, which
  // must pass the HRR column of the table.
  ByteReader r(std::span<const uint8_t>(m).subspan(4 + 2 + 32));
  ByteReader sid_r, exts;
  uint16_t suite = 0;
  uint8_t comp = 1;
  ASSERT_TRUE(r.read_u8_prefixed(&sid_r) && r.read_u16(&suite) && r.read_u8(&comp) &&
              r.read_u16_prefixed(&exts) && r.empty());
  EXPECT_EQ(sid_r.remaining(), 32u);
  EXPECT_EQ(suite, 0x1302);
  EXPECT_EQ(comp, 0);
  EXPECT_EQ(to_hex(exts.rest()), "003300020017002c00050003c001e5002b00020304");
  RawExtension out[kMaxExtensions];
  size_t n = 0;
  EXPECT_TRUE(check_extension_block(exts.rest(), ExtMessage::kHelloRetryRequest, out, &n));
  EXPECT_EQ(n, 3u);
}

}  // namespace
}  // namespace linetls::tls
