// Synthetic windows for the guardrail tests and tests/bench/guardrail_power.cc: per pool, a
// fixed number of requests per second, each an error with a fixed probability and with a
// lognormal latency, filed into the 14 latency buckets of metrics/latency_histogram.h.
// Deterministic for a seed: std::mt19937_64 is specified to the bit, and every draw is made
// here from its raw output (the std:: distributions differ between standard libraries).
#pragma once

#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <numbers>
#include <random>

#include "routing/guardrail.h"

namespace cutover::testing {

// The bounds of metrics::kLatencyBoundsUs (routing tests do not link metrics/).
inline constexpr std::array<uint64_t, 14> kBoundsUs = {
    500,     1'000,   2'500,   5'000,     10'000,    25'000,    50'000,
    100'000, 250'000, 500'000, 1'000'000, 2'500'000, 5'000'000, 10'000'000};

struct PoolTraffic {
  uint64_t requests_per_second = 0;
  double error_rate = 0;
  double median_ms = 20;
  double sigma = 0.6;  // of log(latency): p99 / p50 = exp(2.33 * sigma)
  double scale = 1;    // multiplies every latency: 2 = twice as slow everywhere
};

struct PoolCounts {
  uint64_t requests = 0;
  uint64_t errors = 0;
  std::array<uint64_t, kBoundsUs.size() + 1> buckets{};

  void Add(const PoolCounts& other) {
    requests += other.requests;
    errors += other.errors;
    for (std::size_t i = 0; i < buckets.size(); ++i) buckets[i] += other.buckets[i];
  }
  // A view for EvaluateGuardrails: valid while this PoolCounts lives and is not changed.
  routing::PoolSample Sample() const { return {requests, errors, buckets}; }
};

class TrafficGenerator {
 public:
  explicit TrafficGenerator(uint64_t seed) : random_(seed) {}

  // `seconds` of one pool's traffic.
  PoolCounts Draw(const PoolTraffic& traffic, uint64_t seconds = 1) {
    PoolCounts counts;
    const uint64_t requests = traffic.requests_per_second * seconds;
    for (uint64_t i = 0; i < requests; ++i) {
      ++counts.requests;
      if (Uniform() < traffic.error_rate) ++counts.errors;
      const double latency_us =
          traffic.median_ms * 1000 * traffic.scale * std::exp(traffic.sigma * StandardNormal());
      ++counts.buckets[Bucket(latency_us)];
    }
    return counts;
  }

 private:
  static std::size_t Bucket(double latency_us) {
    const auto us = static_cast<uint64_t>(std::llround(latency_us));
    std::size_t bucket = 0;
    while (bucket < kBoundsUs.size() && us > kBoundsUs[bucket]) ++bucket;
    return bucket;
  }
  // In (0, 1): 53 random bits, offset by half a step so log() never sees 0.
  double Uniform() { return (static_cast<double>(random_() >> 11) + 0.5) * 0x1p-53; }
  double StandardNormal() {  // Box-Muller, one value per pair
    return std::sqrt(-2 * std::log(Uniform())) * std::cos(2 * std::numbers::pi * Uniform());
  }

  std::mt19937_64 random_;
};

// The real loop's view: per-second counts, read over the last `window_seconds` each second.
class StreamWindow {
 public:
  explicit StreamWindow(std::size_t window_seconds) : window_seconds_(window_seconds) {}

  void Push(const PoolCounts& second) {
    seconds_.push_back(second);
    if (seconds_.size() > window_seconds_) seconds_.pop_front();
  }
  PoolCounts Sum() const {
    PoolCounts sum;
    for (const PoolCounts& second : seconds_) sum.Add(second);
    return sum;
  }

 private:
  std::size_t window_seconds_;
  std::deque<PoolCounts> seconds_;
};

// Evaluates once per simulated second as the window fills (and then slides); returns the
// second of the first breach, or 0 when none came within `max_seconds`.
inline int FirstBreachSecond(const routing::GuardrailSpec& spec, const PoolTraffic& baseline,
                             const PoolTraffic& candidate, uint64_t seed,
                             std::size_t window_seconds = 30, int max_seconds = 120) {
  TrafficGenerator generator(seed);
  StreamWindow baseline_window(window_seconds);
  StreamWindow candidate_window(window_seconds);
  for (int second = 1; second <= max_seconds; ++second) {
    baseline_window.Push(generator.Draw(baseline));
    candidate_window.Push(generator.Draw(candidate));
    const PoolCounts b = baseline_window.Sum();
    const PoolCounts c = candidate_window.Sum();
    if (routing::EvaluateGuardrails(spec, kBoundsUs, b.Sample(), c.Sample()).breach()) {
      return second;
    }
  }
  return 0;
}

}  // namespace cutover::testing
