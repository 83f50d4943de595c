// How the admin thread learns that every worker has switched to a published snapshot
// (issue 4: a change is answered only once all workers run it). Workers call Notify() after
// they store their applied version (and when their loop ends); the publisher waits for its
// own condition over the workers' atomics. The mutex is taken once per snapshot switch, never
// per request.
//
// Ownership: the Server owns it; workers hold a plain pointer for their lifetime.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>

namespace cutover::proxy {

class SwitchSignal {
 public:
  // Any thread, after the state `done` reads has been stored.
  void Notify() {
    // Taking the lock orders this wake-up after a waiter's check of `done`: no lost wake-up.
    { std::lock_guard<std::mutex> lock(mutex_); }
    changed_.notify_all();
  }

  // True once `done()` holds; false if `deadline` passed first.
  template <typename Done>
  bool WaitUntil(Done done, std::chrono::steady_clock::time_point deadline) {
    std::unique_lock<std::mutex> lock(mutex_);
    return changed_.wait_until(lock, deadline, done);
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
};

}  // namespace cutover::proxy
