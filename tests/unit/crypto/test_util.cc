#include "tests/unit/crypto/test_util.h"

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace linetls::crypto::testing {
namespace {

[[noreturn]] void die(const std::string& why) {
  std::fprintf(stderr, "test setup error: %s\n", why.c_str());
  std::abort();
}

int nibble(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  if (c >= 'A' && c <= 'F') {
    return c - 'A' + 10;
  }
  return -1;
}

std::string trim(const std::string& s) {
  const size_t b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) {
    return {};
  }
  const size_t e = s.find_last_not_of(" \t\r");
  return s.substr(b, e - b + 1);
}

}  // namespace

std::vector<uint8_t> hex(std::string_view text) {
  std::vector<uint8_t> out;
  int hi = -1;
  for (char c : text) {
    if (c == ' ' || c == '\n' || c == '\t') {
      continue;
    }
    const int v = nibble(c);
    if (v < 0) {
      die("bad hex digit in " + std::string(text));
    }
    if (hi < 0) {
      hi = v;
    } else {
      out.push_back(static_cast<uint8_t>(hi << 4 | v));
      hi = -1;
    }
  }
  if (hi >= 0) {
    die("odd-length hex " + std::string(text));
  }
  return out;
}

std::string to_hex(std::span<const uint8_t> bytes) {
  static const char kDigits[] = "0123456789abcdef";
  std::string s;
  for (uint8_t b : bytes) {
    s.push_back(kDigits[b >> 4]);
    s.push_back(kDigits[b & 15]);
  }
  return s;
}

std::span<const uint8_t> bytes_of(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

std::string vector_path(std::string_view rel) {
  const char* root = std::getenv("LT_VECTORS");
  if (root == nullptr) {
    die("LT_VECTORS is not set (run through meson test)");
  }
  return std::string(root) + "/" + std::string(rel);
}

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    die("cannot read " + path);
  }
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<Record> read_records(std::string_view rel) {
  std::istringstream in(read_text(vector_path(rel)));
  std::vector<Record> records;
  Record current;
  std::string line;
  while (std::getline(in, line)) {
    line = trim(line);
    if (line.empty()) {
      if (!current.empty()) {
        records.push_back(std::move(current));
        current.clear();
      }
      continue;
    }
    if (line[0] == '#') {
      continue;
    }
    const size_t eq = line.find('=');
    if (eq == std::string::npos) {
      die("no '=' in vector line: " + line);
    }
    current[trim(line.substr(0, eq))] = trim(line.substr(eq + 1));
  }
  if (!current.empty()) {
    records.push_back(std::move(current));
  }
  return records;
}

}  // namespace linetls::crypto::testing
