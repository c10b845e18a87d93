#include "apps/linetls/ticket_key_file.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string_view>

namespace linetls::app {
namespace {

// RFC 4648 §4 base64 value of c, or -1.
int b64_value(char c) {
  if (c >= 'A' && c <= 'Z') {
    return c - 'A';
  }
  if (c >= 'a' && c <= 'z') {
    return c - 'a' + 26;
  }
  if (c >= '0' && c <= '9') {
    return c - '0' + 52;
  }
  if (c == '+') {
    return 62;
  }
  if (c == '/') {
    return 63;
  }
  return -1;
}

// Decodes one padded base64 line (RFC 4648 §4) into out; false on anything else.
bool b64_decode(std::string_view s, Secret<80>* out) {
  if (s.empty() || s.size() % 4 != 0) {
    return false;
  }
  size_t pad = 0;
  while (pad < 2 && pad < s.size() && s[s.size() - 1 - pad] == '=') {
    pad++;
  }
  const size_t n = s.size() / 4 * 3 - pad;
  if (n > 80) {
    return false;
  }
  uint8_t buf[81] = {};
  size_t o = 0;
  for (size_t i = 0; i < s.size(); i += 4) {
    uint32_t v = 0;
    for (size_t j = 0; j < 4; j++) {
      const char c = s[i + j];
      const bool padding = i + j >= s.size() - pad;
      const int d = padding ? 0 : b64_value(c);
      if (d < 0 || (padding && c != '=')) {
        secure_wipe(buf);
        return false;
      }
      v = v << 6 | static_cast<uint32_t>(d);
    }
    const uint8_t bytes[3] = {static_cast<uint8_t>(v >> 16), static_cast<uint8_t>(v >> 8),
                              static_cast<uint8_t>(v)};
    for (size_t j = 0; j < 3 && o < n; j++) {
      buf[o++] = bytes[j];
    }
    // Non-canonical encodings (bits set under the padding) are refused.
    if (i + 4 == s.size() && ((pad == 1 && (v & 0xff) != 0) || (pad == 2 && (v & 0xffff) != 0))) {
      secure_wipe(buf);
      return false;
    }
  }
  out->assign(std::span<const uint8_t>(buf, n));
  secure_wipe(buf);
  return true;
}

}  // namespace

Result<TicketKeyFile, std::string> parse_ticket_key_file(std::span<const uint8_t> bytes) {
  TicketKeyFile f;
  if (bytes.empty()) {
    return fail(
        std::string("empty file (expected nginx's 48 or 80 bytes, or HAProxy's "
                    "base64 keys, one per line)"));
  }
  if (bytes.size() == 48 || bytes.size() == 80) {
    f.format = TicketKeyFile::Format::kNginx;
    f.keys.emplace_back(bytes);
    return f;
  }
  f.format = TicketKeyFile::Format::kHaproxy;
  const std::string_view text(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  size_t line_no = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) {
      end = text.size();
    }
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    line_no++;
    if (!line.empty() && line.back() == '\r') {
      line.remove_suffix(1);
    }
    if (line.empty()) {
      continue;
    }
    Secret<80> key;
    if (!b64_decode(line, &key)) {
      return fail("line " + std::to_string(line_no) +
                  ": not base64 of 48 or 80 bytes (HAProxy's format: one base64 key per "
                  "line; nginx's: a file of exactly 48 or 80 bytes)");
    }
    if (key.size() != 48 && key.size() != 80) {
      return fail("line " + std::to_string(line_no) + ": a key of " + std::to_string(key.size()) +
                  " bytes (expected 48 or 80)");
    }
    if (!f.keys.empty() && key.size() != f.keys.front().size()) {
      return fail("line " + std::to_string(line_no) + ": a " + std::to_string(key.size()) +
                  "-byte key after " + std::to_string(f.keys.front().size()) +
                  "-byte ones (HAProxy does not mix AES-128 and AES-256 keys)");
    }
    f.keys.push_back(std::move(key));
  }
  if (f.keys.empty()) {
    return fail(
        std::string("no key (expected nginx's 48 or 80 bytes, or HAProxy's base64 "
                    "keys, one per line)"));
  }
  // HAProxy: "the penultimate one for encryption".
  f.seal_index = f.keys.size() >= 2 ? f.keys.size() - 2 : 0;
  return f;
}

Result<engine::TicketKeySet, std::string> load_ticket_keys(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return fail(path + ": cannot open: " + std::strerror(errno));
  }
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)),
                             std::istreambuf_iterator<char>());
  if (in.bad() || bytes.size() > 1 << 20) {
    secure_wipe(bytes);
    return fail(path + ": cannot read (or larger than 1 MiB)");
  }
  auto parsed = parse_ticket_key_file(bytes);
  secure_wipe(bytes);
  if (!parsed) {
    return fail(path + ": " + parsed.error());
  }
  engine::TicketKeySet set;
  for (size_t i = 0; i < parsed->keys.size(); i++) {
    auto k = tls::derive_explicit_ticket_key(parsed->keys[i].view());
    if (!k) {
      return fail(path + ": cannot derive a ticket key");
    }
    size_t at = set.keys.size();
    for (size_t j = 0; j < set.keys.size(); j++) {
      if (set.keys[j].id == k->id) {
        if (!(set.keys[j].key == k->key)) {
          return fail(path + ": keys " + std::to_string(j + 1) + " and " + std::to_string(i + 1) +
                      " map to one key id; replace one of them");
        }
        at = j;  // the same key twice: one entry
      }
    }
    if (at == set.keys.size()) {
      set.keys.push_back(std::move(k).value());
    }
    if (i == parsed->seal_index) {
      set.seal_index = at;
    }
  }
  return set;
}

}  // namespace linetls::app
