// One deadline per connection on top of one uv_timer_t, re-armed lazily. Every request
// pushes a connection's deadlines later (header read, idle, upstream response); doing that
// with uv_timer_start costs a removal and an insertion in libuv's timer heap each time. Here
// moving a deadline later only stores a number: the armed timer fires at the old time, sees
// the new deadline and sleeps again. Only a deadline earlier than the armed one touches the
// heap. Times are the loop's clock (uv_now), in milliseconds.
//
// Ownership: embedded in the connection that owns it (never moves); the connection closes
// it with Close(), passing its own close callback, and is freed only after that callback.
// Worker thread only.
#pragma once

#include <uv.h>

#include <cstdint>

namespace cutover::proxy {

class DeadlineTimer {
 public:
  using Expired = void (*)(void* owner);

  DeadlineTimer() = default;
  DeadlineTimer(const DeadlineTimer&) = delete;
  DeadlineTimer& operator=(const DeadlineTimer&) = delete;

  void Init(uv_loop_t* loop, void* owner, Expired on_expired);
  // The deadline becomes now + timeout_ms (replacing any earlier or later one).
  void Set(uint64_t timeout_ms);
  void Clear() { deadline_ = 0; }
  bool active() const { return deadline_ != 0; }
  // Closes the handle; `on_closed` receives it with `data` set to the owner.
  void Close(uv_close_cb on_closed);

 private:
  static void OnFire(uv_timer_t* handle);

  uv_timer_t handle_;
  uint64_t deadline_ = 0;   // loop time; 0 = none
  uint64_t armed_for_ = 0;  // when the uv timer will fire; 0 = not armed
  void* owner_ = nullptr;
  Expired on_expired_ = nullptr;
};

}  // namespace cutover::proxy
