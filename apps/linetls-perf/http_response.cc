#include "apps/linetls-perf/http_response.h"

namespace linetls::perf {

namespace {

char lower(char c) noexcept { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) {
    return false;
  }
  for (size_t i = 0; i < a.size(); i++) {
    if (lower(a[i]) != lower(b[i])) {
      return false;
    }
  }
  return true;
}

std::string_view trim(std::string_view s) noexcept {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
    s.remove_suffix(1);
  }
  return s;
}

}  // namespace

std::optional<ResponseHead> parse_response_head(std::string_view head) noexcept {
  if (head.size() < 4 || head.substr(head.size() - 4) != "\r\n\r\n") {
    return std::nullopt;
  }
  // Status line: HTTP/1.x SP 3DIGIT [SP reason]
  size_t eol = head.find("\r\n");
  std::string_view line = head.substr(0, eol);
  if (line.size() < 12 || (line.substr(0, 9) != "HTTP/1.1 " && line.substr(0, 9) != "HTTP/1.0 ")) {
    return std::nullopt;
  }
  ResponseHead r;
  for (size_t i = 9; i < 12; i++) {
    if (line[i] < '0' || line[i] > '9') {
      return std::nullopt;
    }
    r.status = r.status * 10 + static_cast<unsigned>(line[i] - '0');
  }
  if (r.status < 100 || (line.size() > 12 && line[12] != ' ')) {
    return std::nullopt;
  }
  r.close = line[7] == '0';  // HTTP/1.0 closes unless it says keep-alive (not asked for)
  bool have_length = false;
  size_t at = eol + 2;
  while (at < head.size() - 2) {
    eol = head.find("\r\n", at);
    if (eol == std::string_view::npos) {
      return std::nullopt;
    }
    line = head.substr(at, eol - at);
    at = eol + 2;
    if (line.empty()) {
      break;  // the empty line (only the final one can be)
    }
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) {
      return std::nullopt;
    }
    const std::string_view name = line.substr(0, colon);
    const std::string_view value = trim(line.substr(colon + 1));
    if (iequals(name, "content-length")) {
      if (have_length || value.empty() || value.size() > 16) {
        return std::nullopt;
      }
      uint64_t v = 0;
      for (char c : value) {
        if (c < '0' || c > '9') {
          return std::nullopt;
        }
        v = v * 10 + static_cast<uint64_t>(c - '0');
      }
      if (v > kMaxContentLength) {
        return std::nullopt;
      }
      r.content_length = v;
      have_length = true;
    } else if (iequals(name, "connection")) {
      r.close = iequals(value, "close");
    }
  }
  if (!have_length) {
    return std::nullopt;
  }
  return r;
}

}  // namespace linetls::perf
