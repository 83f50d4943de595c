#include "proxy/deadline_timer.h"

namespace cutover::proxy {

void DeadlineTimer::Init(uv_loop_t* loop, void* owner, Expired on_expired) {
  uv_timer_init(loop, &handle_);
  handle_.data = this;
  owner_ = owner;
  on_expired_ = on_expired;
}

void DeadlineTimer::Set(uint64_t timeout_ms) {
  const uint64_t now = uv_now(handle_.loop);
  deadline_ = now + timeout_ms;
  if (deadline_ == 0) deadline_ = 1;  // 0 means "none"
  if (armed_for_ == 0 || armed_for_ > deadline_) {
    uv_timer_start(&handle_, &DeadlineTimer::OnFire, deadline_ - now, 0);
    armed_for_ = deadline_;
  }
}

void DeadlineTimer::OnFire(uv_timer_t* handle) {
  auto* self = static_cast<DeadlineTimer*>(handle->data);
  self->armed_for_ = 0;
  if (self->deadline_ == 0) return;
  const uint64_t now = uv_now(handle->loop);
  if (now < self->deadline_) {
    uv_timer_start(handle, &DeadlineTimer::OnFire, self->deadline_ - now, 0);
    self->armed_for_ = self->deadline_;
    return;
  }
  self->deadline_ = 0;
  self->on_expired_(self->owner_);
}

void DeadlineTimer::Close(uv_close_cb on_closed) {
  deadline_ = 0;
  handle_.data = owner_;
  uv_close(reinterpret_cast<uv_handle_t*>(&handle_), on_closed);
}

}  // namespace cutover::proxy
