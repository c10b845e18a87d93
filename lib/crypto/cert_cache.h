// Internal to lib/crypto: the per-thread caches behind CaStore::verify_client_chain_and_key
// (cert.h says what is cached and when an entry may answer). Not part of the public API;
// public headers never include it.
//
// Every thread keeps, for each CaStore it verifies with (at most
// kMaxCachedCaStoresPerThread of them), two bounded maps keyed by SHA-256: verified chains
// and parsed intermediates. Only the owning thread touches them, so nothing is locked; a
// CaStore names its caches by a StoreTag, whose id is never reused and whose expiry (held
// weakly here) tells a thread to drop the caches of a CaStore that is gone.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <ctime>
#include <memory>
#include <span>
#include <unordered_map>
#include <utility>
#include <vector>

#include "lib/base/result.h"
#include "lib/crypto/cert.h"
#include "lib/crypto/error.h"
#include "lib/crypto/ossl_util.h"

namespace linetls::crypto::cert_cache {

// What a CaStore gives its caches: a process-unique id (an address could be reused by the
// CaStore of a later reload) and the bounds it was loaded with.
struct StoreTag {
  uint64_t id = 0;
  ClientChainCacheLimits limits;
};

// Returns a tag with a fresh id.
std::shared_ptr<const StoreTag> new_tag(ClientChainCacheLimits limits);

using Key = std::array<uint8_t, 32>;  // a SHA-256 value

// Returns SHA-256 over the chain as sent: the number of certificates, then each DER
// preceded by its 4-byte length, so two different chains never hash the same input (no
// concatenation of DERs can pass for another).
Result<Key, Error> chain_key(std::span<const std::span<const uint8_t>> chain) noexcept;
// Returns SHA-256 of one DER certificate.
Result<Key, Error> der_key(std::span<const uint8_t> der) noexcept;

// A map of at most capacity entries from Key to V with CLOCK eviction: a hit sets the
// entry's reference bit; to make room the hand sweeps the slots, clearing set bits, and
// evicts the first entry whose bit was already clear (so an entry used since the last sweep
// survives it). Slots live in one vector, the index maps a key to its slot.
template <typename V>
class ClockMap {
 public:
  explicit ClockMap(size_t capacity) : capacity_(capacity) {}
  ClockMap(const ClockMap&) = delete;
  ClockMap& operator=(const ClockMap&) = delete;

  size_t size() const noexcept { return slots_.size(); }
  size_t capacity() const noexcept { return capacity_; }

  // Returns key's value, marked as used, or nullptr. Valid until the next insert or erase.
  V* find(const Key& key) noexcept {
    const auto it = index_.find(key);
    if (it == index_.end()) {
      return nullptr;
    }
    Slot& slot = slots_[it->second];
    slot.referenced = true;
    return &slot.value;
  }

  // Inserts or replaces key's value. Returns true if another entry was evicted to make
  // room. With capacity 0 nothing is kept.
  bool insert(const Key& key, V value) {
    if (capacity_ == 0) {
      return false;
    }
    if (const auto it = index_.find(key); it != index_.end()) {
      slots_[it->second].value = std::move(value);
      return false;
    }
    if (slots_.size() < capacity_) {
      slots_.push_back(Slot{key, std::move(value), false});
      index_.emplace(key, slots_.size() - 1);
      return false;
    }
    for (;;) {  // ends: each pass clears the bit it finds set
      if (hand_ >= slots_.size()) {
        hand_ = 0;
      }
      if (!slots_[hand_].referenced) {
        break;
      }
      slots_[hand_].referenced = false;
      hand_++;
    }
    Slot& victim = slots_[hand_];
    index_.erase(victim.key);
    victim = Slot{key, std::move(value), false};
    index_.emplace(key, hand_);
    hand_++;
    return true;
  }

  // Removes key's entry, if any.
  void erase(const Key& key) noexcept {
    const auto it = index_.find(key);
    if (it == index_.end()) {
      return;
    }
    const size_t i = it->second;
    index_.erase(it);
    if (i + 1 != slots_.size()) {
      slots_[i] = std::move(slots_.back());
      index_.find(slots_[i].key)->second = i;
    }
    slots_.pop_back();
  }

 private:
  struct Slot {
    Key key;
    V value;
    bool referenced;
  };
  // The key is already a uniform hash; its first bytes are a fine bucket index.
  struct KeyHash {
    size_t operator()(const Key& key) const noexcept {
      size_t h;
      std::memcpy(&h, key.data(), sizeof(h));
      return h;
    }
  };

  size_t capacity_;
  std::vector<Slot> slots_;
  std::unordered_map<Key, size_t, KeyHash> index_;
  size_t hand_ = 0;
};

// A chain that verified: what it proved, and when that answer holds.
struct ChainEntry {
  VerifiedIdentity identity;
  ossl::EvpPkeyPtr leaf_key;   // one reference to the leaf's (immutable) key
  std::time_t not_before = 0;  // the latest notBefore over the verified path
  std::time_t not_after = 0;   // the earliest notAfter over the verified path
};

// One thread's caches for one CaStore.
struct StoreCaches {
  explicit StoreCaches(const ClientChainCacheLimits& limits)
      : chains(limits.chains), intermediates(limits.intermediates) {}

  ClockMap<ChainEntry> chains;
  ClockMap<ossl::X509Ptr> intermediates;  // parsed, by SHA-256 of their DER
  // The counters; stats_of() fills in entries and intermediates.
  ClientChainCacheStats stats;
};

// Returns the calling thread's caches for tag's CaStore, created empty on first use, or
// nullptr when its limits cache nothing (or tag is null: a moved-from CaStore). Drops this
// thread's caches of CaStores that no longer exist, and beyond kMaxCachedCaStoresPerThread
// the least recently used one.
StoreCaches* caches_for(const std::shared_ptr<const StoreTag>& tag);
// Returns the calling thread's counters for tag's CaStore, zero if it has no caches for it.
ClientChainCacheStats stats_of(const StoreTag* tag) noexcept;

}  // namespace linetls::crypto::cert_cache
