// The engine's built-in applications over TCP: echo, discard and a small HTTP responder.
//
// Each is one tcp::Handler serving every connection of its listener on one worker. Data
// stays in mbufs: echo sends back the very mbufs it received; discard frees them; http
// answers from mbufs it fills from the worker's pool. Back-pressure is end to end: an app
// releases received bytes (reopening the peer's window) only once it has handed its
// answer to TCP, and resumes in on_writable().
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "lib/base/result.h"
#include "lib/net/tcp/tcp.h"

struct rte_mempool;

namespace linetls::engine {

enum class AppKind : uint8_t { kEcho, kDiscard, kHttp };

// One --serve entry: "PORT=APP" or "PORT=tls:APP" (APP: echo | discard | http).
struct ServiceSpec {
  uint16_t port = 0;
  AppKind app = AppKind::kEcho;
  bool tls = false;  // TLS 1.2/1.3 terminated in the engine (tls_service.h), APP over plaintext
};
// Parses "PORT=APP" or "PORT=tls:APP"; a one-line reason on failure.
Result<ServiceSpec, std::string> parse_service(std::string_view spec);
std::string_view to_string(AppKind k) noexcept;
// "echo", "tls:http": the APP part of a --serve entry as given.
std::string to_string(const ServiceSpec& s);

// An application: TCP callbacks plus a per-iteration hook for work that waited on
// something other than TCP (an empty mempool).
class App : public net::tcp::Handler {
 public:
  // Called by the worker once per poll iteration; returns true if it did any work.
  virtual bool poll() noexcept { return false; }
};

// Creates the app for kind, serving connections of tcp; frames it builds come from pool.
// The app must outlive every connection it serves (the worker owns both).
std::unique_ptr<App> make_app(AppKind kind, net::tcp::Tcp& tcp, rte_mempool* pool);

// HTTP request parsing, exposed for tests. Looks at the bytes of one request head
// ("GET /path HTTP/1.1\r\n...\r\n\r\n"); returns the body size to answer with
// (/bytes/N -> N, anything else -> the default page), whether the client asked to close,
// or nullopt for a malformed request (answered 400 and closed).
struct HttpRequest {
  uint64_t body_len = 0;
  bool is_bytes = false;  // /bytes/N: a body of N pattern bytes
  bool close = false;     // "Connection: close", or HTTP/1.0 without keep-alive
  bool head = false;      // HEAD: headers only
};
std::optional<HttpRequest> parse_http_request(std::string_view head) noexcept;
inline constexpr size_t kHttpMaxHead = 8192;
inline constexpr uint64_t kHttpMaxBytes = uint64_t{1} << 40;
// The status line and headers of the 200 answer to req (its body: body_len bytes), ending
// with the empty line. Shared by the plain and the TLS responders. extra_headers (each
// "Name: value\r\n") go after the standard ones.
std::string http_response_head(const HttpRequest& req, uint64_t body_len,
                               std::string_view extra_headers = {});
inline constexpr std::string_view kHttpDefaultPage = "linetls: hello from a userspace TCP stack\n";
inline constexpr std::string_view kHttp400 =
    "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
inline constexpr std::string_view kHttp431 =
    "HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Length: 0\r\n"
    "Connection: close\r\n\r\n";
// The byte at offset i of a /bytes/N body, so clients can verify what they got.
constexpr uint8_t http_body_byte(uint64_t i) noexcept { return static_cast<uint8_t>('a' + i % 26); }

}  // namespace linetls::engine
