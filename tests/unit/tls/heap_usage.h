// Heap bytes in use by the process, for tests that measure what an object holds: allocate
// everything else first, read heap_in_use(), destroy the object, read it again. The
// difference is what the object freed.
//
// Counted by a malloc replacement in heap_usage.cc (glibc's documented way to replace malloc:
// malloc, free, calloc, realloc and the aligned forms, here forwarding to __libc_* and adding
// up malloc_usable_size of every live block; operator new and libcrypto both allocate
// through it). glibc's own mallinfo2() cannot answer this: blocks parked in the per-thread
// cache count as in use. Under AddressSanitizer the sanitizer owns malloc and is asked instead.
#pragma once

#include <cstddef>

namespace linetls::testing {

size_t heap_in_use() noexcept;

}  // namespace linetls::testing
