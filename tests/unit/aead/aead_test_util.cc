#include "tests/unit/aead/aead_test_util.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "drivers/ipsecmb/ipsecmb_aead.h"
#include "drivers/ossl/ossl_aead.h"

namespace linetls::aead_test {

const char* backend_name(Backend b) { return b == Backend::kIpsecMb ? "ipsecmb" : "openssl"; }

std::unique_ptr<crypto::AeadBatch> make_batch(Backend b, uint32_t capacity) {
  if (b == Backend::kIpsecMb) {
    auto r = ipsecmb::IpsecMbAeadBatch::create(capacity);
    if (!r.ok()) {
      ADD_FAILURE() << "ipsec-mb batch: " << crypto::aead_error_name(r.error());
      return nullptr;
    }
    return std::move(r).value();
  }
  auto r = ossl::OsslAeadBatch::create(capacity);
  if (!r.ok()) {
    ADD_FAILURE() << "OpenSSL batch: " << crypto::aead_error_name(r.error());
    return nullptr;
  }
  return std::move(r).value();
}

crypto::AeadKeyPtr make_key(crypto::AeadBatch& batch, crypto::AeadAlgo algo,
                            std::span<const uint8_t> key) {
  auto r = batch.make_key(algo, key);
  if (!r.ok()) {
    ADD_FAILURE() << batch.impl_name() << " make_key: " << crypto::aead_error_name(r.error());
    return nullptr;
  }
  return std::move(r).value();
}

namespace {

int hex_digit(char c) {
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

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

bool parse_value(std::string_view v, std::vector<uint8_t>* out, std::string* why) {
  out->clear();
  if (!v.empty() && v.front() == '"') {
    if (v.size() < 2 || v.back() != '"') {
      *why = "unterminated string";
      return false;
    }
    out->assign(v.begin() + 1, v.end() - 1);
    return true;
  }
  if (v.size() % 2 != 0) {
    *why = "odd number of hex digits";
    return false;
  }
  for (size_t i = 0; i < v.size(); i += 2) {
    int hi = hex_digit(v[i]);
    int lo = hex_digit(v[i + 1]);
    if (hi < 0 || lo < 0) {
      *why = "not a hex digit";
      return false;
    }
    out->push_back(static_cast<uint8_t>(hi << 4 | lo));
  }
  return true;
}

}  // namespace

bool parse_vectors(std::string_view text, std::vector<AeadVector>* out, std::string* err) {
  out->clear();
  AeadVector cur;
  unsigned seen = 0;  // bit per field
  constexpr unsigned kAll = 0x3f;
  int line_no = 0;
  auto fail_at = [&](int line, const std::string& why) {
    *err = "line " + std::to_string(line) + ": " + why;
    return false;
  };
  auto finish_block = [&]() {
    if (seen == 0) {
      return true;
    }
    if ((seen & kAll) != kAll) {
      return fail_at(cur.line, "block lacks one of KEY, NONCE, IN, AD, CT, TAG");
    }
    if (!cur.fails && cur.in.size() != cur.ct.size()) {
      return fail_at(cur.line, "IN and CT differ in length");
    }
    out->push_back(std::move(cur));
    cur = AeadVector{};
    seen = 0;
    return true;
  };

  size_t pos = 0;
  while (pos <= text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) {
      end = text.size();
    }
    std::string_view line = trim(text.substr(pos, end - pos));
    pos = end + 1;
    line_no++;
    if (line.empty()) {
      if (!finish_block()) {
        return false;
      }
      continue;
    }
    if (line.front() == '#') {
      continue;
    }
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) {
      return fail_at(line_no, "expected NAME: value");
    }
    std::string_view name = trim(line.substr(0, colon));
    std::string_view value = trim(line.substr(colon + 1));
    static constexpr std::string_view kNames[] = {"KEY", "NONCE", "IN", "AD", "CT", "TAG"};
    std::vector<uint8_t>* fields[] = {&cur.key, &cur.nonce, &cur.in, &cur.ad, &cur.ct, &cur.tag};
    if (seen == 0) {
      cur.line = line_no;
    }
    if (name == "FAILS") {
      if (value != "01") {
        return fail_at(line_no, "FAILS must be 01");
      }
      cur.fails = true;
      seen |= 0x40;
      continue;
    }
    size_t idx = std::find(std::begin(kNames), std::end(kNames), name) - std::begin(kNames);
    if (idx == std::size(kNames)) {
      return fail_at(line_no, "unknown field " + std::string(name));
    }
    if (seen & (1u << idx)) {
      return fail_at(line_no, "duplicate field " + std::string(name));
    }
    std::string why;
    if (!parse_value(value, fields[idx], &why)) {
      return fail_at(line_no, why);
    }
    seen |= 1u << idx;
  }
  return finish_block();
}

std::vector<AeadVector> load_vectors(const std::string& name) {
  const char* dir = std::getenv("LT_VECTORS");
  if (dir == nullptr) {
    ADD_FAILURE() << "LT_VECTORS is not set (meson test sets it to tests/vectors)";
    return {};
  }
  std::string path = std::string(dir) + "/aead/" + name;
  std::ifstream f(path);
  if (!f) {
    ADD_FAILURE() << "cannot open " << path;
    return {};
  }
  std::stringstream ss;
  ss << f.rdbuf();
  std::vector<AeadVector> v;
  std::string err;
  if (!parse_vectors(ss.str(), &v, &err)) {
    ADD_FAILURE() << path << ": " << err;
    return {};
  }
  return v;
}

Scattered::Scattered(std::span<const uint8_t> data, const std::vector<uint32_t>& piece_lens) {
  size_t off = 0;
  for (uint32_t len : piece_lens) {
    if (len == 0) {
      segs_.push_back({nullptr, 0});  // empty segments may have no memory at all
      continue;
    }
    pieces_.push_back(std::make_unique<uint8_t[]>(len));
    std::memcpy(pieces_.back().get(), data.data() + off, len);
    segs_.push_back({pieces_.back().get(), len});
    off += len;
  }
  EXPECT_EQ(off, data.size()) << "piece lengths do not cover the data";
}

std::vector<uint8_t> Scattered::joined() const {
  std::vector<uint8_t> out;
  for (const crypto::IoSeg& s : segs_) {
    out.insert(out.end(), s.data, s.data + s.len);
  }
  return out;
}

bool Scattered::all_zero() const {
  for (const crypto::IoSeg& s : segs_) {
    for (uint32_t i = 0; i < s.len; i++) {
      if (s.data[i] != 0) {
        return false;
      }
    }
  }
  return true;
}

void Scattered::flip_bit(size_t pos, int bit) {
  for (const crypto::IoSeg& s : segs_) {
    if (pos < s.len) {
      s.data[pos] ^= static_cast<uint8_t>(1u << bit);
      return;
    }
    pos -= s.len;
  }
  ADD_FAILURE() << "flip_bit past the end";
}

std::vector<uint32_t> random_split(std::mt19937_64& rng, size_t len, int max_pieces) {
  int pieces = std::uniform_int_distribution<int>(1, max_pieces)(rng);
  std::vector<size_t> cuts;
  for (int i = 1; i < pieces; i++) {
    cuts.push_back(std::uniform_int_distribution<size_t>(0, len)(rng));
  }
  std::sort(cuts.begin(), cuts.end());
  std::vector<uint32_t> lens;
  size_t prev = 0;
  for (size_t c : cuts) {
    lens.push_back(static_cast<uint32_t>(c - prev));
    prev = c;
  }
  lens.push_back(static_cast<uint32_t>(len - prev));
  return lens;
}

std::vector<uint8_t> random_bytes(std::mt19937_64& rng, size_t n) {
  std::vector<uint8_t> b(n);
  for (auto& x : b) {
    x = static_cast<uint8_t>(rng());
  }
  return b;
}

crypto::AeadNonce to_nonce(std::span<const uint8_t> b) {
  crypto::AeadNonce n{};
  EXPECT_EQ(b.size(), n.size());
  std::copy_n(b.begin(), std::min(b.size(), n.size()), n.begin());
  return n;
}

}  // namespace linetls::aead_test
