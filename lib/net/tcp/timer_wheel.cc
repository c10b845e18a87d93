#include "lib/net/tcp/timer_wheel.h"

#include <algorithm>
#include <cassert>

namespace linetls::net::tcp {
namespace {

// Merges two expiry-sorted singly linked lists (next pointers, nullptr-terminated); on
// equal expiry a's node goes first, so the sort is stable.
TimerNode* merge(TimerNode* a, TimerNode* b) noexcept {
  TimerNode head;
  TimerNode* tail = &head;
  while (a != nullptr && b != nullptr) {
    if (b->expires_ns < a->expires_ns) {
      tail->next = b;
      b = b->next;
    } else {
      tail->next = a;
      a = a->next;
    }
    tail = tail->next;
  }
  tail->next = a != nullptr ? a : b;
  return head.next;
}

// Stable merge sort of a singly linked list; recursion depth is log2(length).
TimerNode* sort_list(TimerNode* h) noexcept {
  if (h == nullptr || h->next == nullptr) {
    return h;
  }
  TimerNode* slow = h;
  TimerNode* fast = h->next;
  while (fast != nullptr && fast->next != nullptr) {
    slow = slow->next;
    fast = fast->next->next;
  }
  TimerNode* second = slow->next;
  slow->next = nullptr;
  return merge(sort_list(h), sort_list(second));
}

}  // namespace

TimerWheel::TimerWheel(uint64_t now_ns, uint64_t tick_ns, uint32_t slots)
    : tick_ns_(tick_ns == 0 ? 1 : tick_ns),
      current_tick_(now_ns / tick_ns_),
      mask_(slots - 1),
      slots_(slots),
      occupied_((slots + 63) / 64, 0) {
  assert(slots != 0 && (slots & (slots - 1)) == 0);
  for (TimerNode& h : slots_) {
    h.prev = h.next = &h;
  }
  due_.prev = due_.next = &due_;
}

TimerWheel::~TimerWheel() {
  auto drop_all = [](TimerNode* head) {
    TimerNode* n = head->next;
    while (n != head) {
      TimerNode* next = n->next;
      n->prev = n->next = nullptr;
      n = next;
    }
    head->prev = head->next = head;
  };
  for (TimerNode& h : slots_) {
    drop_all(&h);
  }
  drop_all(&due_);
}

void TimerWheel::link_tail(TimerNode* head, TimerNode* n) noexcept {
  n->prev = head->prev;
  n->next = head;
  head->prev->next = n;
  head->prev = n;
}

void TimerWheel::unlink(TimerNode* n) noexcept {
  n->prev->next = n->next;
  n->next->prev = n->prev;
  n->prev = n->next = nullptr;
}

void TimerWheel::schedule(TimerNode* n, uint64_t expires_ns) noexcept {
  if (n->armed()) {
    unlink(n);
    num_armed_--;
  }
  n->expires_ns = expires_ns;
  // A time already behind the wheel goes to the current tick's slot, which the next
  // advance() visits first.
  const uint64_t tick = std::max(expires_ns / tick_ns_, current_tick_);
  const uint32_t slot = static_cast<uint32_t>(tick) & mask_;
  link_tail(&slots_[slot], n);
  occupied_[slot >> 6] |= uint64_t{1} << (slot & 63);
  num_armed_++;
  lower_bound_ns_ = std::min(lower_bound_ns_, expires_ns);
}

void TimerWheel::cancel(TimerNode* n) noexcept {
  if (!n->armed()) {
    return;
  }
  unlink(n);
  num_armed_--;
  if (num_armed_ == 0) {
    lower_bound_ns_ = UINT64_MAX;
  }
}

void TimerWheel::collect_slot(uint32_t slot, uint64_t now_ns) noexcept {
  TimerNode* head = &slots_[slot];
  TimerNode* n = head->next;
  while (n != head) {
    TimerNode* next = n->next;
    if (n->expires_ns <= now_ns) {
      unlink(n);
      link_tail(&due_, n);
    }
    n = next;
  }
  if (head->next == head) {
    occupied_[slot >> 6] &= ~(uint64_t{1} << (slot & 63));
  }
}

void TimerWheel::collect(uint64_t now_ns) noexcept {
  // Every node due by now_ns sits in the slot of a tick in [current_tick_, target]: its
  // slot tick is >= current_tick_ (an invariant) and <= target (it is due, or it was
  // clamped to a current_tick_ <= target). Visiting those ticks' slots, at most one full
  // revolution, finds them all.
  const uint64_t target = std::max(now_ns / tick_ns_, current_tick_);
  const uint64_t num_slots = slots_.size();
  uint64_t remaining = std::min<uint64_t>(target - current_tick_, num_slots - 1) + 1;
  uint32_t s = static_cast<uint32_t>(current_tick_) & mask_;
  while (remaining > 0) {
    const uint32_t bit = s & 63;
    const uint64_t span = std::min<uint64_t>({64 - bit, remaining, num_slots - s});
    uint64_t bits = occupied_[s >> 6] >> bit;
    if (span < 64) {
      bits &= (uint64_t{1} << span) - 1;
    }
    while (bits != 0) {
      collect_slot(s + static_cast<uint32_t>(__builtin_ctzll(bits)), now_ns);
      bits &= bits - 1;
    }
    s = static_cast<uint32_t>((s + span) & mask_);
    remaining -= span;
  }
  // Nodes left in slots of ticks before target are due later than now_ns, so their slot
  // tick is their expiry tick >= target: the invariant holds with current_tick_ = target.
  current_tick_ = target;
  sort_due();
  lower_bound_ns_ = compute_lower_bound();
}

void TimerWheel::sort_due() noexcept {
  if (due_.next == &due_) {
    return;
  }
  // Slots are visited in tick order and each slot is in schedule order, so the list is
  // usually sorted already; only a jump across slots with far-future nodes mixes it.
  TimerNode* head = due_.next;
  due_.prev->next = nullptr;
  bool sorted = true;
  for (TimerNode* p = head; p->next != nullptr; p = p->next) {
    if (p->next->expires_ns < p->expires_ns) {
      sorted = false;
      break;
    }
  }
  if (!sorted) {
    head = sort_list(head);
  }
  TimerNode* prev = &due_;
  for (TimerNode* p = head; p != nullptr; p = p->next) {
    p->prev = prev;
    prev->next = p;
    prev = p;
  }
  prev->next = &due_;
  due_.prev = prev;
}

uint64_t TimerWheel::compute_lower_bound() noexcept {
  uint64_t bound = UINT64_MAX;
  // The current tick's slot may hold nodes clamped there (expiry before the tick) and
  // nodes of later revolutions: take their exact minimum.
  const uint32_t cur = static_cast<uint32_t>(current_tick_) & mask_;
  const TimerNode* head = &slots_[cur];
  for (const TimerNode* n = head->next; n != head; n = n->next) {
    bound = std::min(bound, n->expires_ns);
  }
  // Any other slot, d ticks ahead, holds only unclamped nodes whose tick is at least
  // current_tick_ + d: the first non-empty one bounds them all.
  const uint64_t num_slots = slots_.size();
  for (uint64_t d = 1; d < num_slots;) {
    const uint32_t s = static_cast<uint32_t>((cur + d) & mask_);
    const uint32_t bit = s & 63;
    const uint64_t span = std::min<uint64_t>({64 - bit, num_slots - d, num_slots - s});
    uint64_t bits = occupied_[s >> 6] >> bit;
    if (span < 64) {
      bits &= (uint64_t{1} << span) - 1;
    }
    while (bits != 0) {
      const uint32_t k = static_cast<uint32_t>(__builtin_ctzll(bits));
      const uint32_t slot = s + k;
      if (slots_[slot].next != &slots_[slot]) {
        return std::min(bound, (current_tick_ + d + k) * tick_ns_);
      }
      occupied_[slot >> 6] &= ~(uint64_t{1} << (slot & 63));  // lazily cleared
      bits &= bits - 1;
    }
    d += span;
  }
  return bound;
}

}  // namespace linetls::net::tcp
