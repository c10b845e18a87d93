#include "lib/net/tcp/conn_table.h"

#include <bit>

#include "lib/net/tcp/tcb.h"

namespace linetls::net::tcp {

ConnTable::ConnTable(uint32_t max_connections, uint64_t seed)
    : buckets_(std::bit_ceil(std::max<uint32_t>(max_connections, 64)), nullptr), seed_(seed) {}

Connection* ConnTable::next_of(Connection* c) noexcept { return c->hash_next; }

size_t ConnTable::bucket(const FourTuple& t) const noexcept {
  // Two rounds of a 64-bit multiply-xorshift mix over the tuple and the seed.
  uint64_t h = (uint64_t{t.remote_ip.v} << 32 | t.local_ip.v) ^ seed_;
  h ^= (uint64_t{t.remote_port} << 16 | t.local_port) * 0x9e3779b97f4a7c15ull;
  h = (h ^ (h >> 31)) * 0xbf58476d1ce4e5b9ull;
  h = (h ^ (h >> 29)) * 0x94d049bb133111ebull;
  h ^= h >> 32;
  return static_cast<size_t>(h) & (buckets_.size() - 1);
}

Connection* ConnTable::find(const FourTuple& t) const noexcept {
  for (Connection* c = buckets_[bucket(t)]; c != nullptr; c = c->hash_next) {
    if (c->tuple == t) {
      return c;
    }
  }
  return nullptr;
}

void ConnTable::insert(Connection* c) noexcept {
  Connection*& head = buckets_[bucket(c->tuple)];
  c->hash_next = head;
  head = c;
  size_++;
}

void ConnTable::erase(Connection* c) noexcept {
  for (Connection** p = &buckets_[bucket(c->tuple)]; *p != nullptr; p = &(*p)->hash_next) {
    if (*p == c) {
      *p = c->hash_next;
      c->hash_next = nullptr;
      size_--;
      return;
    }
  }
}

}  // namespace linetls::net::tcp
