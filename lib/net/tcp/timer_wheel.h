// A hashed timer wheel for one worker: O(1) schedule/cancel, intrusive nodes.
//
// Timers live inside the objects they serve (a TCB has its RTO, delayed-ACK, keepalive and
// TIME_WAIT nodes), so scheduling never allocates. A node waits in the slot of its expiry
// tick (tick = expires_ns / tick_ns, slot = tick mod slots); a timer further out than the
// wheel's span shares a slot with nearer ones and is simply passed over, untouched, each
// time that slot comes round before it is due. It never fires early.
//
// advance(now) fires exactly the timers with expires_ns <= now, in expiry order (equal
// expiry: in the order they were scheduled). It visits each slot between the last advance
// and now at most once, skipping empty slots through a bitmap, so a jump of hours costs
// O(slots / 64 + armed), not O(ticks). A cached lower bound on the next expiry makes an
// advance() before anything is due a single compare, so the worker may call it every
// iteration.
#pragma once

#include <cstdint>
#include <vector>

namespace linetls::net::tcp {

struct TimerNode {
  TimerNode* prev = nullptr;
  TimerNode* next = nullptr;
  uint64_t expires_ns = 0;
  bool armed() const noexcept { return prev != nullptr; }
};

class TimerWheel {
 public:
  // slots must be a power of two; resolution tick_ns. Time starts at now_ns.
  TimerWheel(uint64_t now_ns, uint64_t tick_ns = 1000000, uint32_t slots = 4096);
  ~TimerWheel();  // unlinks (does not fire) whatever is still armed
  TimerWheel(const TimerWheel&) = delete;
  TimerWheel& operator=(const TimerWheel&) = delete;

  // Arms n to fire at expires_ns (re-arms if already armed). A time in the past fires at
  // the next advance(). A node must be cancelled (or fired) before its memory goes away.
  void schedule(TimerNode* n, uint64_t expires_ns) noexcept;
  // Disarms n; a no-op when it is not armed.
  void cancel(TimerNode* n) noexcept;

  // Fires every timer due at or before now_ns: fire(TimerNode*) is called with the node
  // already disarmed, so it may re-arm it or free its owner; it may also schedule or
  // cancel other nodes (a node cancelled before its turn does not fire). Timers armed by
  // fire() fire at a later advance(), even when already due. Not re-entrant: fire() must
  // not call advance(). Returns how many fired.
  template <typename F>
  uint32_t advance(uint64_t now_ns, F&& fire) noexcept;

  // A time at or before which the next timer is due (UINT64_MAX when none is armed). It
  // may be early (a slot holding only far-future timers), never late.
  uint64_t next_expiry_ns() const noexcept {
    return num_armed_ == 0 ? UINT64_MAX : lower_bound_ns_;
  }
  uint32_t num_armed() const noexcept { return num_armed_; }

 private:
  // Moves every node due at or before now_ns into due_, sorted by expiry, and recomputes
  // lower_bound_ns_ for what stays in the wheel.
  void collect(uint64_t now_ns) noexcept;
  // Moves the due nodes of one slot to the tail of due_; clears the slot's bit if empty.
  void collect_slot(uint32_t slot, uint64_t now_ns) noexcept;
  void sort_due() noexcept;
  uint64_t compute_lower_bound() noexcept;
  static void link_tail(TimerNode* head, TimerNode* n) noexcept;
  static void unlink(TimerNode* n) noexcept;

  uint64_t tick_ns_;
  uint64_t current_tick_;  // every armed node's slot tick is >= this
  uint32_t mask_;
  std::vector<TimerNode> slots_;          // list heads (sentinels)
  std::vector<uint64_t> occupied_;        // one bit per slot: set while the slot may be non-empty
  TimerNode due_;                         // collected by advance(), not fired yet (still armed)
  uint64_t lower_bound_ns_ = UINT64_MAX;  // no armed node expires before this
  uint32_t num_armed_ = 0;
};

template <typename F>
uint32_t TimerWheel::advance(uint64_t now_ns, F&& fire) noexcept {
  if (now_ns < lower_bound_ns_) {
    return 0;
  }
  collect(now_ns);
  uint32_t fired = 0;
  while (due_.next != &due_) {
    TimerNode* n = due_.next;
    unlink(n);  // disarmed: prev/next null
    num_armed_--;
    fire(n);
    fired++;
  }
  return fired;
}

}  // namespace linetls::net::tcp
