#include "routing/guardrail_stats.h"

#include <math.h>  // lgamma_r: std::lgamma writes the global signgam, a data race between threads

#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>

namespace cutover::routing {
namespace {

double LogGamma(double x) {
  int sign = 0;
  return ::lgamma_r(x, &sign);
}

double LogChoose(double n, double k) {
  return LogGamma(n + 1) - LogGamma(k + 1) - LogGamma(n - k + 1);
}

// Lentz's evaluation of the continued fraction for I_x(a, b) (Numerical Recipes betacf).
// It converges in O(sqrt(max(a, b))) steps when x < (a + 1) / (a + b + 2).
double BetaContinuedFraction(double a, double b, double x) {
  constexpr double kTiny = 1e-300;
  constexpr double kEpsilon = 1e-15;
  constexpr int kMaxSteps = 1'000'000;
  const auto not_zero = [](double v) { return std::fabs(v) < kTiny ? kTiny : v; };
  double c = 1;
  double d = 1 / not_zero(1 - (a + b) * x / (a + 1));
  double h = d;
  for (int m = 1; m <= kMaxSteps; ++m) {
    const double m2 = 2.0 * m;
    double step = m * (b - m) * x / ((a - 1 + m2) * (a + m2));
    d = 1 / not_zero(1 + step * d);
    c = not_zero(1 + step / c);
    h *= d * c;
    step = -(a + m) * (a + b + m) * x / ((a + m2) * (a + 1 + m2));
    d = 1 / not_zero(1 + step * d);
    c = not_zero(1 + step / c);
    const double change = d * c;
    h *= change;
    if (std::fabs(change - 1) < kEpsilon) break;
  }
  return h;
}

// The regularized incomplete beta I_x(a, b) and its complement 1 - I_x(a, b). Whichever side
// is computed directly keeps its full relative precision, however small; the other is one
// minus it, which is precise because it is then the large one.
struct BetaSplit {
  double value;
  double complement;
};

BetaSplit RegularizedBeta(double a, double b, double x) {
  if (x <= 0) return {0, 1};
  if (x >= 1) return {1, 0};
  const double log_front =
      a * std::log(x) + b * std::log1p(-x) + LogGamma(a + b) - LogGamma(a) - LogGamma(b);
  if (x < (a + 1) / (a + b + 2)) {
    const double value = std::exp(log_front) * BetaContinuedFraction(a, b, x) / a;
    return {value, 1 - value};
  }
  const double complement = std::exp(log_front) * BetaContinuedFraction(b, a, 1 - x) / b;
  return {1 - complement, complement};
}

// P(X >= k) and P(X <= k - 1) for X ~ Binomial(n, p), 0 < k <= n.
BetaSplit BinomialTails(uint64_t n, double p, uint64_t k) {
  return RegularizedBeta(static_cast<double>(k), static_cast<double>(n - k + 1), p);
}

}  // namespace

double BinomialUpperTail(uint64_t n, double p, uint64_t k) {
  if (k == 0) return 1;
  if (k > n) return 0;
  return std::clamp(BinomialTails(n, std::clamp(p, 0.0, 1.0), k).value, 0.0, 1.0);
}

double HypergeometricUpperTail(uint64_t total, uint64_t marked, uint64_t draws, uint64_t k) {
  marked = std::min(marked, total);
  draws = std::min(draws, total);
  const uint64_t unmarked = total - marked;
  const uint64_t lowest = draws > unmarked ? draws - unmarked : 0;
  const uint64_t highest = std::min(draws, marked);
  if (k <= lowest) return 1;
  if (k > highest) return 0;
  const double n = static_cast<double>(total);
  const double m = static_cast<double>(marked);
  const double d = static_cast<double>(draws);
  const auto log_pmf = [&](double x) {
    return LogChoose(m, x) + LogChoose(n - m, d - x) - LogChoose(n, d);
  };
  constexpr double kNegligible = 1e-17;
  const double mode = std::floor((d + 1) * (m + 1) / (n + 2));
  double x = static_cast<double>(k);
  double term = std::exp(log_pmf(x));
  double sum = 0;
  if (x > mode) {
    if (term == 0) return 0;  // below 1e-308 already, and the rest is smaller still
    // Past the mode the terms only shrink: sum upwards until they stop mattering.
    const double last = static_cast<double>(highest);
    for (;;) {
      sum += term;
      if (x >= last || term < sum * kNegligible) break;
      term *= (m - x) * (d - x) / ((x + 1) * (n - m - d + x + 1));
      x += 1;
    }
    return std::min(sum, 1.0);
  }
  // At or below the mode the upper tail is large; one minus the lower tail, summed
  // downwards from k - 1, where the terms only shrink.
  const double first = static_cast<double>(lowest);
  x -= 1;
  term = std::exp(log_pmf(x));
  if (term == 0) return 1;
  for (;;) {
    sum += term;
    if (x <= first || term < sum * kNegligible) break;
    term *= x * (n - m - d + x) / ((m - x + 1) * (d - x + 1));
    x -= 1;
  }
  return std::clamp(1 - sum, 0.0, 1.0);
}

double PoissonSplitUpperTail(uint64_t candidate_count, double baseline_count,
                             double candidate_exposure, double baseline_exposure) {
  if (candidate_count == 0) return 1;
  if (!(candidate_exposure > 0)) return 0;
  const double share = candidate_exposure / (candidate_exposure + std::max(baseline_exposure, 0.0));
  const double k = static_cast<double>(candidate_count);
  return std::clamp(RegularizedBeta(k, std::max(baseline_count, 0.0) + 1, share).value, 0.0, 1.0);
}

double ClopperPearsonUpper(uint64_t n, uint64_t k, double gamma) {
  if (n == 0 || k >= n) return 1;
  gamma = std::clamp(gamma, std::numeric_limits<double>::min(), 1.0);
  const double trials = static_cast<double>(n);
  const double successes = static_cast<double>(k);
  const double log_gamma = std::log(gamma);
  // Zero successes: P(X <= 0) = (1 - p)^n = gamma in closed form.
  if (k == 0) return -std::expm1(log_gamma / trials);
  // Solve log P(X <= k) = log gamma for p by Newton's method, kept inside a bracket that
  // shrinks with every step and falls back to halving it: P(X <= k) falls as p rises, from
  // about one half or more at k / n to 0 at 1. The derivative of P(X <= k) is minus the
  // Beta(k + 1, n - k) density. Starts from the normal approximation of the bound.
  const double log_beta =
      LogGamma(successes + 1) + LogGamma(trials - successes) - LogGamma(trials + 1);
  double low = successes / trials;
  double high = 1;
  const double z = NormalQuantile(1 - gamma);
  double p =
      std::clamp((successes + 1 + z * std::sqrt(successes + 1) + z * z / 2) / trials, low, high);
  for (int step = 0; step < 200; ++step) {
    if (p <= low || p >= high) p = 0.5 * (low + high);
    const double below = BinomialTails(n, p, k + 1).complement;  // P(X <= k)
    const double excess = std::log(below) - log_gamma;
    if (excess > 0) {
      low = p;
    } else {
      high = p;
    }
    const double log_density =
        successes * std::log(p) + (trials - successes - 1) * std::log1p(-p) - log_beta;
    const double slope = -std::exp(log_density) / below;  // d log P(X <= k) / dp
    const double next = below > 0 && slope < 0 ? p - excess / slope : 0.5 * (low + high);
    if (std::fabs(next - p) <= 1e-12 * p || high - low <= 1e-15 * high) return std::max(next, p);
    p = next;
  }
  return high;
}

double NormalCdf(double z) {
  return 0.5 * std::erfc(-z / std::sqrt(2.0));
}

double NormalQuantile(double p) {
  // P. J. Acklam's rational approximation (relative error 1.15e-9) ...
  static constexpr double kA[] = {-3.969683028665376e+01, 2.209460984245205e+02,
                                  -2.759285104469687e+02, 1.383577518672690e+02,
                                  -3.066479806614716e+01, 2.506628277459239e+00};
  static constexpr double kB[] = {-5.447609879822406e+01, 1.615858368580409e+02,
                                  -1.556989798598866e+02, 6.680131188771972e+01,
                                  -1.328068155288572e+01};
  static constexpr double kC[] = {-7.784894002430293e-03, -3.223964580411365e-01,
                                  -2.400758277161838e+00, -2.549732539343734e+00,
                                  4.374664141464968e+00,  2.938163982698783e+00};
  static constexpr double kD[] = {7.784695709041462e-03, 3.224671290700398e-01,
                                  2.445134137142996e+00, 3.754408661907416e+00};
  constexpr double kLowRegion = 0.02425;
  p = std::clamp(p, 1e-300, 1 - 1e-16);
  double z;
  if (p < kLowRegion || p > 1 - kLowRegion) {
    const double q = std::sqrt(-2 * std::log(p < kLowRegion ? p : 1 - p));
    z = (((((kC[0] * q + kC[1]) * q + kC[2]) * q + kC[3]) * q + kC[4]) * q + kC[5]) /
        ((((kD[0] * q + kD[1]) * q + kD[2]) * q + kD[3]) * q + 1);
    if (p > kLowRegion) z = -z;
  } else {
    const double q = p - 0.5;
    const double r = q * q;
    z = (((((kA[0] * r + kA[1]) * r + kA[2]) * r + kA[3]) * r + kA[4]) * r + kA[5]) * q /
        (((((kB[0] * r + kB[1]) * r + kB[2]) * r + kB[3]) * r + kB[4]) * r + 1);
  }
  // ... and one Halley step on erfc brings it to full double precision.
  const double error = NormalCdf(z) - p;
  const double u = error * std::sqrt(2 * std::numbers::pi) * std::exp(z * z / 2);
  return z - u / (1 + z * u / 2);
}

}  // namespace cutover::routing
