// Turns libuv's C callbacks into member calls. Every owner of a libuv handle or request
// stores `this` in the handle's `data`; UvCallback<&Owner::OnEvent>::Call is then a valid
// libuv callback of the matching signature (the handle type is deduced from where it is
// passed). Keeps the casts in one place.
#pragma once

namespace cutover::proxy {

template <auto Method>
struct UvCallback;

template <typename Owner, typename Result, typename... Args, Result (Owner::*Method)(Args...)>
struct UvCallback<Method> {
  template <typename Handle>
  static Result Call(Handle* handle, Args... args) {
    return (static_cast<Owner*>(handle->data)->*Method)(args...);
  }
};

}  // namespace cutover::proxy
