#include "metrics/sliding_window.h"

#include <algorithm>

#include "metrics/single_writer.h"

// ThreadSanitizer does not model std::atomic_thread_fence, and GCC refuses fences under
// -fsanitize=thread (-Wtsan). The fences below only order relaxed atomic accesses (every slot
// field is an atomic), so TSan has no plain access whose ordering it would misjudge: it can
// neither miss a race nor report a false one here. Elsewhere the warning stays on, so any
// other fence is looked at when it is written.
#if defined(__SANITIZE_THREAD__)
#pragma GCC diagnostic ignored "-Wtsan"
#endif

namespace cutover::metrics {
void WindowSnapshot::Merge(const WindowSnapshot& other) {
  for (std::size_t c = 0; c < kStatusClassCount; ++c) {
    requests_by_class[c] += other.requests_by_class[c];
  }
  latency.Merge(other.latency);
  covered_ms = std::max(covered_ms, other.covered_ms);
}

uint64_t WindowSnapshot::Requests() const {
  uint64_t total = 0;
  for (uint64_t n : requests_by_class) total += n;
  return total;
}

double WindowSnapshot::ErrorRate() const {
  const uint64_t answered = Requests() - requests_by_class[0];
  if (answered == 0) return 0;
  return static_cast<double>(requests_by_class[5]) / static_cast<double>(answered);
}

double WindowSnapshot::RequestsPerSecond() const {
  if (covered_ms <= 0) return 0;
  return static_cast<double>(Requests()) * 1000.0 / static_cast<double>(covered_ms);
}

SlidingWindow::SlidingWindow(int64_t slot_ms, std::size_t slot_count)
    : slot_ms_(std::max<int64_t>(slot_ms, 1)),
      slot_count_(std::max<std::size_t>(slot_count, 1)),
      slots_(std::make_unique<Slot[]>(slot_count_)) {}

void SlidingWindow::RecordInBucket(int64_t now_ms, uint16_t status, std::size_t latency_bucket) {
  // Most records fall in the slot of the one before: no division then. Slots are only ever
  // reused forward: a clock stepping back (now_ms below the slot) counts in the current one.
  if (now_ms >= next_slot_start_ms_ || current_slot_ == nullptr) {
    Rotate(std::max(std::max<int64_t>(now_ms, 0) / slot_ms_, current_epoch_));
  }
  Slot& slot = *current_slot_;
  Bump(slot.requests_by_class[StatusClass(status)]);
  Bump(slot.latency[latency_bucket]);
}

// Slots skipped over by a jump are left as they are: their epoch no longer matches any
// window a reader asks for, so they read as empty, and they are cleared here when the ring
// comes round to them. A jump longer than the ring thus empties it at no cost.
void SlidingWindow::Rotate(int64_t epoch) {
  Slot& slot = slots_[static_cast<std::size_t>(epoch) % slot_count_];
  current_epoch_ = epoch;
  current_slot_ = &slot;
  next_slot_start_ms_ = (epoch + 1) * slot_ms_;
  if (slot.epoch.load(std::memory_order_relaxed) == epoch) return;
  // Seqlock-style: a reader that saw the old epoch before and after its loads cannot have
  // read any of the zeroes below (release fence here, acquire fence in ReadSlot).
  slot.epoch.store(kNoEpoch, std::memory_order_relaxed);
  std::atomic_thread_fence(std::memory_order_release);
  for (auto& n : slot.requests_by_class) n.store(0, std::memory_order_relaxed);
  for (auto& n : slot.latency) n.store(0, std::memory_order_relaxed);
  slot.epoch.store(epoch, std::memory_order_release);
}

std::size_t SlidingWindow::SlotsInWindow(int64_t now_ms, int64_t window_ms) const {
  const int64_t oldest_start = now_ms - std::max<int64_t>(window_ms, 0);
  const int64_t current = now_ms / slot_ms_;
  std::size_t count = 1;  // the current slot, always
  while (count < slot_count_) {
    const int64_t epoch = current - static_cast<int64_t>(count);
    if (epoch < 0 || epoch * slot_ms_ < oldest_start) break;
    ++count;
  }
  return count;
}

WindowSnapshot SlidingWindow::Read(int64_t now_ms, int64_t window_ms) const {
  now_ms = std::max<int64_t>(now_ms, 0);
  const int64_t current = now_ms / slot_ms_;
  const std::size_t count = SlotsInWindow(now_ms, window_ms);
  WindowSnapshot snapshot;
  snapshot.covered_ms = now_ms - (current - static_cast<int64_t>(count - 1)) * slot_ms_;
  for (std::size_t i = 0; i < count; ++i) {
    const int64_t epoch = current - static_cast<int64_t>(i);
    ReadSlot(slots_[static_cast<std::size_t>(epoch) % slot_count_], epoch, snapshot);
  }
  return snapshot;
}

void SlidingWindow::ReadSeries(int64_t now_ms, int64_t window_ms,
                               std::vector<WindowSnapshot>* series) const {
  now_ms = std::max<int64_t>(now_ms, 0);
  const int64_t current = now_ms / slot_ms_;
  const std::size_t count = SlotsInWindow(now_ms, window_ms);
  series->resize(count);
  for (std::size_t i = 0; i < count; ++i) {
    const int64_t epoch = current - static_cast<int64_t>(count - 1 - i);
    WindowSnapshot& point = (*series)[i];
    point.covered_ms = std::min(slot_ms_, now_ms - epoch * slot_ms_);
    ReadSlot(slots_[static_cast<std::size_t>(epoch) % slot_count_], epoch, point);
  }
}

void SlidingWindow::ReadSlot(const Slot& slot, int64_t epoch, WindowSnapshot& into) const {
  if (slot.epoch.load(std::memory_order_acquire) != epoch) return;  // idle or reused slot
  WindowSnapshot read;
  for (std::size_t c = 0; c < kStatusClassCount; ++c) {
    read.requests_by_class[c] = slot.requests_by_class[c].load(std::memory_order_relaxed);
  }
  for (std::size_t b = 0; b < kLatencyBucketCount; ++b) {
    read.latency.Add(b, slot.latency[b].load(std::memory_order_relaxed));
  }
  std::atomic_thread_fence(std::memory_order_acquire);
  if (slot.epoch.load(std::memory_order_relaxed) != epoch) return;  // reused while we read
  into.Merge(read);
}

}  // namespace cutover::metrics
