// crypto::AeadBatch: batched, in-place AEAD (AES-128-GCM, AES-256-GCM, ChaCha20-Poly1305).
//
// The TLS layer collects every record of a poll-loop phase into one batch and runs it once:
// one call into the backend per batch instead of one per record. The interface is header-only
// and includes neither DPDK nor ipsec-mb; backends live in drivers/:
//   drivers/ipsecmb  IpsecMbAeadBatch  Intel ipsec-mb burst API, one IMB_MGR per batch object
//   drivers/ossl     OsslAeadBatch     OpenSSL EVP, one op at a time (reference and baseline)
// A worker creates one batch object at start-up (that is its choice of implementation) and
// reuses it for every phase: add ops, run(), read the per-op results, clear().
//
// Buffers. An op works in place on a scatter list of IoSeg (for a record spread over mbuf
// segments); seal turns plaintext into ciphertext and writes the 16-byte tag to tag_out, open
// turns ciphertext into plaintext after checking the 16-byte tag at tag_in. The tag has its own
// pointer so it can sit in a segment's tailroom. Nonces are 12 bytes and copied into the op;
// the AAD bytes, the IoSeg array, the segment memory and the tag are the caller's and must stay
// valid and unmoved until run() returns. Segments must not overlap each other, the AAD or the
// tag.
//
// Results. run() processes every op added since the previous run() and returns how many of
// them succeeded. Ops are never reordered, dropped or freed: status(i), ok(i) and user_data(i)
// report op i in the order it was added, until clear(). A failed op stays the caller's to
// handle (alert, drop the connection). Tag checks are constant time and always on. When an
// open fails (tag mismatch, kAuthFailed) its segments hold the ciphertext again before run()
// returns (the keystream is applied a second time; should that fail, they are zeroed), so
// unauthenticated plaintext is never visible and the record can still be opened under
// another key (a TLS 1.3 record queued behind a KeyUpdate in the same batch,
// lib/tls/session13). A failed seal (kInvalid) leaves the buffers as they were.
//
// Keys. batch.make_key(algo, bytes) expands the key schedule once (AES round keys and GHASH
// powers for ipsec-mb) into an AeadKey owned by the caller and wiped when destroyed. A key
// works with any batch of the same backend and architecture (backend_id()); passing a key
// from another backend makes that op kInvalid. A key is used by one thread at a time (the
// OpenSSL backend keeps per-key cipher state).
//
// Threads. A batch object belongs to one worker thread; nothing in it is shared.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <span>

#include "lib/base/result.h"
#include "lib/base/secret.h"

namespace linetls::crypto {

enum class AeadAlgo : uint8_t { kAes128Gcm, kAes256Gcm, kChacha20Poly1305 };
inline constexpr size_t kNumAeadAlgos = 3;

inline constexpr size_t kAeadNonceLen = 12;
inline constexpr size_t kAeadTagLen = 16;
// Segments per op. A record spread over more mbufs than this is linearised by the caller
// (the counted copying fallback).
inline constexpr size_t kAeadMaxSegs = 64;
// Bytes per op, for the message and for the AAD; far above a TLS record (2^14 + 256).
inline constexpr uint64_t kAeadMaxLen = uint64_t{1} << 30;
inline constexpr uint32_t kAeadDefaultCapacity = 128;

using AeadNonce = std::array<uint8_t, kAeadNonceLen>;

// Returns the key length in bytes for algo: 16 or 32.
constexpr size_t aead_key_len(AeadAlgo algo) noexcept {
  return algo == AeadAlgo::kAes128Gcm ? 16 : 32;
}
// Returns a short static name: "aes128gcm", "aes256gcm" or "chacha20poly1305".
constexpr const char* aead_name(AeadAlgo algo) noexcept {
  switch (algo) {
    case AeadAlgo::kAes128Gcm:
      return "aes128gcm";
    case AeadAlgo::kAes256Gcm:
      return "aes256gcm";
    case AeadAlgo::kChacha20Poly1305:
      return "chacha20poly1305";
  }
  return "?";
}

// Failures of setting up a backend or a key (never of a record: those are AeadStatus).
enum class AeadError : uint8_t {
  kBadKeyLength,  // key bytes do not match aead_key_len(algo)
  kBadCapacity,   // a batch must hold at least one op
  kNoMemory,
  kBackend,  // the library refused (no usable CPU path, cipher not available, init failed)
};
constexpr const char* aead_error_name(AeadError e) noexcept {
  switch (e) {
    case AeadError::kBadKeyLength:
      return "bad key length";
    case AeadError::kBadCapacity:
      return "bad batch capacity";
    case AeadError::kNoMemory:
      return "out of memory";
    case AeadError::kBackend:
      return "crypto backend failure";
  }
  return "?";
}

// Outcome of one op.
enum class AeadStatus : uint8_t {
  kPending,     // added, run() not called yet
  kOk,          // sealed, or opened with a valid tag
  kAuthFailed,  // open: tag mismatch; the segments hold the ciphertext again
  kInvalid,     // rejected without processing (foreign key, null tag, too many segments or
                // bytes, null segment data); the buffers are untouched
};

// One contiguous piece of a buffer, processed in place. data may be null only when len is 0.
struct IoSeg {
  uint8_t* data = nullptr;
  uint32_t len = 0;
};

// A prepared key: expanded schedule in backend-specific form. Create with
// AeadBatch::make_key(); destroying it wipes the key material.
class AeadKey {
 public:
  virtual ~AeadKey() = default;
  AeadKey(const AeadKey&) = delete;
  AeadKey& operator=(const AeadKey&) = delete;

  AeadAlgo algo() const noexcept { return algo_; }
  // Identifies the backend (and architecture) whose batches accept this key.
  uint32_t backend_id() const noexcept { return backend_id_; }

 protected:
  AeadKey(AeadAlgo algo, uint32_t backend_id) noexcept : algo_(algo), backend_id_(backend_id) {}

 private:
  AeadAlgo algo_;
  uint32_t backend_id_;
};

using AeadKeyPtr = std::unique_ptr<AeadKey>;

class AeadBatch {
 public:
  virtual ~AeadBatch() = default;
  AeadBatch(const AeadBatch&) = delete;
  AeadBatch& operator=(const AeadBatch&) = delete;

  // Returns a static description of the implementation, e.g. "ipsec-mb 1.3.0 avx512 (vaes,
  // vpclmulqdq)" or "OpenSSL 3.0.13 EVP".
  virtual const char* impl_name() const noexcept = 0;

  // Expands key (aead_key_len(algo) bytes; the caller keeps and wipes its own copy) into a
  // new AeadKey usable with this batch and any other of the same backend_id(). Not for the
  // per-record path: it allocates.
  virtual Result<AeadKeyPtr, AeadError> make_key(AeadAlgo algo,
                                                 std::span<const uint8_t> key) noexcept = 0;

  // Queues a seal: encrypts segs in place under key/nonce/aad and writes the tag to tag_out
  // (16 bytes). Returns false, adding nothing, only when the batch is full; an op with bad
  // arguments is added and reported as kInvalid by status().
  bool add_seal(const AeadKey& key, const AeadNonce& nonce, std::span<const uint8_t> aad,
                std::span<const IoSeg> segs, uint8_t* tag_out, void* user_data = nullptr) noexcept {
    return add(Dir::kSeal, key, nonce, aad, segs, tag_out, user_data);
  }
  // Queues an open: checks the tag at tag_in (16 bytes, read during run()) and decrypts segs
  // in place. Same return convention as add_seal().
  bool add_open(const AeadKey& key, const AeadNonce& nonce, std::span<const uint8_t> aad,
                std::span<const IoSeg> segs, const uint8_t* tag_in,
                void* user_data = nullptr) noexcept {
    return add(Dir::kOpen, key, nonce, aad, segs, const_cast<uint8_t*>(tag_in), user_data);
  }

  // Processes every op added since the last run() and returns how many of those are now kOk.
  // The others are kAuthFailed or kInvalid; see status().
  uint32_t run() noexcept {
    if (num_run_ == size_) {
      return 0;
    }
    std::span<Op> fresh(ops_.get() + num_run_, size_ - num_run_);
    process(fresh);
    num_run_ = size_;
    uint32_t num_ok = 0;
    for (const Op& op : fresh) {
      num_ok += op.status == AeadStatus::kOk ? 1 : 0;
    }
    return num_ok;
  }

  // Forgets every op (results included); the capacity stays allocated.
  void clear() noexcept {
    size_ = 0;
    num_run_ = 0;
  }

  uint32_t size() const noexcept { return size_; }
  uint32_t capacity() const noexcept { return capacity_; }
  bool full() const noexcept { return size_ == capacity_; }
  uint32_t backend_id() const noexcept { return backend_id_; }

  // Result and user_data of op i (0 <= i < size()), in the order the ops were added.
  AeadStatus status(uint32_t i) const noexcept { return ops_[i].status; }
  bool ok(uint32_t i) const noexcept { return ops_[i].status == AeadStatus::kOk; }
  void* user_data(uint32_t i) const noexcept { return ops_[i].user_data; }

 protected:
  enum class Dir : uint8_t { kSeal, kOpen };

  // One queued operation, as the backends see it. Valid ops (status kPending when process()
  // is called) have a key of this backend, tag != nullptr, segs.size() <= kAeadMaxSegs, no
  // null data in a non-empty segment, and len, aad.size() <= kAeadMaxLen.
  struct Op {
    const AeadKey* key;
    std::span<const uint8_t> aad;
    std::span<const IoSeg> segs;
    uint8_t* tag;  // seal: written; open: read only
    void* user_data;
    uint64_t len;  // sum of segs[].len
    AeadNonce nonce;
    Dir dir;
    AeadStatus status;
  };

  explicit AeadBatch(uint32_t backend_id) noexcept : backend_id_(backend_id) {}

  // Allocates room for capacity ops; backends call it once from their factory.
  [[nodiscard]] bool reserve(uint32_t capacity) noexcept {
    ops_.reset(new (std::nothrow) Op[capacity]);
    capacity_ = ops_ != nullptr ? capacity : 0;
    return ops_ != nullptr;
  }

  // Sets the status of every op in ops that is kPending to kOk, kAuthFailed or kInvalid. An
  // open that ends kAuthFailed must have its ciphertext restored (or, failing that, its
  // segments zeroed); one the backend failed on while processing must be zeroed.
  virtual void process(std::span<Op> ops) noexcept = 0;

 private:
  bool add(Dir dir, const AeadKey& key, const AeadNonce& nonce, std::span<const uint8_t> aad,
           std::span<const IoSeg> segs, uint8_t* tag, void* user_data) noexcept {
    if (size_ == capacity_) {
      return false;
    }
    Op& op = ops_[size_++];
    op.key = &key;
    op.aad = aad;
    op.segs = segs;
    op.tag = tag;
    op.user_data = user_data;
    op.nonce = nonce;
    op.dir = dir;
    uint64_t len = 0;
    bool valid = key.backend_id() == backend_id_ && tag != nullptr && segs.size() <= kAeadMaxSegs &&
                 aad.size() <= kAeadMaxLen;
    for (const IoSeg& s : segs) {
      len += s.len;
      valid = valid && (s.data != nullptr || s.len == 0);
    }
    op.len = len;
    op.status = valid && len <= kAeadMaxLen ? AeadStatus::kPending : AeadStatus::kInvalid;
    return true;
  }

  std::unique_ptr<Op[]> ops_;
  uint32_t capacity_ = 0;
  uint32_t size_ = 0;
  uint32_t num_run_ = 0;  // ops_[0, num_run_) have been through process()
  uint32_t backend_id_;
};

// A key that can give back its expanded schedule while unused (the keys of an idle
// connection: ~1 KiB each for AES-GCM on the AVX-512 path) and rebuild it from the raw key
// bytes it keeps, at its next use. Keeping the raw key changes nothing in what a memory
// disclosure would reveal: the schedule holds the same secret.
class ParkableKey {
 public:
  ParkableKey() noexcept = default;
  // Expands key with batch; kBadKeyLength etc. as make_key().
  static Result<ParkableKey, AeadError> make(AeadBatch& batch, AeadAlgo algo,
                                             std::span<const uint8_t> key) noexcept {
    auto k = batch.make_key(algo, key);
    if (!k) {
      return fail(k.error());
    }
    ParkableKey p;
    p.key_ = std::move(k).value();
    p.raw_.assign(key);
    p.algo_ = algo;
    return p;
  }
  AeadAlgo algo() const noexcept { return algo_; }
  // The expanded key for batch (rebuilt if parked, which allocates), or nullptr when it
  // cannot be rebuilt.
  const AeadKey* get(AeadBatch& batch) noexcept {
    if (key_ == nullptr) {
      auto k = batch.make_key(algo_, raw_.view());
      if (!k) {
        return nullptr;
      }
      key_ = std::move(k).value();
    }
    return key_.get();
  }
  // Frees the expanded key; call only when no batch op refers to it.
  void park() noexcept { key_.reset(); }
  bool parked() const noexcept { return key_ == nullptr; }

 private:
  AeadKeyPtr key_;
  Secret<32> raw_;
  AeadAlgo algo_ = AeadAlgo::kAes128Gcm;
};

}  // namespace linetls::crypto
