// libFuzzer target: the TLS record deframer and handshake reassembler fed a stream in
// pieces whose sizes come from the input.
//
// Input: byte 0 selects the deframer mode (protected, strict version, a record_size_limit);
// bytes 1..8 give the piece sizes (cycled, each 1..256); the rest is the stream. The same
// stream is also deframed in one piece: both runs must yield the same records and the
// same error, whatever the split (a mismatch traps). Handshake records go through a
// HandshakeReassembler and every fragment through parse_inner_plaintext.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <vector>

#include "lib/tls/handshake_msg.h"
#include "lib/tls/record.h"

using linetls::tls::ContentType;
using linetls::tls::Deframer;
using linetls::tls::Error;
using linetls::tls::HandshakeReassembler;

namespace {

struct Outcome {
  std::vector<std::vector<uint8_t>> records;  // header + fragment
  bool failed = false;
  Error error = Error::kInternalError;
};

Deframer make(uint8_t mode) {
  Deframer::Config config;
  if (mode & 4) {
    config.max_plaintext_len = 64 + (mode >> 3) * 7;
  }
  Deframer d(config);
  d.set_protected((mode & 1) != 0);
  d.set_strict_version((mode & 2) != 0);
  return d;
}

Outcome run(uint8_t mode, std::vector<uint8_t> stream, std::span<const uint8_t> sizes,
            bool reassemble) {
  Outcome out;
  Deframer d = make(mode);
  HandshakeReassembler hs(1 << 12);
  bool hs_failed = false;
  size_t pos = 0;
  size_t k = 0;
  while (pos < stream.size()) {
    size_t n = sizes.empty() ? stream.size() : size_t{sizes[k++ % sizes.size()]} + 1;
    n = std::min(n, stream.size() - pos);
    std::span<uint8_t> piece(stream.data() + pos, n);
    pos += n;
    while (!piece.empty()) {
      auto step = d.next(piece);
      if (!step) {
        out.failed = true;
        out.error = step.error();
        return out;
      }
      if (step->consumed == 0 && !step->has_record) {
        __builtin_trap();  // the held buffer is released below, so this cannot stall
      }
      if (step->has_record) {
        const auto& rec = step->record;
        if (rec.header.size() != 5 || !linetls::tls::is_known_content_type(rec.header[0]) ||
            rec.fragment.size() > linetls::tls::kMaxCiphertextLen) {
          __builtin_trap();
        }
        std::vector<uint8_t> whole(rec.header.begin(), rec.header.end());
        whole.insert(whole.end(), rec.fragment.begin(), rec.fragment.end());
        out.records.push_back(whole);
        std::vector<uint8_t> inner(rec.fragment.begin(), rec.fragment.end());
        (void)linetls::tls::parse_inner_plaintext(inner);
        if (reassemble && rec.type == ContentType::kHandshake && !hs_failed) {
          std::span<const uint8_t> content = rec.fragment;
          while (!content.empty()) {
            auto m = hs.next(content);
            if (!m) {
              hs_failed = true;
              break;
            }
            if (m->has_message && m->message.bytes.size() != m->message.body.size() + 4) {
              __builtin_trap();
            }
            content = content.subspan(m->consumed);
          }
        }
        if (rec.assembled) {
          d.release_assembled();
        }
      }
      piece = piece.subspan(step->consumed);
    }
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 9) {
    return 0;
  }
  const uint8_t mode = data[0];
  const std::span<const uint8_t> sizes(data + 1, 8);
  const std::vector<uint8_t> stream(data + 9, data + size);
  const Outcome split = run(mode, stream, sizes, true);
  const Outcome whole = run(mode, stream, {}, false);
  if (split.records != whole.records || split.failed != whole.failed ||
      (split.failed && split.error != whole.error)) {
    __builtin_trap();
  }
  return 0;
}
