#include "routing/guardrail.h"

#include <algorithm>
#include <cmath>
#include <cstdarg>
#include <cstdio>
#include <limits>
#include <utility>

#include "routing/bucketed_latency.h"
#include "routing/guardrail_stats.h"

namespace cutover::routing {
namespace {

struct Breaches {
  bool rate = false;
  bool ceiling = false;
};

double Share(uint64_t part, uint64_t whole) {
  return whole == 0 ? 0 : static_cast<double>(part) / static_cast<double>(whole);
}

// Test 2's baseline bound is taken at half the budget level, the other half left to the
// candidate's own test (Berger & Boos).
double BaselineBoundLevel(const GuardrailSpec& spec) {
  return spec.budget_false_alarm / 2;
}

ErrorFigures CountErrors(const PoolSample& baseline, const PoolSample& candidate) {
  ErrorFigures f;
  f.baseline_requests = baseline.requests;
  f.candidate_requests = candidate.requests;
  f.baseline_errors = std::min(baseline.errors, baseline.requests);
  f.candidate_errors = std::min(candidate.errors, candidate.requests);
  f.baseline_rate = Share(f.baseline_errors, f.baseline_requests);
  f.candidate_rate = Share(f.candidate_errors, f.candidate_requests);
  return f;
}

// Both pools have requests.
void JudgeErrors(const GuardrailSpec& spec, ErrorFigures* figures, Breaches* breaches) {
  ErrorFigures& f = *figures;
  // Test 1: of all the errors the two pools saw, does the candidate hold more than its
  // share of the traffic explains?
  f.p_worse = HypergeometricUpperTail(f.baseline_requests + f.candidate_requests,
                                      f.baseline_errors + f.candidate_errors, f.candidate_requests,
                                      f.candidate_errors);
  // Test 2: more errors than the budget allows over the baseline's rate, taken at its upper
  // confidence bound. The bound stays above 0 with a clean baseline, so the ratio budget
  // never allows nothing.
  const double gamma = BaselineBoundLevel(spec);
  const double baseline_bound = ClopperPearsonUpper(f.baseline_requests, f.baseline_errors, gamma);
  f.allowed_rate = std::min(1.0, baseline_bound + spec.max_error_rate_increase);
  if (spec.max_error_rate_ratio > 0) {
    f.allowed_rate = std::min(f.allowed_rate, baseline_bound * spec.max_error_rate_ratio);
  }
  f.p_over_budget = std::min(
      1.0, BinomialUpperTail(f.candidate_requests, f.allowed_rate, f.candidate_errors) + gamma);
  breaches->rate = f.p_worse <= spec.false_alarm && f.p_over_budget <= spec.budget_false_alarm;

  if (spec.max_error_rate > 0) {
    f.p_over_ceiling =
        BinomialUpperTail(f.candidate_requests, spec.max_error_rate, f.candidate_errors);
    breaches->ceiling = f.p_over_ceiling <= spec.false_alarm;
  }
}

double Ms(double us) {
  return us / 1000;
}

// Test 1's bound: the largest one above which the pools together have at least (1 - q) of
// their requests (the first bound when none has).
std::size_t SlowBound(const BucketedLatency& baseline, const BucketedLatency& candidate, double q) {
  const double tail = (1 - q) * static_cast<double>(baseline.total() + candidate.total());
  std::size_t chosen = 0;
  for (std::size_t bound = 0; bound < baseline.bound_count(); ++bound) {
    const uint64_t above = baseline.CountAbove(bound) + candidate.CountAbove(bound);
    if (static_cast<double>(above) >= tail) chosen = bound;
  }
  return chosen;
}

// Test 2's bound: the one whose value / ratio is nearest the baseline's quantile (in log).
std::size_t BudgetBound(const BucketedLatency& baseline, double baseline_quantile_us,
                        double ratio) {
  std::size_t chosen = 0;
  double best = std::numeric_limits<double>::infinity();
  for (std::size_t bound = 0; bound < baseline.bound_count(); ++bound) {
    const double distance = std::fabs(
        std::log(static_cast<double>(baseline.bound_us(bound)) / ratio / baseline_quantile_us));
    if (distance <= best) {
      best = distance;
      chosen = bound;
    }
  }
  return chosen;
}

void JudgeLatencyRatio(const GuardrailSpec& spec, const BucketedLatency& baseline,
                       const BucketedLatency& candidate, LatencyFigures* f, bool* breach) {
  const double q = spec.latency_quantile;
  const std::size_t slow = SlowBound(baseline, candidate, q);
  f->slow_bound_ms = Ms(static_cast<double>(baseline.bound_us(slow)));
  f->baseline_slow = baseline.CountAbove(slow);
  f->candidate_slow = candidate.CountAbove(slow);
  f->p_slower = HypergeometricUpperTail(baseline.total() + candidate.total(),
                                        f->baseline_slow + f->candidate_slow, candidate.total(),
                                        f->candidate_slow);

  bool beyond = false;
  const double baseline_quantile_us = baseline.QuantileUs(q, &beyond);
  // A baseline quantile past the last bound (or at 0) leaves nothing to scale: no verdict.
  if (beyond || baseline_quantile_us <= 0) return;
  const std::size_t budget = BudgetBound(baseline, baseline_quantile_us, spec.max_latency_ratio);
  const double budget_us = static_cast<double>(baseline.bound_us(budget));
  f->budget_bound_ms = Ms(budget_us);
  f->candidate_over_budget_bound = candidate.CountAbove(budget);
  f->allowed_share = baseline.ShareAboveUs(budget_us / spec.max_latency_ratio);
  // The same split test as test 1, between the candidate's requests slower than T and the
  // baseline's slower than T / ratio; the latter, read between two bounds, is fractional.
  f->p_over_budget = PoissonSplitUpperTail(
      f->candidate_over_budget_bound, f->allowed_share * static_cast<double>(baseline.total()),
      static_cast<double>(candidate.total()), static_cast<double>(baseline.total()));
  *breach = f->p_slower <= spec.false_alarm && f->p_over_budget <= spec.budget_false_alarm;
}

void JudgeLatencyCeiling(const GuardrailSpec& spec, const BucketedLatency& candidate,
                         LatencyFigures* f, bool* breach) {
  const double ceiling_us = spec.max_latency_ms * 1000;
  std::size_t bound = 0;
  while (bound < candidate.bound_count() &&
         static_cast<double>(candidate.bound_us(bound)) < ceiling_us) {
    ++bound;
  }
  if (bound == candidate.bound_count()) return;  // above the last bound: nothing to count
  f->ceiling_bound_ms = Ms(static_cast<double>(candidate.bound_us(bound)));
  f->candidate_over_ceiling = candidate.CountAbove(bound);
  f->p_over_ceiling =
      BinomialUpperTail(candidate.total(), 1 - spec.latency_quantile, f->candidate_over_ceiling);
  *breach = f->p_over_ceiling <= spec.false_alarm;
}

LatencyFigures JudgeLatency(const GuardrailSpec& spec, std::span<const uint64_t> bounds_us,
                            const PoolSample& baseline_sample, const PoolSample& candidate_sample,
                            Breaches* breaches) {
  LatencyFigures f;
  const BucketedLatency baseline(bounds_us, baseline_sample.latency_buckets);
  const BucketedLatency candidate(bounds_us, candidate_sample.latency_buckets);
  const uint64_t needed = std::max<uint64_t>(spec.min_requests, 1);
  if (!baseline.valid() || !candidate.valid() || baseline.total() < needed ||
      candidate.total() < needed) {
    return f;
  }
  f.evaluated = true;
  f.baseline_count = baseline.total();
  f.candidate_count = candidate.total();
  f.baseline_quantile_ms = Ms(baseline.QuantileUs(spec.latency_quantile));
  f.candidate_quantile_ms = Ms(candidate.QuantileUs(spec.latency_quantile));
  if (spec.max_latency_ratio > 0) JudgeLatencyRatio(spec, baseline, candidate, &f, &breaches->rate);
  // Practical significance: a real but tiny slowdown (1.4 ms to 3 ms on a fresh pool) is not
  // worth a rollback. Only removes breaches, so the false-alarm bounds still hold.
  if (f.candidate_quantile_ms - f.baseline_quantile_ms < spec.min_latency_increase_ms) {
    breaches->rate = false;
  }
  if (spec.max_latency_ms > 0) JudgeLatencyCeiling(spec, candidate, &f, &breaches->ceiling);
  return f;
}

bool InRange(double value, double low, double high) {
  return value >= low && value <= high;
}

__attribute__((format(printf, 2, 3))) void Append(std::string* out, const char* format, ...) {
  char buffer[512];
  va_list args;
  va_start(args, format);
  const int length = std::vsnprintf(buffer, sizeof buffer, format, args);
  va_end(args);
  if (length > 0) out->append(buffer, std::min<std::size_t>(length, sizeof buffer - 1));
}

unsigned long long Ull(uint64_t v) {
  return v;
}

}  // namespace

std::string ValidateGuardrailSpec(const GuardrailSpec& spec) {
  if (!InRange(spec.max_error_rate_increase, 0, 1)) {
    return "max_error_rate_increase must be between 0 and 1";
  }
  if (!(spec.max_error_rate_ratio == 0 || InRange(spec.max_error_rate_ratio, 1, 1e9))) {
    return "max_error_rate_ratio must be 0 (off) or at least 1";
  }
  if (!InRange(spec.max_error_rate, 0, 1)) return "max_error_rate must be between 0 and 1";
  if (!(spec.latency_quantile > 0 && spec.latency_quantile < 1)) {
    return "latency_quantile must be between 0 and 1, both excluded";
  }
  if (!(spec.max_latency_ratio == 0 || InRange(spec.max_latency_ratio, 1, 1e9))) {
    return "max_latency_ratio must be 0 (off) or at least 1";
  }
  if (!InRange(spec.max_latency_ms, 0, 1e12)) return "max_latency_ms must be 0 (off) or more";
  if (!InRange(spec.min_latency_increase_ms, 0, 1e12)) {
    return "min_latency_increase_ms must be 0 or more";
  }
  if (!(spec.false_alarm > 0 && spec.false_alarm <= 0.5)) {
    return "false_alarm must be above 0 and at most 0.5";
  }
  if (!(spec.budget_false_alarm > 0 && spec.budget_false_alarm <= 0.5)) {
    return "budget_false_alarm must be above 0 and at most 0.5";
  }
  return "";
}

Verdict EvaluateGuardrails(const GuardrailSpec& spec, std::span<const uint64_t> bucket_bounds_us,
                           const PoolSample& baseline, const PoolSample& candidate) {
  Verdict verdict;
  verdict.spec = spec;
  const uint64_t needed = std::max<uint64_t>(spec.min_requests, 1);
  verdict.errors = CountErrors(baseline, candidate);
  if (baseline.requests < needed || candidate.requests < needed) return verdict;
  Breaches errors;
  Breaches latency;
  JudgeErrors(spec, &verdict.errors, &errors);
  verdict.latency = JudgeLatency(spec, bucket_bounds_us, baseline, candidate, &latency);
  const std::pair<bool, std::string_view> rules[] = {
      {errors.rate, kRuleErrorRate},
      {errors.ceiling, kRuleErrorRateCeiling},
      {latency.rate, kRuleLatency},
      {latency.ceiling, kRuleLatencyCeiling},
  };
  verdict.kind = Verdict::Kind::kHealthy;
  for (const auto& [breached, rule] : rules) {
    if (!breached) continue;
    verdict.kind = Verdict::Kind::kBreach;
    verdict.rule = rule;
    break;
  }
  return verdict;
}

std::string Verdict::Explain() const {
  const ErrorFigures& e = errors;
  const LatencyFigures& l = latency;
  const double alpha = spec.false_alarm;
  const double beta = spec.budget_false_alarm;
  const double q = spec.latency_quantile * 100;
  std::string out;
  if (kind == Kind::kInsufficientData) {
    Append(&out, "insufficient data: baseline %llu requests, candidate %llu, need %llu in each",
           Ull(e.baseline_requests), Ull(e.candidate_requests),
           Ull(std::max<uint64_t>(spec.min_requests, 1)));
    return out;
  }
  if (rule == kRuleErrorRate) {
    Append(&out,
           "breach error_rate: candidate %.2f%% errors (%llu/%llu) vs baseline %.2f%% "
           "(%llu/%llu): worse (p=%.2g <= %g) and over the budget of %.2f%% (p=%.2g <= %g)",
           e.candidate_rate * 100, Ull(e.candidate_errors), Ull(e.candidate_requests),
           e.baseline_rate * 100, Ull(e.baseline_errors), Ull(e.baseline_requests), e.p_worse,
           alpha, e.allowed_rate * 100, e.p_over_budget, beta);
  } else if (rule == kRuleErrorRateCeiling) {
    Append(&out,
           "breach error_rate_ceiling: candidate %.2f%% errors (%llu/%llu) over the %.2f%% "
           "ceiling (p=%.2g <= %g)",
           e.candidate_rate * 100, Ull(e.candidate_errors), Ull(e.candidate_requests),
           spec.max_error_rate * 100, e.p_over_ceiling, alpha);
  } else if (rule == kRuleLatency) {
    Append(&out,
           "breach latency: candidate p%g ~%.3g ms vs baseline ~%.3g ms: %llu/%llu slower "
           "than %g ms vs %llu/%llu (p=%.2g <= %g) and %llu/%llu slower than %g ms where a "
           "%gx budget allows %.2f%% (p=%.2g <= %g)",
           q, l.candidate_quantile_ms, l.baseline_quantile_ms, Ull(l.candidate_slow),
           Ull(l.candidate_count), l.slow_bound_ms, Ull(l.baseline_slow), Ull(l.baseline_count),
           l.p_slower, alpha, Ull(l.candidate_over_budget_bound), Ull(l.candidate_count),
           l.budget_bound_ms, spec.max_latency_ratio, l.allowed_share * 100, l.p_over_budget, beta);
  } else if (rule == kRuleLatencyCeiling) {
    Append(&out,
           "breach latency_ceiling: candidate p%g ~%.3g ms over the %g ms ceiling: %llu/%llu "
           "slower than %g ms (p=%.2g <= %g)",
           q, l.candidate_quantile_ms, spec.max_latency_ms, Ull(l.candidate_over_ceiling),
           Ull(l.candidate_count), l.ceiling_bound_ms, l.p_over_ceiling, alpha);
  } else {
    Append(&out,
           "healthy: candidate %.2f%% errors (%llu/%llu) vs baseline %.2f%% (%llu/%llu), "
           "p=%.2g",
           e.candidate_rate * 100, Ull(e.candidate_errors), Ull(e.candidate_requests),
           e.baseline_rate * 100, Ull(e.baseline_errors), Ull(e.baseline_requests), e.p_worse);
    if (l.evaluated) {
      Append(&out, "; p%g ~%.3g ms vs ~%.3g ms, p=%.2g", q, l.candidate_quantile_ms,
             l.baseline_quantile_ms, l.p_slower);
    } else {
      Append(&out, "; latency not judged");
    }
  }
  return out;
}

}  // namespace cutover::routing
