#include "metrics/sliding_window.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

namespace cutover::metrics {
namespace {

// Small ring so the tests can walk round it: 5 slots of 1 s.
constexpr int64_t kSlotMs = 1'000;
constexpr std::size_t kSlots = 5;
constexpr int64_t kWholeRing = 1'000'000;

TEST(SlidingWindow, CountsByStatusClassInTheWindow) {
  SlidingWindow window(kSlotMs, kSlots);
  window.Record(100, 200, 1'000);
  window.Record(1'500, 503, 2'000);
  window.Record(1'600, 0, 3'000);
  const WindowSnapshot read = window.Read(1'900, kWholeRing);
  EXPECT_EQ(read.requests_by_class[2], 1u);
  EXPECT_EQ(read.requests_by_class[5], 1u);
  EXPECT_EQ(read.requests_by_class[0], 1u);
  EXPECT_EQ(read.Requests(), 3u);
  EXPECT_EQ(read.covered_ms, 1'900);  // slot 0 starts at 0
  EXPECT_EQ(read.latency.count(), 3u);
  EXPECT_EQ(read.latency.bucket(1), 1u);  // 1 ms
  EXPECT_EQ(read.latency.bucket(2), 1u);  // 2 ms
  EXPECT_EQ(read.latency.bucket(3), 1u);  // 3 ms
  EXPECT_EQ(read.latency.sum_us(), 0u);   // slots keep counts only
}

TEST(SlidingWindow, ErrorRateLeavesOutRequestsWithoutStatus) {
  SlidingWindow window(kSlotMs, kSlots);
  EXPECT_EQ(window.Read(0, kWholeRing).ErrorRate(), 0.0);
  window.Record(10, 200, 1);
  window.Record(10, 500, 1);
  window.Record(10, 0, 1);
  window.Record(10, 404, 1);
  EXPECT_DOUBLE_EQ(window.Read(10, kWholeRing).ErrorRate(), 1.0 / 3.0);
  SlidingWindow aborts_only(kSlotMs, kSlots);
  aborts_only.Record(10, 0, 1);
  EXPECT_EQ(aborts_only.Read(10, kWholeRing).ErrorRate(), 0.0);
}

TEST(SlidingWindow, RequestsPerSecondOverTheCoveredSpan) {
  SlidingWindow window(kSlotMs, kSlots);
  for (int i = 0; i < 8; ++i) window.Record(1'000 + i * 100, 200, 1);
  const WindowSnapshot read = window.Read(2'000, kWholeRing);  // slots 2, 1, 0
  EXPECT_EQ(read.covered_ms, 2'000);
  EXPECT_DOUBLE_EQ(read.RequestsPerSecond(), 4.0);
  EXPECT_EQ(window.Read(0, kWholeRing).RequestsPerSecond(), 0.0);  // nothing covered
}

TEST(SlidingWindow, CountsDropOutOnceTheirSlotLeavesTheWindow) {
  SlidingWindow window(kSlotMs, kSlots);
  for (int i = 0; i < 3; ++i) window.Record(1'200, 200, 1);  // slot 1 starts at 1000
  EXPECT_EQ(window.Read(1'900, 5'000).Requests(), 3u);
  // The window start 999 is before slot 1's start: still in.
  const WindowSnapshot edge = window.Read(5'999, 5'000);
  EXPECT_EQ(edge.Requests(), 3u);
  EXPECT_EQ(edge.covered_ms, 4'999);
  // One millisecond later slot 1 starts before the window: out.
  EXPECT_EQ(window.Read(6'000, 5'000).Requests(), 0u);
  // A shorter window drops it sooner.
  EXPECT_EQ(window.Read(3'500, 2'000).Requests(), 0u);
  EXPECT_EQ(window.Read(3'000, 2'000).Requests(), 3u);
}

TEST(SlidingWindow, ReusedSlotStartsEmpty) {
  SlidingWindow window(kSlotMs, kSlots);
  for (int i = 0; i < 3; ++i) window.Record(1'200, 200, 1);  // slot index 1, epoch 1
  window.Record(6'200, 500, 1);                              // slot index 1, epoch 6
  const WindowSnapshot read = window.Read(6'300, kWholeRing);
  EXPECT_EQ(read.Requests(), 1u);
  EXPECT_EQ(read.requests_by_class[5], 1u);
  EXPECT_EQ(read.latency.count(), 1u);
}

TEST(SlidingWindow, JumpLongerThanTheRingClearsEverything) {
  SlidingWindow window(kSlotMs, kSlots);
  for (int64_t t = 0; t < 5'000; t += 250) window.Record(t, 200, 1);
  EXPECT_EQ(window.Read(4'999, kWholeRing).Requests(), 20u);
  // A reader alone sees the ring empty once it has passed...
  EXPECT_EQ(window.Read(100'000, kWholeRing).Requests(), 0u);
  // ...and the writer's next record after the jump is the only one left.
  window.Record(100'000, 200, 1);
  const WindowSnapshot read = window.Read(100'000, kWholeRing);
  EXPECT_EQ(read.Requests(), 1u);
  EXPECT_EQ(read.covered_ms, 4'000);  // the whole ring: slots 96..100
}

TEST(SlidingWindow, WindowShorterThanASlotReadsTheCurrentSlot) {
  SlidingWindow window(kSlotMs, kSlots);
  window.Record(1'900, 200, 1);  // previous slot
  window.Record(2'100, 200, 1);
  window.Record(2'900, 500, 1);
  const WindowSnapshot read = window.Read(2'950, 10);
  EXPECT_EQ(read.Requests(), 2u);
  EXPECT_EQ(read.covered_ms, 950);
  EXPECT_EQ(window.Read(2'950, 0).Requests(), 2u);
}

TEST(SlidingWindow, ClockSteppingBackCountsInTheCurrentSlot) {
  SlidingWindow window(kSlotMs, kSlots);
  window.Record(5'000, 200, 1);
  window.Record(3'000, 200, 1);
  EXPECT_EQ(window.Read(5'500, 500).Requests(), 2u);
  EXPECT_EQ(window.Read(3'500, kWholeRing).Requests(), 0u);  // slot 3 was never written
}

TEST(SlidingWindow, MergeSumsWorkersShards) {
  SlidingWindow a(kSlotMs, kSlots), b(kSlotMs, kSlots);
  a.Record(1'000, 200, 400);
  a.Record(1'500, 503, 30'000);
  b.Record(500, 200, 700);
  b.Record(1'700, 500, 30'000);
  b.Record(1'800, 0, 700);
  WindowSnapshot merged = a.Read(1'900, 1'000);  // slot 1 only: slot 0 starts before 900
  merged.Merge(b.Read(1'900, kWholeRing));
  EXPECT_EQ(merged.Requests(), 5u);
  EXPECT_EQ(merged.requests_by_class[2], 2u);
  EXPECT_EQ(merged.requests_by_class[5], 2u);
  EXPECT_EQ(merged.requests_by_class[0], 1u);
  EXPECT_DOUBLE_EQ(merged.ErrorRate(), 0.5);
  EXPECT_EQ(merged.covered_ms, 1'900);  // the longer of 900 and 1900
  EXPECT_EQ(merged.latency.count(), 5u);
  EXPECT_EQ(merged.latency.bucket(0), 1u);
  EXPECT_EQ(merged.latency.bucket(1), 2u);
  EXPECT_EQ(merged.latency.bucket(6), 2u);  // (25 ms, 50 ms]
  EXPECT_DOUBLE_EQ(merged.latency.Quantile(1.0), 0.05);
}

TEST(SlidingWindow, SeriesHasOneSnapshotPerSlotOldestFirst) {
  SlidingWindow window(kSlotMs, kSlots);
  window.Record(100, 200, 1'000);
  window.Record(2'100, 500, 1'000);
  window.Record(2'200, 200, 1'000);
  std::vector<WindowSnapshot> series;
  window.ReadSeries(3'400, kWholeRing, &series);  // slots 0..3, 3 partial
  ASSERT_EQ(series.size(), 4u);
  EXPECT_EQ(series[0].Requests(), 1u);
  EXPECT_EQ(series[1].Requests(), 0u);  // idle slot: zeroes, still present
  EXPECT_EQ(series[2].Requests(), 2u);
  EXPECT_DOUBLE_EQ(series[2].ErrorRate(), 0.5);
  EXPECT_EQ(series[3].Requests(), 0u);
  EXPECT_EQ(series[0].covered_ms, kSlotMs);
  EXPECT_EQ(series[3].covered_ms, 400);  // the current slot so far
  // The series sums to what Read() sees over the same span.
  uint64_t total = 0;
  for (const WindowSnapshot& slot : series) total += slot.Requests();
  EXPECT_EQ(total, window.Read(3'400, kWholeRing).Requests());
}

TEST(SlidingWindow, SeriesKeepsTheWindowAndTheRingBounds) {
  SlidingWindow window(kSlotMs, kSlots);
  for (int64_t t = 0; t < 9'000; t += 500) window.Record(t, 200, 1);
  std::vector<WindowSnapshot> series;
  window.ReadSeries(8'999, 2'000, &series);  // window start 6999: slots 7, 8
  ASSERT_EQ(series.size(), 2u);
  EXPECT_EQ(series[0].Requests(), 2u);
  std::vector<WindowSnapshot> whole_ring;
  window.ReadSeries(8'999, kWholeRing, &whole_ring);  // 5 slots, not 9
  ASSERT_EQ(whole_ring.size(), kSlots);
  for (const WindowSnapshot& slot : whole_ring) EXPECT_EQ(slot.Requests(), 2u);
}

TEST(SlidingWindow, SeriesOfSeveralShardsSumsSlotBySlot) {
  SlidingWindow a(kSlotMs, kSlots), b(kSlotMs, kSlots);
  a.Record(100, 200, 1);
  b.Record(200, 200, 1);
  b.Record(1'200, 503, 1);
  std::vector<WindowSnapshot> series;
  a.ReadSeries(1'500, kWholeRing, &series);
  b.ReadSeries(1'500, kWholeRing, &series);
  ASSERT_EQ(series.size(), 2u);
  EXPECT_EQ(series[0].Requests(), 2u);
  EXPECT_EQ(series[1].Requests(), 1u);
  EXPECT_EQ(series[1].requests_by_class[5], 1u);
  EXPECT_EQ(series[1].covered_ms, 500);
}

TEST(SlidingWindow, ReaderOnAnotherThreadSeesCountsOnlyGrow) {
  SlidingWindow window(kSlotMs, kSlots);
  constexpr uint64_t kRecords = 200'000;
  std::atomic<bool> done{false};
  std::thread writer([&] {
    for (uint64_t i = 0; i < kRecords; ++i) window.Record(500, 200, i % 20'000);
    done.store(true, std::memory_order_release);
  });
  uint64_t last = 0;
  bool grew_only = true;
  while (!done.load(std::memory_order_acquire)) {
    const uint64_t now = window.Read(600, kWholeRing).Requests();
    grew_only = grew_only && now >= last && now <= kRecords;
    last = now;
  }
  writer.join();
  EXPECT_TRUE(grew_only);
  EXPECT_EQ(window.Read(600, kWholeRing).Requests(), kRecords);
  EXPECT_EQ(window.Read(600, kWholeRing).latency.count(), kRecords);
}

}  // namespace
}  // namespace cutover::metrics
