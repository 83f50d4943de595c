// Guardrail verdicts (DESIGN §5, issue 8): is the candidate pool worse than the baseline by
// more than its budget, judged from one window of both pools' counts? Pure: the caller reads
// the sliding windows, adapts them to PoolSample (routing/ does not include metrics/), and
// acts on the verdict; the same counts always give the same verdict. No clock is read and
// none is needed: the verdict depends on the counts only, the window's span is the caller's
// choice, and the audit entry carries the time. An evaluation takes microseconds.
//
// Why a test and not a threshold. On a 1 % canary a window holds tens of candidate requests,
// so "candidate error rate > baseline + 1 point" fires on a single unlucky error. Every rule
// therefore asks "how likely is a count at least this bad if the candidate were fine?", with
// exact small-count tails (routing/guardrail_stats.h), and breaches only when that is
// unlikely.
//
// Two questions, two bounds. A comparative rule (error_rate, latency) breaches only when both
// of these tests reject:
//   1. "worse at all": the candidate is no worse than the baseline. Tested exactly, with no
//      nuisance parameter: Fisher's exact test on how the two pools split the errors (or
//      the requests slower than a latency bound) given their traffic. Rejected at
//      `false_alarm`. This bounds the false breaches of a healthy candidate, one that
//      behaves like the baseline: at most `false_alarm` per evaluation and rule, whatever
//      the baseline's own rate, with no model assumption.
//   2. "over budget": the candidate is within its budget (baseline + increase, baseline x
//      ratio, q-quantile x ratio). Rejected at `budget_false_alarm`. This bounds how often a
//      candidate worse than the baseline but within its budget is rolled back by noise: at
//      most that often at the very edge of the budget, far less inside it.
// Why not only test 2, at the strict level? Because then what must be told apart is "over
// budget" from "at budget", a small effect, which a canary's counts settle only slowly: 5 %
// errors against an allowed 1.1 % is p ~ 5e-3 after 100 requests even with the baseline's
// rate known, and a 2x slower p99 against an allowed 1.5x is p ~ 2e-2 after 200 (lognormal,
// sigma 0.65): at 1e-4 neither would be caught for tens of seconds, the second hardly ever
// at 20 req/s. Telling "broken" from "like the baseline" is a large effect, so test 1 can
// carry the strict level and still be fast; test 2 only has to keep within-budget
// candidates safe, for which a looser level suffices.
//
// Errors, test 2: one-sided exact binomial test of the candidate's errors against the
// allowed rate min(b + increase, b x ratio), b being the exact (Clopper-Pearson) upper
// confidence bound of the baseline's rate at budget_false_alarm / 2, the other half going
// to the test (Berger & Boos 1994: a p-value maximised over a confidence set for the
// nuisance parameter, plus that set's level, is valid). The bound, not the estimate, so a
// lucky-clean baseline cannot make a candidate look over budget; it stays above 0 for a
// baseline without errors, so the budget always allows something.
//
// Latency. Histograms have 2-2.5x wide buckets, and counts are exact only above a bound.
//   - Test 1 counts requests slower than one bound: the largest bound above which the two
//     pools together have at least (1 - q) of their requests. Choosing it from the pooled
//     histogram keeps the test exact (if the pools are alike, each request is equally likely
//     to be the candidate's, whatever the pooled counts); chosen from the baseline alone it
//     would sit where the baseline happened to be fast, and false alarms would rise.
//   - Test 2: is the candidate's share slower than a bound T more than the baseline's share
//     slower than T / ratio? That is, is the candidate's latency at that tail quantile more
//     than `ratio` times the baseline's? T is the bound with T / ratio nearest (in log) the
//     baseline's q-quantile, so the quantile compared is near q. T / ratio falls inside a
//     baseline bucket, so the baseline's count above it comes from BucketedLatency's
//     lognormal-in-the-bucket model; the two counts then go through the same split test as
//     test 1 (conditional Poisson, the baseline's count fractional), which accounts for the
//     baseline's own noise without a confidence bound. The model is an assumption: test 2's
//     bound holds as far as it does (measured at the edge, 1.5x: 3.8 % of evaluations).
//     A baseline q-quantile past the last bound leaves no ratio to judge: no latency breach.
//   - The ceiling counts requests slower than the first bound at or above it: a ceiling
//     between two bounds acts as the next bound up (conservative; put ceilings on bounds).
//   Without histograms, with mismatched ones or with fewer than min_requests in either, the
//   latency rules are not judged.
//
// Ceilings (error_rate_ceiling, latency_ceiling) compare the candidate with a fixed number,
// so there is no baseline to estimate: one exact one-sided binomial test at `false_alarm`
// against the ceiling itself (a q-quantile over L means more than 1 - q of the requests
// slower than L); a candidate exactly at its ceiling breaches at most that often.
//
// Defaults. false_alarm = 1e-4 bounds a healthy candidate's false breaches by 2e-4 per
// evaluation (two comparative rules; ceilings are off by default): fewer than one in the
// 1000 evaluations of the acceptance test even if each were an independent chance, and
// evaluations every second over 30 s windows overlap, so an hour holds far fewer independent
// chances than its 3600 evaluations. Test 2 must fail too, which a healthy candidate almost
// never does. Measured (tests/bench/guardrail_power.cc): 0 in 10,000 windows at 10 % and 1 %
// canaries, and with zero budgets, where test 1 decides alone, 1 and 2. Each factor of 10
// lower costs roughly one more error or a few more slow requests before a breach.
// budget_false_alarm = 0.05 keeps a candidate at the edge of its budget under 5 % of
// evaluations (measured: 0.65 % at +1 point of errors, 3.8 % at 1.5x latency) and one inside
// it far under (0 in 10,000 evaluations at half the error budget, 1 at 1.3x latency).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace cutover::routing {

inline constexpr std::string_view kRuleErrorRate = "error_rate";
inline constexpr std::string_view kRuleErrorRateCeiling = "error_rate_ceiling";
inline constexpr std::string_view kRuleLatency = "latency";
inline constexpr std::string_view kRuleLatencyCeiling = "latency_ceiling";

// One pool's window.
struct PoolSample {
  uint64_t requests = 0;  // answered requests
  uint64_t errors = 0;    // of those, 5xx and upstream failures
  // Requests per latency bucket over the bounds given to EvaluateGuardrails, the last bucket
  // +Inf; empty when there is no histogram.
  std::span<const uint64_t> latency_buckets;
};

// [guardrails] (DESIGN §10). 0 switches a ceiling or a ratio off.
struct GuardrailSpec {
  uint64_t min_requests = 50;             // per pool, before any verdict
  double max_error_rate_increase = 0.01;  // candidate rate - baseline rate, absolute
  double max_error_rate_ratio = 0;        // candidate rate / baseline rate, e.g. 2
  double max_error_rate = 0;              // ceiling on the candidate's rate, e.g. 0.05
  double latency_quantile = 0.99;         // q
  double max_latency_ratio = 1.5;         // candidate q-quantile / baseline q-quantile
  double max_latency_ms = 0;              // ceiling on the candidate's q-quantile
  // The latency ratio rule also needs the candidate's q-quantile this many ms above the
  // baseline's (estimates): sub-millisecond services differ by ratios nobody cares about.
  double min_latency_increase_ms = 5;
  double false_alarm = 1e-4;         // per evaluation and rule, for a healthy candidate
  double budget_false_alarm = 0.05;  // per evaluation, for one at its budget's edge
};

// Empty when the spec is usable, else what is wrong with which field.
std::string ValidateGuardrailSpec(const GuardrailSpec& spec);

// The figures behind the error rules. p-values are 1 for a test not run.
struct ErrorFigures {
  uint64_t baseline_requests = 0;
  uint64_t baseline_errors = 0;
  uint64_t candidate_requests = 0;
  uint64_t candidate_errors = 0;
  double baseline_rate = 0;
  double candidate_rate = 0;
  double p_worse = 1;         // test 1: candidate no worse than baseline
  double allowed_rate = 0;    // the budget applied to the baseline rate's upper bound
  double p_over_budget = 1;   // test 2: candidate within budget
  double p_over_ceiling = 1;  // candidate at or below max_error_rate
};

// The figures behind the latency rules; bounds in milliseconds.
struct LatencyFigures {
  bool evaluated = false;  // both histograms present, alike, with min_requests each
  uint64_t baseline_count = 0;
  uint64_t candidate_count = 0;
  double baseline_quantile_ms = 0;  // estimated q-quantiles, for people reading the verdict
  double candidate_quantile_ms = 0;
  double slow_bound_ms = 0;  // test 1: requests slower than this
  uint64_t baseline_slow = 0;
  uint64_t candidate_slow = 0;
  double p_slower = 1;
  double budget_bound_ms = 0;  // test 2: candidate requests slower than this...
  uint64_t candidate_over_budget_bound = 0;
  double allowed_share = 0;  // ... against the baseline's share slower than it / ratio
  double p_over_budget = 1;
  double ceiling_bound_ms = 0;  // ceiling: candidate requests slower than this
  uint64_t candidate_over_ceiling = 0;
  double p_over_ceiling = 1;
};

struct Verdict {
  enum class Kind { kHealthy, kBreach, kInsufficientData };

  Kind kind = Kind::kInsufficientData;
  std::string rule;  // the breached rule (kRule...), empty unless kBreach
  ErrorFigures errors;
  LatencyFigures latency;
  GuardrailSpec spec;  // what it was judged against, for Explain()

  bool breach() const { return kind == Kind::kBreach; }
  // One line for the audit log and the logs: the verdict, the rule, the figures.
  std::string Explain() const;
};

// Judges the candidate against the baseline. kInsufficientData when either pool has fewer
// than max(min_requests, 1) requests: never a breach. Otherwise kBreach naming the first
// breached rule in the order error_rate, error_rate_ceiling, latency, latency_ceiling, or
// kHealthy. `bucket_bounds_us` are the finite latency bounds of both pools' histograms.
Verdict EvaluateGuardrails(const GuardrailSpec& spec, std::span<const uint64_t> bucket_bounds_us,
                           const PoolSample& baseline, const PoolSample& candidate);

}  // namespace cutover::routing
