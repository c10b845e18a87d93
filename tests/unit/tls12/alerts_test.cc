// Exact alerts: one valid TLS 1.3 and one valid TLS 1.2 ClientHello, each mutation of them
// (and of a TLS 1.2 ClientKeyExchange) fed to the version-dispatching tls::ServerSession, and
// the one fatal alert the server sends, pinned per RFC section. RFC 8446 §6.2 draws the line
// this table follows: "decode_error: A message could not be decoded because some field was
// out of the specified range or the length of the message was incorrect"; "illegal_parameter:
// A field in the handshake was incorrect or inconsistent with other fields". Mutations marked
// for both versions run against both hellos.
#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "lib/crypto/kx.h"
#include "lib/crypto/rng.h"
#include "lib/tls/v12/cipher_suite12.h"
#include "lib/tls/v12/server_session.h"
#include "tests/unit/tls12/facade_driver.h"

namespace linetls::tls {
namespace {

using namespace facade_testing;  // NOLINT(google-build-using-namespace)
using A = AlertDescription;
using crypto::NamedGroup;

Bytes u16(uint16_t v) { return {static_cast<uint8_t>(v >> 8), static_cast<uint8_t>(v)}; }
Bytes cat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const Bytes& p : parts) {
    out.insert(out.end(), p.begin(), p.end());
  }
  return out;
}
Bytes p8(const Bytes& b) { return cat({{static_cast<uint8_t>(b.size())}, b}); }
Bytes p16(const Bytes& b) { return cat({u16(static_cast<uint16_t>(b.size())), b}); }
Bytes u16s(std::initializer_list<uint16_t> vs) {
  Bytes out;
  for (uint16_t v : vs) {
    out = cat({out, u16(v)});
  }
  return out;
}

// A public key of group, fresh for each call.
Bytes public_key(NamedGroup g) {
  auto ks = crypto::KeyShare::generate(g, crypto::os_rng());
  EXPECT_TRUE(ks);
  return Bytes(ks->public_key().begin(), ks->public_key().end());
}

// A ClientHello as fields and an ordered extension list, so a mutation is one edit.
struct Hello {
  uint16_t legacy_version = 0x0303;
  Bytes session_id = Bytes(32, 0x11);
  Bytes suites;
  Bytes compression = {0};
  std::vector<std::pair<uint16_t, Bytes>> exts;
  Bytes trailing;  // after the extensions block

  // Replaces the body of extension type (appends it, before pre_shared_key, if absent).
  Hello& set(uint16_t type, Bytes body) {
    for (auto& e : exts) {
      if (e.first == type) {
        e.second = std::move(body);
        return *this;
      }
    }
    auto at = exts.end();
    if (!exts.empty() && exts.back().first == 41) {
      at--;
    }
    exts.insert(at, {type, std::move(body)});
    return *this;
  }
  Hello& drop(uint16_t type) {
    std::erase_if(exts, [&](const auto& e) { return e.first == type; });
    return *this;
  }
  Hello& append(uint16_t type, Bytes body) {
    exts.emplace_back(type, std::move(body));
    return *this;
  }

  Bytes body() const {
    Bytes block;
    for (const auto& [type, data] : exts) {
      block = cat({block, u16(type), p16(data)});
    }
    return cat({u16(legacy_version), Bytes(32, 0xaa), p8(session_id), p16(suites), p8(compression),
                p16(block), trailing});
  }
  // The whole handshake message in one record.
  Bytes record() const {
    const Bytes b = body();
    const Bytes msg = cat({{1, static_cast<uint8_t>(b.size() >> 16),
                            static_cast<uint8_t>(b.size() >> 8), static_cast<uint8_t>(b.size())},
                           b});
    return cat({{22, 3, 1}, u16(static_cast<uint16_t>(msg.size())), msg});
  }
};

Bytes key_shares(std::initializer_list<std::pair<uint16_t, Bytes>> shares) {
  Bytes list;
  for (const auto& [g, k] : shares) {
    list = cat({list, u16(g), p16(k)});
  }
  return p16(list);
}

Bytes server_name(const Bytes& name) { return p16(cat({{0}, p16(name)})); }

constexpr uint16_t kX25519 = 0x001d, kP256 = 0x0017, kP384 = 0x0018;

Hello hello13() {
  Hello h;
  h.suites = u16s({0x1301, 0x1302, 0x1303});
  h.set(0, server_name({'e', 'x', 'a', 'm', 'p', 'l', 'e', '.', 'c', 'o', 'm'}));
  h.set(10, p16(u16s({kX25519, kP256})));
  h.set(13, p16(u16s({0x0403, 0x0804, 0x0807})));
  h.set(43, p8(u16s({0x0304, 0x0303})));
  h.set(45, p8({1}));
  h.set(51, key_shares({{kX25519, public_key(NamedGroup::kX25519)}}));
  return h;
}

Hello hello12() {
  Hello h;
  h.suites = u16s({0xC02B, 0xC02F});
  h.set(0, server_name({'e', 'x', 'a', 'm', 'p', 'l', 'e', '.', 'c', 'o', 'm'}));
  h.set(10, p16(u16s({kX25519, kP256})));
  h.set(11, p8({0}));
  h.set(13, p16(u16s({0x0403, 0x0804})));
  h.set(23, {});
  h.set(0xff01, p8({}));
  return h;
}

// A TLS 1.2 ClientKeyExchange record carrying point (RFC 8422 §5.7 ECPoint<1..2^8-1>).
Bytes client_key_exchange(const Bytes& body) {
  const Bytes msg = cat(
      {{16, 0, static_cast<uint8_t>(body.size() >> 8), static_cast<uint8_t>(body.size())}, body});
  return cat({{22, 3, 3}, u16(static_cast<uint16_t>(msg.size())), msg});
}

enum Versions { k13 = 1, k12 = 2, kBoth = 3 };

struct Case {
  const char* section;
  const char* name;
  Versions versions;
  std::function<void(Hello&)> mutate;
  A alert;
};

// A 1-byte ProtocolNameList entry list.
Bytes alpn(std::initializer_list<Bytes> names) {
  Bytes list;
  for (const Bytes& n : names) {
    list = cat({list, p8(n)});
  }
  return p16(list);
}

std::vector<Case> hello_cases() {
  const Bytes p256 = public_key(NamedGroup::kSecp256r1);
  Bytes off_curve = p256;
  off_curve.back() ^= 1;
  Bytes compressed = cat({{2}, Bytes(p256.begin() + 1, p256.begin() + 33)});
  const Bytes p256_x_is_p = cat({{4},
                                 {0xff, 0xff, 0xff, 0xff, 0,    0,    0,    1,    0,    0,    0,
                                  0,    0,    0,    0,    0,    0,    0,    0,    0,    0xff, 0xff,
                                  0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
                                 Bytes(p256.begin() + 33, p256.end())});
  // A point of order 8 on Curve25519 (RFC 7748 §6.1's check catches it: all-zero result).
  const Bytes x25519_low_order = {0xe0, 0xeb, 0x7a, 0x7c, 0x3b, 0x41, 0xb8, 0xae, 0x16, 0x56, 0xe3,
                                  0xfa, 0xf1, 0x9f, 0xc4, 0x6a, 0xda, 0x09, 0x8d, 0xeb, 0x9c, 0x32,
                                  0xb1, 0xfd, 0x86, 0x62, 0x05, 0x16, 0x5f, 0x49, 0xb8, 0x00};
  const Bytes x25519 = public_key(NamedGroup::kX25519);
  const auto share = [](uint16_t g, Bytes k) {
    return [g, k](Hello& h) {
      h.set(10, p16(u16s({kX25519, kP256})));
      h.set(51, key_shares({{g, k}}));
    };
  };
  std::vector<Case> v = {
      // RFC 8446 §4.1.2 (RFC 5246 §7.4.1.2): the fixed fields.
      {"4.1.2", "session id of 33 bytes", kBoth, [](Hello& h) { h.session_id = Bytes(33, 1); },
       A::kDecodeError},
      {"4.1.2", "no cipher suites", kBoth, [](Hello& h) { h.suites = {}; }, A::kDecodeError},
      {"4.1.2", "odd cipher suites", kBoth, [](Hello& h) { h.suites.push_back(0x13); },
       A::kDecodeError},
      {"4.1.2", "no compression methods", kBoth, [](Hello& h) { h.compression = {}; },
       A::kDecodeError},
      {"4.1.2", "TLS 1.3 with deflate", k13,
       [](Hello& h) {
         h.compression = {1, 0};
       },
       A::kIllegalParameter},
      {"4.1.2", "TLS 1.2 without null compression", k12, [](Hello& h) { h.compression = {1}; },
       A::kIllegalParameter},
      {"4.1.2", "a byte after the extensions", kBoth, [](Hello& h) { h.trailing = {0}; },
       A::kDecodeError},
      // §4.2: the extension block.
      {"4.2", "an extension twice", kBoth, [](Hello& h) { h.append(13, p16(u16s({0x0403}))); },
       A::kIllegalParameter},
      {"4.2", "oid_filters in a ClientHello", kBoth, [](Hello& h) { h.set(48, p16({})); },
       A::kIllegalParameter},
      {"4.2.11", "pre_shared_key not last", k13,
       [](Hello& h) {
         h.append(41, cat({p16(cat({p16({1, 2, 3}), {0, 0, 0, 1}})), p16(p8(Bytes(32, 7)))}));
         h.append(0x7777, {});
       },
       A::kIllegalParameter},
      // §4.2.1 supported_versions.
      {"4.2.1", "supported_versions empty", kBoth, [](Hello& h) { h.set(43, p8({})); },
       A::kDecodeError},
      {"4.2.1", "supported_versions odd", kBoth,
       [](Hello& h) {
         h.set(43, p8({3, 4, 3}));
       },
       A::kDecodeError},
      {"4.2.1", "only TLS 1.1 listed", kBoth, [](Hello& h) { h.set(43, p8(u16s({0x0302}))); },
       A::kProtocolVersion},
      // §4.2.3 signature_algorithms.
      {"4.2.3", "signature_algorithms empty", kBoth, [](Hello& h) { h.set(13, p16({})); },
       A::kDecodeError},
      {"9.2", "no signature_algorithms and no PSK", k13, [](Hello& h) { h.drop(13); },
       A::kMissingExtension},
      {"4.2.3", "no scheme our certificates can sign", kBoth,
       [](Hello& h) { h.set(13, p16(u16s({0x0201}))); }, A::kHandshakeFailure},
      // §4.2.7 supported_groups.
      {"4.2.7", "supported_groups empty", kBoth, [](Hello& h) { h.set(10, p16({})); },
       A::kDecodeError},
      {"4.2.7", "no group in common", kBoth,
       [](Hello& h) {
         h.set(10, p16(u16s({0x0019})));
         h.drop(51);
         h.set(51, key_shares({{0x0019, Bytes(133, 4)}}));
       },
       A::kHandshakeFailure},
      // §4.2.8 key_share, RFC 8422 §5.11 / RFC 7748 §6.1 for the points themselves.
      {"4.2.8", "key_exchange empty", k13,
       [](Hello& h) {
         h.set(51, key_shares({{kX25519, {}}}));
       },
       A::kDecodeError},
      {"4.2.8", "two shares for one group", k13,
       [x25519](Hello& h) {
         h.set(51, key_shares({{kX25519, x25519}, {kX25519, x25519}}));
       },
       A::kIllegalParameter},
      {"4.2.8", "a share for a group not in supported_groups", k13,
       [](Hello& h) {
         h.set(51, key_shares({{kP384, public_key(NamedGroup::kSecp384r1)}}));
       },
       A::kIllegalParameter},
      {"9.2", "key_share without supported_groups", k13, [](Hello& h) { h.drop(10); },
       A::kMissingExtension},
      {"4.2.8.2", "X25519 share of 31 bytes", k13,
       share(kX25519, Bytes(x25519.begin(), x25519.end() - 1)), A::kIllegalParameter},
      {"4.2.8.2", "X25519 share zero-padded to 33 bytes", k13, share(kX25519, cat({x25519, {0}})),
       A::kIllegalParameter},
      {"7.4.2", "X25519 share of zeros (all-zero result)", k13, share(kX25519, Bytes(32, 0)),
       A::kIllegalParameter},
      {"7.4.2", "X25519 share of order 8", k13, share(kX25519, x25519_low_order),
       A::kIllegalParameter},
      {"4.2.8.2", "P-256 point off the curve", k13, share(kP256, off_curve), A::kIllegalParameter},
      {"4.2.8.2", "P-256 point at infinity", k13, share(kP256, {0}), A::kIllegalParameter},
      {"4.2.8.2", "P-256 point x=0 y=0", k13, share(kP256, cat({{4}, Bytes(64, 0)})),
       A::kIllegalParameter},
      {"4.2.8.2", "P-256 x coordinate = p", k13, share(kP256, p256_x_is_p), A::kIllegalParameter},
      {"4.2.8.2", "P-256 point compressed", k13, share(kP256, compressed), A::kIllegalParameter},
      {"4.2.8.2", "P-256 point truncated", k13, share(kP256, Bytes(p256.begin(), p256.end() - 1)),
       A::kIllegalParameter},
      {"4.2.8.2", "P-256 point zero-padded", k13, share(kP256, cat({p256, {0}})),
       A::kIllegalParameter},
      // §4.2.9 psk_key_exchange_modes, §4.2.11 pre_shared_key, §4.2.2 cookie.
      {"4.2.9", "psk_key_exchange_modes empty", k13, [](Hello& h) { h.set(45, p8({})); },
       A::kDecodeError},
      {"4.2.9", "pre_shared_key without psk_key_exchange_modes", k13,
       [](Hello& h) {
         h.drop(45);
         h.append(41, cat({p16(cat({p16({1, 2, 3}), {0, 0, 0, 1}})), p16(p8(Bytes(32, 7)))}));
       },
       A::kMissingExtension},
      {"4.2.11", "two identities, one binder", k13,
       [](Hello& h) {
         const Bytes id = cat({p16({1, 2, 3}), {0, 0, 0, 1}});
         h.append(41, cat({p16(cat({id, id})), p16(p8(Bytes(32, 7)))}));
       },
       A::kIllegalParameter},
      {"4.2.11", "a binder of 31 bytes", k13,
       [](Hello& h) {
         h.append(41, cat({p16(cat({p16({1, 2, 3}), {0, 0, 0, 1}})), p16(p8(Bytes(31, 7)))}));
       },
       A::kDecodeError},
      {"4.2.11", "no identities", k13,
       [](Hello& h) {
         h.append(41, cat({p16({}), p16(p8(Bytes(32, 7)))}));
       },
       A::kDecodeError},
      {"4.2.2", "cookie empty", k13, [](Hello& h) { h.set(44, p16({})); }, A::kDecodeError},
      // RFC 8449 §4 record_size_limit.
      {"RFC 8449 4", "record_size_limit 63", kBoth, [](Hello& h) { h.set(28, u16(63)); },
       A::kIllegalParameter},
      {"RFC 8449 4", "record_size_limit of 3 bytes", kBoth,
       [](Hello& h) {
         h.set(28, {0x40, 0, 0});
       },
       A::kDecodeError},
      // RFC 6066 §3 server_name.
      {"RFC 6066 3", "server_name list empty", kBoth, [](Hello& h) { h.set(0, p16({})); },
       A::kDecodeError},
      {"RFC 6066 3", "server_name entry truncated", kBoth,
       [](Hello& h) {
         h.set(0, p16({0, 0, 5, 'a'}));
       },
       A::kDecodeError},
      {"RFC 6066 3", "empty host_name", kBoth, [](Hello& h) { h.set(0, server_name({})); },
       A::kDecodeError},
      {"RFC 6066 3", "two host_names", kBoth,
       [](Hello& h) {
         h.set(0, p16(cat({{0}, p16({'a'}), {0}, p16({'b'})})));
       },
       A::kIllegalParameter},
      {"RFC 6066 3", "host_name with a trailing dot", kBoth,
       [](Hello& h) {
         h.set(0, server_name({'a', '.', 'b', '.'}));
       },
       A::kIllegalParameter},
      {"RFC 6066 3", "host_name with NUL", kBoth,
       [](Hello& h) {
         h.set(0, server_name({'a', 0, 'b'}));
       },
       A::kIllegalParameter},
      // RFC 7301 §3.1, §3.2 ALPN (the server offers h2).
      {"RFC 7301 3.1", "ALPN list empty", kBoth, [](Hello& h) { h.set(16, p16({})); },
       A::kDecodeError},
      {"RFC 7301 3.1", "ALPN empty protocol name", kBoth,
       [](Hello& h) {
         h.set(16, alpn({{'h', '2'}, {}}));
       },
       A::kDecodeError},
      {"RFC 7301 3.2", "no protocol in common", kBoth,
       [](Hello& h) {
         h.set(16, alpn({{'h', 't', 't', 'p', '/', '1', '.', '1'}}));
       },
       A::kNoApplicationProtocol},
      // RFC 7507 §3 TLS_FALLBACK_SCSV (this server speaks TLS 1.3).
      {"RFC 7507 3", "TLS 1.2 with fallback SCSV", k12,
       [](Hello& h) {
         h.suites = cat({h.suites, u16(v12::kFallbackScsv)});
       },
       A::kInappropriateFallback},
      {"RFC 7507 3", "TLS 1.1 with fallback SCSV", k12,
       [](Hello& h) {
         h.legacy_version = 0x0302;
         h.suites = cat({h.suites, u16(v12::kFallbackScsv)});
       },
       A::kInappropriateFallback},
      {"RFC 5246 E.1", "TLS 1.1 without fallback SCSV", k12,
       [](Hello& h) { h.legacy_version = 0x0302; }, A::kProtocolVersion},
      // TLS 1.2 extensions: RFC 8422 §5.1.2, RFC 5746 §3.6, RFC 7627 §5.1.
      {"RFC 8422 5.1.2", "ec_point_formats without uncompressed", k12,
       [](Hello& h) {
         h.set(11, p8({1, 2}));
       },
       A::kIllegalParameter},
      {"RFC 8422 5.1.2", "ec_point_formats empty", k12, [](Hello& h) { h.set(11, p8({})); },
       A::kDecodeError},
      {"RFC 5746 3.6", "renegotiation_info not empty", k12,
       [](Hello& h) { h.set(0xff01, p8({1})); }, A::kHandshakeFailure},
      {"RFC 7627 5.1", "extended_master_secret not empty", k12, [](Hello& h) { h.set(23, {0}); },
       A::kDecodeError},
  };
  return v;
}

Configs alpn_configs() {
  Configs cf;
  cf.c13.alpn = {"h2"};
  cf.c12.alpn = {"h2"};
  return cf;
}

// Feeds in; returns the single alert description the server sent (0xff if it sent anything
// else).
uint8_t only_alert(const Bytes& in, std::optional<Error>* out_error) {
  Configs cf = alpn_configs();
  Driver d(cf.sc);
  const Bytes out = feed(d, in);
  *out_error = d.s.error();
  if (out.size() != 7 || out[0] != 21 || out[5] != 2 || d.alerts != 1 || !d.s.closed()) {
    return 0xff;
  }
  return out[6];
}

TEST(Alerts, BaseHellosAreAccepted) {
  for (Versions v : {k13, k12}) {
    Configs cf = alpn_configs();
    Driver d(cf.sc);
    const Bytes out = feed(d, (v == k13 ? hello13() : hello12()).record());
    EXPECT_FALSE(d.s.error()) << to_string(*d.s.error());
    EXPECT_EQ(d.s.version(), v == k13 ? kTls13 : kTls12);
    EXPECT_GT(out.size(), 100u);  // the server's flight
    EXPECT_EQ(d.alerts, 0);
  }
}

TEST(Alerts, ClientHelloMutations) {
  for (const Case& c : hello_cases()) {
    for (Versions v : {k13, k12}) {
      if ((c.versions & v) == 0) {
        continue;
      }
      Hello h = v == k13 ? hello13() : hello12();
      c.mutate(h);
      std::optional<Error> error;
      const uint8_t got = only_alert(h.record(), &error);
      EXPECT_EQ(got, static_cast<uint8_t>(c.alert))
          << "§" << c.section << " " << c.name << " (TLS 1." << (v == k13 ? 3 : 2) << "): got "
          << alert_name(got) << " (" << (error ? to_string(*error) : "no error") << "), want "
          << alert_name(c.alert);
    }
  }
}

// RFC 8422 §5.11 (and §5.10's check of the peer's point): a ClientKeyExchange point that is
// not on the negotiated curve, or not a point at all, is illegal_parameter; an ECPoint vector
// that does not decode is decode_error.
TEST(Alerts, Tls12ClientKeyExchangePoints) {
  const Bytes p256 = public_key(NamedGroup::kSecp256r1);
  Bytes off_curve = p256;
  off_curve.back() ^= 1;
  const Bytes x25519 = public_key(NamedGroup::kX25519);
  const struct {
    const char* name;
    uint16_t group;
    Bytes body;  // the ClientKeyExchange body
    A alert;
  } cases[] = {
      {"valid X25519 (control: no alert)", kX25519, p8(x25519), A::kCloseNotify},
      {"X25519 of zeros", kX25519, p8(Bytes(32, 0)), A::kIllegalParameter},
      {"X25519 of 31 bytes", kX25519, p8(Bytes(x25519.begin(), x25519.end() - 1)),
       A::kIllegalParameter},
      {"X25519 zero-padded", kX25519, p8(cat({x25519, {0}})), A::kIllegalParameter},
      {"P-256 off the curve", kP256, p8(off_curve), A::kIllegalParameter},
      {"P-256 at infinity", kP256, p8({0}), A::kIllegalParameter},
      {"P-256 x=0 y=0", kP256, p8(cat({{4}, Bytes(64, 0)})), A::kIllegalParameter},
      {"P-256 compressed", kP256, p8(cat({{3}, Bytes(p256.begin() + 1, p256.begin() + 33)})),
       A::kIllegalParameter},
      {"P-256 truncated", kP256, p8(Bytes(p256.begin(), p256.end() - 1)), A::kIllegalParameter},
      {"empty ECPoint", kX25519, p8({}), A::kDecodeError},
      {"a byte after the ECPoint", kX25519, cat({p8(x25519), {0}}), A::kDecodeError},
  };
  for (const auto& c : cases) {
    Hello h = hello12();
    h.set(10, p16(u16s({c.group})));
    const Bytes in = cat({h.record(), client_key_exchange(c.body)});
    Configs cf = alpn_configs();
    Driver d(cf.sc);
    const Bytes out = feed(d, in);
    if (c.alert == A::kCloseNotify) {
      EXPECT_FALSE(d.s.error()) << c.name;
      continue;
    }
    ASSERT_GE(out.size(), 7u) << c.name;
    EXPECT_EQ(out.size(), 7u) << c.name << ": the server flight is dropped, the alert alone goes";
    EXPECT_EQ(out[out.size() - 1], static_cast<uint8_t>(c.alert))
        << c.name << ": got " << alert_name(out.back()) << " ("
        << (d.s.error() ? to_string(*d.s.error()) : "no error") << ")";
  }
}

}  // namespace
}  // namespace linetls::tls
