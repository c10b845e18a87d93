#include "lib/engine/http.h"

#include <algorithm>
#include <charconv>

namespace linetls::engine {

namespace {

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return (x | 0x20) == (y | 0x20);
         });
}

}  // namespace

std::string http_response_head(const HttpRequest& req, uint64_t body_len,
                               std::string_view extra_headers) {
  std::string head = "HTTP/1.1 200 OK\r\nServer: linetls\r\nContent-Type: ";
  head += req.is_bytes ? "application/octet-stream" : "text/plain";
  head += "\r\nContent-Length: " + std::to_string(body_len) + "\r\n";
  if (req.close) {
    head += "Connection: close\r\n";
  }
  head += extra_headers;
  head += "\r\n";
  return head;
}

std::optional<HttpRequest> parse_http_request(std::string_view head) noexcept {
  // Request-line: method SP request-target SP HTTP-version CRLF (RFC 9112 §3).
  const size_t eol = head.find("\r\n");
  if (eol == std::string_view::npos || head.size() > kHttpMaxHead) {
    return std::nullopt;
  }
  const std::string_view line = head.substr(0, eol);
  const size_t sp1 = line.find(' ');
  const size_t sp2 = line.rfind(' ');
  if (sp1 == std::string_view::npos || sp2 == sp1) {
    return std::nullopt;
  }
  const std::string_view method = line.substr(0, sp1);
  const std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  const std::string_view version = line.substr(sp2 + 1);
  HttpRequest r;
  if (method == "HEAD") {
    r.head = true;
  } else if (method != "GET" && method != "POST") {
    return std::nullopt;
  }
  if (target.empty() || target[0] != '/' || target.find(' ') != std::string_view::npos) {
    return std::nullopt;
  }
  if (version == "HTTP/1.0") {
    r.close = true;
  } else if (version != "HTTP/1.1") {
    return std::nullopt;
  }
  constexpr std::string_view kBytes = "/bytes/";
  if (target.starts_with(kBytes)) {
    std::string_view n = target.substr(kBytes.size());
    n = n.substr(0, n.find('?'));
    uint64_t v = 0;
    auto [end, ec] = std::from_chars(n.data(), n.data() + n.size(), v);
    if (n.empty() || ec != std::errc() || end != n.data() + n.size() || v > kHttpMaxBytes) {
      return std::nullopt;
    }
    r.is_bytes = true;
    r.body_len = v;
  }
  // Header fields: only Connection matters here.
  size_t pos = eol + 2;
  while (pos < head.size()) {
    const size_t e = head.find("\r\n", pos);
    if (e == std::string_view::npos) {
      return std::nullopt;
    }
    const std::string_view field = head.substr(pos, e - pos);
    pos = e + 2;
    if (field.empty()) {
      break;
    }
    const size_t colon = field.find(':');
    if (colon == std::string_view::npos || colon == 0) {
      return std::nullopt;
    }
    std::string_view value = field.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) {
      value.remove_prefix(1);
    }
    while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) {
      value.remove_suffix(1);
    }
    if (iequals(field.substr(0, colon), "connection")) {
      if (iequals(value, "close")) {
        r.close = true;
      } else if (iequals(value, "keep-alive")) {
        r.close = false;
      }
    }
  }
  return r;
}

}  // namespace linetls::engine
