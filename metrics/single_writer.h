// Counters with one writer (the owning worker) and any number of readers (the scraper, the
// admin thread). The writer adds with a relaxed load and store, not fetch_add: on x86 that is a
// plain add with no lock prefix, and with one writer no increment can be lost. Readers load
// relaxed and may see a value a few increments old, which a scrape does not mind.
#pragma once

#include <atomic>
#include <cstdint>

namespace cutover::metrics {

inline void Bump(std::atomic<uint64_t>& counter, uint64_t by = 1) {
  counter.store(counter.load(std::memory_order_relaxed) + by, std::memory_order_relaxed);
}

// The same for a gauge that goes down as well (open connections).
inline void Bump(std::atomic<int64_t>& gauge, int64_t by) {
  gauge.store(gauge.load(std::memory_order_relaxed) + by, std::memory_order_relaxed);
}

}  // namespace cutover::metrics
