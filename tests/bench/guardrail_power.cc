// Measures the guardrail verdicts on synthetic traffic (tests/unit/support/synthetic_traffic.h):
// false breaches of healthy candidates, how fast broken ones are caught, how often ones
// within budget are rolled back, and what one evaluation costs. Not a test: it prints
// figures for docs and reviews. Build: ninja -C build tests/bench_guardrail_power; run:
// build/tests/bench_guardrail_power [runs per detection scenario, default 1000].
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "routing/guardrail.h"
#include "tests/unit/support/synthetic_traffic.h"

namespace cutover::testing {
namespace {

using routing::EvaluateGuardrails;
using routing::GuardrailSpec;

constexpr uint64_t kSeed = 20261125;

PoolTraffic Pool(uint64_t rps, double error_rate, double scale = 1, double sigma = 0.6) {
  PoolTraffic traffic;
  traffic.requests_per_second = rps;
  traffic.error_rate = error_rate;
  traffic.scale = scale;
  traffic.sigma = sigma;
  return traffic;
}

// Independent windows of `seconds`: how many breach.
int BreachesInWindows(const GuardrailSpec& spec, const PoolTraffic& baseline,
                      const PoolTraffic& candidate, uint64_t seconds, int windows, uint64_t seed) {
  TrafficGenerator generator(seed);
  int breaches = 0;
  for (int i = 0; i < windows; ++i) {
    const PoolCounts b = generator.Draw(baseline, seconds);
    const PoolCounts c = generator.Draw(candidate, seconds);
    if (EvaluateGuardrails(spec, kBoundsUs, b.Sample(), c.Sample()).breach()) ++breaches;
  }
  return breaches;
}

// One long stream evaluated every second over a sliding window: how many evaluations breach.
int BreachesInStream(const GuardrailSpec& spec, const PoolTraffic& baseline,
                     const PoolTraffic& candidate, int seconds, uint64_t seed) {
  TrafficGenerator generator(seed);
  StreamWindow baseline_window(30);
  StreamWindow candidate_window(30);
  int breaches = 0;
  for (int second = 1; second <= seconds; ++second) {
    baseline_window.Push(generator.Draw(baseline));
    candidate_window.Push(generator.Draw(candidate));
    const PoolCounts b = baseline_window.Sum();
    const PoolCounts c = candidate_window.Sum();
    if (EvaluateGuardrails(spec, kBoundsUs, b.Sample(), c.Sample()).breach()) ++breaches;
  }
  return breaches;
}

void Detection(const char* name, const GuardrailSpec& spec, const PoolTraffic& baseline,
               const PoolTraffic& candidate, int runs) {
  std::vector<int> seconds;
  int missed = 0;
  for (int run = 0; run < runs; ++run) {
    const int second = FirstBreachSecond(spec, baseline, candidate, kSeed + run, 30, 120);
    if (second == 0) {
      ++missed;
    } else {
      seconds.push_back(second);
    }
  }
  std::sort(seconds.begin(), seconds.end());
  const auto within = [&](int limit) {
    return 100.0 *
           static_cast<double>(
               std::count_if(seconds.begin(), seconds.end(), [&](int s) { return s <= limit; })) /
           runs;
  };
  const auto at = [&](double share) {
    const auto index = static_cast<std::size_t>(share * runs);
    return index < seconds.size() ? std::to_string(seconds[index]) : std::string(">120");
  };
  std::printf(
      "%-44s first breach: <=5 s %5.1f%%  <=10 s %5.1f%%  <=30 s %5.1f%%  median %s s"
      "  p90 %s s  none in 120 s: %d/%d  (seeds %llu..%llu)\n",
      name, within(5), within(10), within(30), at(0.5).c_str(), at(0.9).c_str(), missed, runs,
      static_cast<unsigned long long>(kSeed), static_cast<unsigned long long>(kSeed + runs - 1));
}

void Main(int runs) {
  const GuardrailSpec spec;
  std::printf(
      "defaults: min_requests %llu, increase %g, latency q %g ratio %g, false_alarm %g, "
      "budget_false_alarm %g\n\n",
      static_cast<unsigned long long>(spec.min_requests), spec.max_error_rate_increase,
      spec.latency_quantile, spec.max_latency_ratio, spec.false_alarm, spec.budget_false_alarm);

  std::printf("A/A, independent 30 s windows, 0.1%% errors, lognormal p50 20 ms sigma 0.6:\n");
  const PoolTraffic base90 = Pool(180, 0.001);
  const PoolTraffic cand10 = Pool(20, 0.001);
  const PoolTraffic base99 = Pool(198, 0.001);
  const PoolTraffic cand1 = Pool(2, 0.001);
  GuardrailSpec no_budget = spec;
  no_budget.max_error_rate_increase = 0;
  no_budget.max_latency_ratio = 1;
  for (const auto& [name, s] : {std::pair{"default spec", spec}, {"zero budgets", no_budget}}) {
    std::printf("  %-14s 10%% canary: %d/10000 breaches; 1%% canary: %d/10000 (seeds %llu, %llu)\n",
                name, BreachesInWindows(s, base90, cand10, 30, 10000, kSeed),
                BreachesInWindows(s, base99, cand1, 30, 10000, kSeed + 1),
                static_cast<unsigned long long>(kSeed), static_cast<unsigned long long>(kSeed + 1));
  }
  std::printf("A/A, one stream evaluated every second for 10000 s (30 s window):\n");
  for (const auto& [name, s] : {std::pair{"default spec", spec}, {"zero budgets", no_budget}}) {
    std::printf("  %-14s 10%% canary: %d breaching evaluations; 1%% canary: %d\n", name,
                BreachesInStream(s, base90, cand10, 10000, kSeed + 2),
                BreachesInStream(s, base99, cand1, 10000, kSeed + 3));
  }

  std::printf("\nDetection, 200 req/s overall, window growing 1 s at a time to 30 s, %d runs:\n",
              runs);
  Detection("errors 5% vs 0.1%, 10% canary", spec, base90, Pool(20, 0.05), runs);
  Detection("errors 3% vs 0.1%, 1% canary", spec, base99, Pool(2, 0.03), runs);
  Detection("errors 3% vs 0.1%, 10% canary", spec, base90, Pool(20, 0.03), runs);
  GuardrailSpec with_ratio = spec;
  with_ratio.max_error_rate_ratio = 2;
  Detection("errors 5% vs 0.1%, 10% canary, ratio 2", with_ratio, base90, Pool(20, 0.05), runs);
  Detection("latency 2x, 10% canary, sigma 0.6", spec, base90, Pool(20, 0.001, 2), runs);
  Detection("latency 2x, 10% canary, sigma 0.3", spec, Pool(180, 0.001, 1, 0.3),
            Pool(20, 0.001, 2, 0.3), runs);
  Detection("latency 2x, 10% canary, sigma 1.0", spec, Pool(180, 0.001, 1, 1.0),
            Pool(20, 0.001, 2, 1.0), runs);
  Detection("latency 1.3x, 10% canary, sigma 0.6", spec, base90, Pool(20, 0.001, 1.3), runs);
  Detection("latency p99 2x by tail only (sigma 0.9)", spec, base90, Pool(20, 0.001, 1, 0.9), runs);
  Detection("latency 2x, 1% canary, sigma 0.6", spec, base99, Pool(2, 0.001, 2), runs);

  std::printf("\nWithin budget, breaching evaluations in one 10000 s stream (30 s window):\n");
  std::printf("  errors 0.6%% vs 0.1%% (half the budget), 10%% canary: %d\n",
              BreachesInStream(spec, base90, Pool(20, 0.006), 10000, kSeed + 4));
  std::printf("  errors 1.1%% vs 0.1%% (at the budget), 10%% canary: %d\n",
              BreachesInStream(spec, base90, Pool(20, 0.011), 10000, kSeed + 5));
  std::printf("  errors 0.8%% vs 0.1%%, 10%% canary: %d\n",
              BreachesInStream(spec, base90, Pool(20, 0.008), 10000, kSeed + 8));
  std::printf("  latency 1.2x, 10%% canary: %d\n",
              BreachesInStream(spec, base90, Pool(20, 0.001, 1.2), 10000, kSeed + 6));
  std::printf("  latency 1.3x, 10%% canary: %d\n",
              BreachesInStream(spec, base90, Pool(20, 0.001, 1.3), 10000, kSeed + 9));
  std::printf("  latency 1.5x (at the budget), 10%% canary: %d\n",
              BreachesInStream(spec, base90, Pool(20, 0.001, 1.5), 10000, kSeed + 7));

  TrafficGenerator generator(kSeed);
  const PoolCounts b = generator.Draw(base90, 30);
  const PoolCounts c = generator.Draw(Pool(20, 0.01, 1.4), 30);
  constexpr int kEvaluations = 20000;
  int breaches = 0;
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < kEvaluations; ++i) {
    breaches += EvaluateGuardrails(spec, kBoundsUs, b.Sample(), c.Sample()).breach() ? 1 : 0;
  }
  const std::chrono::duration<double, std::micro> took = std::chrono::steady_clock::now() - start;
  std::printf("\none evaluation (30 s window, 6000 requests): %.2f us (%d)\n",
              took.count() / kEvaluations, breaches);
}

}  // namespace
}  // namespace cutover::testing

int main(int argc, char** argv) {
  cutover::testing::Main(argc > 1 ? std::atoi(argv[1]) : 1000);
  return 0;
}
