#include "lib/crypto/cert_cache.h"

#include <algorithm>
#include <atomic>

#include "lib/crypto/hash.h"

namespace linetls::crypto::cert_cache {
namespace {

// This thread's caches, one slot per CaStore it has verified with lately.
struct ThreadCaches {
  struct Slot {
    uint64_t id;
    std::weak_ptr<const StoreTag> tag;  // expired once the CaStore is destroyed
    uint64_t last_use;
    std::unique_ptr<StoreCaches> caches;
  };
  std::vector<Slot> slots;
  uint64_t clock = 0;  // counts caches_for() calls, for least-recently-used
};

ThreadCaches& thread_caches() noexcept {
  thread_local ThreadCaches t;
  return t;
}

Result<Key, Error> finish(const Hash& h) noexcept {
  Result<Digest, Error> d = h.digest();
  if (!d) {
    return fail(d.error());
  }
  Key key;
  std::copy_n(d->bytes.begin(), key.size(), key.begin());
  return key;
}

void put_u32(uint8_t out[4], size_t v) noexcept {
  out[0] = static_cast<uint8_t>(v >> 24);
  out[1] = static_cast<uint8_t>(v >> 16);
  out[2] = static_cast<uint8_t>(v >> 8);
  out[3] = static_cast<uint8_t>(v);
}

}  // namespace

std::shared_ptr<const StoreTag> new_tag(ClientChainCacheLimits limits) {
  static std::atomic<uint64_t> next_id{1};
  auto tag = std::make_shared<StoreTag>();
  tag->id = next_id.fetch_add(1, std::memory_order_relaxed);
  tag->limits = limits;
  return tag;
}

Result<Key, Error> chain_key(std::span<const std::span<const uint8_t>> chain) noexcept {
  Result<Hash, Error> h = Hash::create(HashAlgo::kSha256);
  if (!h) {
    return fail(h.error());
  }
  // A TLS Certificate message bounds both the count and each length far below 2^32.
  uint8_t len[4];
  put_u32(len, chain.size());
  if (Result<void, Error> r = h->update(len); !r) {
    return fail(r.error());
  }
  for (std::span<const uint8_t> der : chain) {
    put_u32(len, der.size());
    if (Result<void, Error> r = h->update(len); !r) {
      return fail(r.error());
    }
    if (Result<void, Error> r = h->update(der); !r) {
      return fail(r.error());
    }
  }
  return finish(*h);
}

Result<Key, Error> der_key(std::span<const uint8_t> der) noexcept {
  Result<Digest, Error> d = hash(HashAlgo::kSha256, der);
  if (!d) {
    return fail(d.error());
  }
  Key key;
  std::copy_n(d->bytes.begin(), key.size(), key.begin());
  return key;
}

StoreCaches* caches_for(const std::shared_ptr<const StoreTag>& tag) {
  if (tag == nullptr || (tag->limits.chains == 0 && tag->limits.intermediates == 0)) {
    return nullptr;
  }
  ThreadCaches& t = thread_caches();
  t.clock++;
  // The caches of a CaStore that is gone (a reload replaced it) can never answer again.
  std::erase_if(t.slots, [](const ThreadCaches::Slot& s) { return s.tag.expired(); });
  for (ThreadCaches::Slot& s : t.slots) {
    if (s.id == tag->id) {
      s.last_use = t.clock;
      return s.caches.get();
    }
  }
  if (t.slots.size() >= kMaxCachedCaStoresPerThread) {
    t.slots.erase(std::min_element(t.slots.begin(), t.slots.end(),
                                   [](const ThreadCaches::Slot& a, const ThreadCaches::Slot& b) {
                                     return a.last_use < b.last_use;
                                   }));
  }
  t.slots.push_back(
      ThreadCaches::Slot{tag->id, tag, t.clock, std::make_unique<StoreCaches>(tag->limits)});
  return t.slots.back().caches.get();
}

ClientChainCacheStats stats_of(const StoreTag* tag) noexcept {
  if (tag == nullptr) {
    return {};
  }
  for (const ThreadCaches::Slot& s : thread_caches().slots) {
    if (s.id == tag->id) {
      ClientChainCacheStats out = s.caches->stats;
      out.entries = s.caches->chains.size();
      out.intermediates = s.caches->intermediates.size();
      return out;
    }
  }
  return {};
}

}  // namespace linetls::crypto::cert_cache
