#include "tests/unit/tls/heap_usage.h"

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define LT_HEAP_USAGE_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define LT_HEAP_USAGE_ASAN 1
#endif
// Uninstrumented test code linked with the ASan runtime (the sanitizer build's unit tests).
#if defined(LT_ASAN_RUNTIME)
#define LT_HEAP_USAGE_ASAN 1
#endif

#if defined(LT_HEAP_USAGE_ASAN)

#include <sanitizer/allocator_interface.h>

namespace linetls::testing {

size_t heap_in_use() noexcept { return __sanitizer_get_current_allocated_bytes(); }

}  // namespace linetls::testing

#else

#include <errno.h>
#include <malloc.h>

#include <atomic>
#include <cstdint>

extern "C" {
void* __libc_malloc(size_t size);
void __libc_free(void* p);
void* __libc_calloc(size_t n, size_t size);
void* __libc_realloc(void* p, size_t size);
void* __libc_memalign(size_t alignment, size_t size);
}

namespace {

std::atomic<int64_t> g_in_use{0};

void* counted(void* p) noexcept {
  if (p != nullptr) {
    g_in_use.fetch_add(static_cast<int64_t>(malloc_usable_size(p)), std::memory_order_relaxed);
  }
  return p;
}

void uncount(void* p) noexcept {
  if (p != nullptr) {
    g_in_use.fetch_sub(static_cast<int64_t>(malloc_usable_size(p)), std::memory_order_relaxed);
  }
}

}  // namespace

extern "C" {

void* malloc(size_t size) { return counted(__libc_malloc(size)); }

void free(void* p) {
  uncount(p);
  __libc_free(p);
}

void* calloc(size_t n, size_t size) { return counted(__libc_calloc(n, size)); }

void* realloc(void* p, size_t size) {
  const int64_t before = p != nullptr ? static_cast<int64_t>(malloc_usable_size(p)) : 0;
  void* q = __libc_realloc(p, size);
  if (q != nullptr || size == 0) {
    g_in_use.fetch_sub(before, std::memory_order_relaxed);
    counted(q);
  }
  return q;
}

void* memalign(size_t alignment, size_t size) { return counted(__libc_memalign(alignment, size)); }

void* aligned_alloc(size_t alignment, size_t size) {
  return counted(__libc_memalign(alignment, size));
}

int posix_memalign(void** out, size_t alignment, size_t size) {
  if (alignment < sizeof(void*) || (alignment & (alignment - 1)) != 0) {
    return EINVAL;
  }
  void* p = counted(__libc_memalign(alignment, size));
  if (p == nullptr) {
    return ENOMEM;
  }
  *out = p;
  return 0;
}

}  // extern "C"

namespace linetls::testing {

size_t heap_in_use() noexcept {
  return static_cast<size_t>(g_in_use.load(std::memory_order_relaxed));
}

}  // namespace linetls::testing

#endif
