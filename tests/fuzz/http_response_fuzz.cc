// libFuzzer target: arbitrary bytes as an HTTP response head for linetls-perf's parser (the
// server under test writes them). Traps when a head is accepted whose facts are out of
// range, or when a head that ends in CRLFCRLF is accepted with a different result after a
// harmless change (case of the header name).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "apps/linetls-perf/http_response.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  const auto r = linetls::perf::parse_response_head(in);
  if (!r) {
    return 0;
  }
  if (r->status < 100 || r->status > 999 || r->content_length > linetls::perf::kMaxContentLength ||
      in.size() < 4 || in.substr(in.size() - 4) != "\r\n\r\n") {
    __builtin_trap();
  }
  // Header names are case-insensitive: upper-casing the letters of every header name (not
  // values, not the status line) must not change the verdict.
  std::string upper(in);
  size_t line = upper.find("\r\n");
  while (line != std::string::npos && line + 2 < upper.size()) {
    size_t at = line + 2;
    for (; at < upper.size() && upper[at] != ':' && upper[at] != '\r'; at++) {
      if (upper[at] >= 'a' && upper[at] <= 'z') {
        upper[at] = static_cast<char>(upper[at] - 'a' + 'A');
      }
    }
    line = upper.find("\r\n", at);
  }
  const auto u = linetls::perf::parse_response_head(upper);
  if (!u || u->status != r->status || u->content_length != r->content_length) {
    __builtin_trap();
  }
  return 0;
}
