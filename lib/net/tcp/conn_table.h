// The worker's connection table: 4-tuple -> TCB, chained hashing through
// Connection::hash_next (no allocation per connection). The hash is keyed with a
// per-worker secret so a peer cannot aim its tuples at one bucket.
#pragma once

#include <cstdint>
#include <vector>

#include "lib/net/tcp/isn.h"

namespace linetls::net::tcp {

class Connection;

class ConnTable {
 public:
  // Sized for max_connections (buckets: the next power of two at or above it).
  ConnTable(uint32_t max_connections, uint64_t seed);

  Connection* find(const FourTuple& t) const noexcept;
  // t must not be present.
  void insert(Connection* c) noexcept;
  void erase(Connection* c) noexcept;
  uint32_t size() const noexcept { return size_; }
  // Calls f(Connection*) for each entry; f may not modify the table.
  template <typename F>
  void for_each(F&& f) const {
    for (Connection* b : buckets_) {
      for (Connection* c = b; c != nullptr;) {
        Connection* next = next_of(c);
        f(c);
        c = next;
      }
    }
  }

 private:
  static Connection* next_of(Connection* c) noexcept;
  size_t bucket(const FourTuple& t) const noexcept;
  std::vector<Connection*> buckets_;
  uint64_t seed_;
  uint32_t size_ = 0;
};

}  // namespace linetls::net::tcp
