// The small HTTP/1.1 responder's protocol half (the http app, apps.cc): request heads in,
// response heads out. Request heads are untrusted input: bounded, strictly parsed.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace linetls::engine {

// Looks at the bytes of one request head ("GET /path HTTP/1.1\r\n...\r\n\r\n"); returns the
// body size to answer with (/bytes/N -> N, anything else -> the default page), whether the
// client asked to close, or nullopt for a malformed request (answered 400 and closed).
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
// with the empty line. extra_headers (each "Name: value\r\n") go after the standard ones.
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
