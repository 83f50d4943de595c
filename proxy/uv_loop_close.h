// Winding down a libuv loop whose thread has ended (or never ran): close every handle still
// open, run the loop so their close callbacks fire (owners free themselves there), then close
// the loop. Handles that own their memory must have been closed by their owner before, with
// their own callback; this catches the rest, which need none.
#pragma once

#include <uv.h>

namespace cutover::proxy {

inline void CloseLoop(uv_loop_t* loop) {
  uv_walk(
      loop,
      [](uv_handle_t* handle, void*) {
        if (!uv_is_closing(handle)) uv_close(handle, nullptr);
      },
      nullptr);
  uv_run(loop, UV_RUN_DEFAULT);
  uv_loop_close(loop);
}

}  // namespace cutover::proxy
