// The probability tails the guardrail verdicts rest on (DESIGN §5): exact binomial and
// hypergeometric tails, the Clopper-Pearson upper bound of a binomial proportion, and the
// standard normal distribution and its inverse (used only to interpolate inside a latency
// bucket, never for a p-value).
//
// Counts on a canary are small (a few errors, a few slow requests), so every p-value here is
// an exact tail, not a normal approximation: at 5 errors out of 100 a z-test is off by orders
// of magnitude in the tail. Sums run in log space, so tails down to ~1e-300 neither underflow
// nor lose their relative precision. Pure functions: no state, no I/O, no allocation.
#pragma once

#include <cstdint>

namespace cutover::routing {

// P(X >= k) for X ~ Binomial(n, p). 1 when k == 0, 0 when k > n. p is clamped to [0, 1].
// Computed as the regularized incomplete beta I_p(k, n - k + 1), by its continued fraction
// (Numerical Recipes §6.4): a few dozen iterations even for n in the millions.
double BinomialUpperTail(uint64_t n, double p, uint64_t k);

// P(X >= k) for X ~ Hypergeometric: `draws` items taken without replacement from `total`
// items of which `marked` are marked, X the marked ones taken. This is the one-sided Fisher
// exact test: given that the two pools saw `marked` errors (or slow requests) between them,
// it is the chance that the candidate's `draws` requests hold `k` or more of them if both
// pools behave alike, whatever their common rate. 1 when k is at or below the smallest
// possible X, 0 above the largest.
double HypergeometricUpperTail(uint64_t total, uint64_t marked, uint64_t draws, uint64_t k);

// The conditional test for two Poisson counts (Przyborowski & Wilenski 1940): if both streams
// have the same rate per unit of exposure, then given the total, the candidate's count is
// Binomial(total, candidate_exposure / (candidate_exposure + baseline_exposure)); this is
// P(X >= candidate_count) for that X. It needs no estimate of the common rate. The baseline
// count may be fractional (a count read off a histogram between two bounds): the binomial
// tail extends to it through the incomplete beta, I_share(candidate_count, baseline + 1).
double PoissonSplitUpperTail(uint64_t candidate_count, double baseline_count,
                             double candidate_exposure, double baseline_exposure);

// The exact (Clopper-Pearson) upper confidence bound of a proportion after `k` successes in
// `n` trials: the p at which P(X <= k) = gamma for X ~ Binomial(n, p), so the true proportion
// lies at or below it with probability at least 1 - gamma. 1 when k >= n or n == 0.
double ClopperPearsonUpper(uint64_t n, uint64_t k, double gamma);

// Standard normal CDF and its inverse (Acklam's rational approximation refined by one Halley
// step, relative error ~1e-15). NormalQuantile clamps p into (0, 1) to stay finite.
double NormalCdf(double z);
double NormalQuantile(double p);

}  // namespace cutover::routing
