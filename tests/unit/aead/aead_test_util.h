// Helpers shared by the AEAD tests: the two backends, the vector-file parser, scattered
// buffers.
#pragma once

#include <cstdint>
#include <memory>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "lib/crypto/aead.h"

namespace linetls::aead_test {

enum class Backend { kIpsecMb, kOssl };
inline constexpr Backend kBackends[] = {Backend::kIpsecMb, Backend::kOssl};

const char* backend_name(Backend b);
// Returns a new batch of the backend, or nullptr (after a gtest failure) if it cannot be made.
std::unique_ptr<crypto::AeadBatch> make_batch(Backend b,
                                              uint32_t capacity = crypto::kAeadDefaultCapacity);
// Returns a key for batch, or nullptr (after a gtest failure).
crypto::AeadKeyPtr make_key(crypto::AeadBatch& batch, crypto::AeadAlgo algo,
                            std::span<const uint8_t> key);

// One block of a BoringSSL-style vector file.
struct AeadVector {
  int line = 0;  // where the block starts, for messages
  std::vector<uint8_t> key, nonce, in, ad, ct, tag;
  bool fails = false;  // "FAILS: 01": open must fail; the vector is not sealed
};

// Parses text (the whole file). Blocks are separated by blank lines; '#' starts a comment
// line; each block has exactly one KEY, NONCE, IN, AD, CT and TAG line and optionally FAILS.
// Values are hex or a "quoted string". On success fills *out and returns true; otherwise
// sets *err to "line N: reason" and returns false.
bool parse_vectors(std::string_view text, std::vector<AeadVector>* out, std::string* err);

// Reads $LT_VECTORS/aead/<name> and parses it; on failure records a gtest failure and
// returns an empty list.
std::vector<AeadVector> load_vectors(const std::string& name);

// A message scattered over separately allocated pieces, as a record over mbuf segments.
class Scattered {
 public:
  // Copies data into pieces of the given lengths (which must sum to data.size()).
  Scattered(std::span<const uint8_t> data, const std::vector<uint32_t>& piece_lens);
  Scattered(const Scattered&) = delete;
  Scattered& operator=(const Scattered&) = delete;

  std::span<const crypto::IoSeg> segs() const { return segs_; }
  std::vector<uint8_t> joined() const;
  bool all_zero() const;
  // Flips bit `bit` of byte `pos` of the joined message.
  void flip_bit(size_t pos, int bit);

 private:
  std::vector<std::unique_ptr<uint8_t[]>> pieces_;
  std::vector<crypto::IoSeg> segs_;
};

// Splits len into 1..max_pieces random pieces (some possibly empty when len is small).
std::vector<uint32_t> random_split(std::mt19937_64& rng, size_t len, int max_pieces);
std::vector<uint8_t> random_bytes(std::mt19937_64& rng, size_t n);
crypto::AeadNonce to_nonce(std::span<const uint8_t> b);

}  // namespace linetls::aead_test
