#include "routing/guardrail_stats.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>

namespace cutover::routing {
namespace {

// References summed term by term in long double: slow, obviously right.
long double LogChooseL(uint64_t n, uint64_t k) {
  return std::lgammal(n + 1.0L) - std::lgammal(k + 1.0L) - std::lgammal(n - k + 1.0L);
}

long double ExactBinomialUpper(uint64_t n, long double p, uint64_t k) {
  long double sum = 0;
  for (uint64_t i = k; i <= n; ++i) {
    sum += std::exp(LogChooseL(n, i) + i * std::log(p) + (n - i) * std::log1p(-p));
  }
  return sum;
}

long double ExactHypergeometricUpper(uint64_t total, uint64_t marked, uint64_t draws, uint64_t k) {
  long double sum = 0;
  for (uint64_t x = k; x <= draws && x <= marked; ++x) {
    if (draws - x > total - marked) continue;
    sum += std::exp(LogChooseL(marked, x) + LogChooseL(total - marked, draws - x) -
                    LogChooseL(total, draws));
  }
  return sum;
}

void ExpectRelativelyNear(double actual, long double expected, double tolerance) {
  EXPECT_NEAR(actual / static_cast<double>(expected), 1.0, tolerance)
      << actual << " vs " << static_cast<double>(expected);
}

TEST(BinomialUpperTail, HandComputedValues) {
  EXPECT_NEAR(BinomialUpperTail(10, 0.5, 8), 56.0 / 1024, 1e-15);  // (45 + 10 + 1) / 2^10
  EXPECT_NEAR(BinomialUpperTail(5, 0.2, 1), 1 - std::pow(0.8, 5), 1e-15);
  EXPECT_NEAR(BinomialUpperTail(3, 0.1, 3), 1e-3, 1e-17);
  EXPECT_EQ(BinomialUpperTail(10, 0.3, 0), 1);
  EXPECT_EQ(BinomialUpperTail(10, 0.3, 11), 0);
  EXPECT_EQ(BinomialUpperTail(10, 0, 1), 0);
  EXPECT_EQ(BinomialUpperTail(10, 1, 10), 1);
}

TEST(BinomialUpperTail, MatchesExactSums) {
  const uint64_t sizes[] = {1, 7, 100, 600, 5400, 60000};
  const double rates[] = {1e-4, 1e-3, 0.011, 0.05, 0.3, 0.5, 0.9};
  for (const uint64_t n : sizes) {
    for (const double p : rates) {
      const double mean = n * p;
      const double spread = std::sqrt(mean + 1);
      for (const double at : {mean - 2 * spread, mean, mean + 3 * spread, mean + 8 * spread}) {
        if (at < 1 || at > n) continue;
        const auto k = static_cast<uint64_t>(at);
        const long double exact = ExactBinomialUpper(n, p, k);
        if (exact < 1e-290L) continue;
        SCOPED_TRACE(testing::Message() << "n=" << n << " p=" << p << " k=" << k);
        ExpectRelativelyNear(BinomialUpperTail(n, p, k), exact, 1e-9);
      }
    }
  }
}

TEST(BinomialUpperTail, DeepTailKeepsItsRelativePrecision) {
  // 30 errors where 1 is expected: ~1e-33, far below what 1 - CDF could show.
  const long double exact = ExactBinomialUpper(1000, 0.001, 30);
  ASSERT_LT(exact, 1e-30L);
  ExpectRelativelyNear(BinomialUpperTail(1000, 0.001, 30), exact, 1e-9);
}

TEST(HypergeometricUpperTail, HandComputedValues) {
  // 10 requests, 3 errors, the candidate had 5: all 3 = C(7,2)/C(10,5) = 21/252.
  EXPECT_NEAR(HypergeometricUpperTail(10, 3, 5, 3), 21.0 / 252, 1e-15);
  EXPECT_NEAR(HypergeometricUpperTail(10, 3, 5, 2), 0.5, 1e-14);  // (21 + 105) / 252
  EXPECT_EQ(HypergeometricUpperTail(10, 3, 5, 0), 1);
  EXPECT_EQ(HypergeometricUpperTail(10, 3, 5, 4), 0);
  // 8 marked of 10 and 5 drawn: at least 3 are always marked.
  EXPECT_EQ(HypergeometricUpperTail(10, 8, 5, 3), 1);
  // Fisher's lady tasting tea: 4 of 4 cups right by chance = 1/70, 3 or more = 17/70.
  EXPECT_NEAR(HypergeometricUpperTail(8, 4, 4, 4), 1.0 / 70, 1e-15);
  EXPECT_NEAR(HypergeometricUpperTail(8, 4, 4, 3), 17.0 / 70, 1e-14);
}

TEST(HypergeometricUpperTail, MatchesExactSums) {
  struct Case {
    uint64_t total, marked, draws;
  };
  // A 10 % canary's errors over 30 s; a 1 % canary's; the slow requests of a 10 % canary.
  const Case cases[] = {{6000, 6, 600}, {6000, 12, 60}, {6000, 480, 600}, {200, 100, 100}};
  for (const Case& c : cases) {
    for (uint64_t k = 1; k <= c.draws && k <= c.marked; ++k) {
      const long double exact = ExactHypergeometricUpper(c.total, c.marked, c.draws, k);
      if (exact < 1e-290L) break;
      SCOPED_TRACE(testing::Message() << c.total << " " << c.marked << " " << c.draws << " " << k);
      ExpectRelativelyNear(HypergeometricUpperTail(c.total, c.marked, c.draws, k), exact, 1e-9);
    }
  }
}

TEST(PoissonSplitUpperTail, IsTheBinomialTailOfTheSplit) {
  // 5 candidate events and 1 baseline event, the candidate having 1/10 of the exposure.
  EXPECT_NEAR(PoissonSplitUpperTail(5, 1, 100, 900), BinomialUpperTail(6, 0.1, 5), 1e-15);
  EXPECT_NEAR(PoissonSplitUpperTail(13, 41, 200, 1800), BinomialUpperTail(54, 0.1, 13), 1e-14);
  EXPECT_EQ(PoissonSplitUpperTail(0, 7, 1, 1), 1);
  // A fractional baseline count falls between its integer neighbours.
  const double at_41 = PoissonSplitUpperTail(13, 41, 200, 1800);
  const double at_41_5 = PoissonSplitUpperTail(13, 41.5, 200, 1800);
  const double at_42 = PoissonSplitUpperTail(13, 42, 200, 1800);
  EXPECT_LT(at_41, at_41_5);
  EXPECT_LT(at_41_5, at_42);
}

TEST(ClopperPearsonUpper, KnownValues) {
  // 1 success in 10: the two-sided 95 % interval is (0.0025, 0.4450) (standard tables).
  EXPECT_NEAR(ClopperPearsonUpper(10, 1, 0.025), 0.44502, 1e-5);
  // No success: (1 - p)^n = gamma; the "rule of three" 3 / n for gamma = 0.05.
  EXPECT_NEAR(ClopperPearsonUpper(1000, 0, 0.05), 1 - std::pow(0.05, 1e-3), 1e-15);
  EXPECT_NEAR(ClopperPearsonUpper(1000, 0, 0.05), 0.003, 1e-5);
  EXPECT_EQ(ClopperPearsonUpper(10, 10, 0.05), 1);
  EXPECT_EQ(ClopperPearsonUpper(0, 0, 0.05), 1);
}

TEST(ClopperPearsonUpper, LeavesExactlyGammaBelow) {
  for (const uint64_t n : {20, 900, 5400, 600000}) {
    for (const uint64_t k : {1, 2, 5, 19, 54, 400}) {
      if (k >= n) continue;
      for (const double gamma : {0.025, 1e-4}) {
        const double upper = ClopperPearsonUpper(n, k, gamma);
        SCOPED_TRACE(testing::Message() << "n=" << n << " k=" << k << " gamma=" << gamma);
        EXPECT_GT(upper, static_cast<double>(k) / n);
        // P(X <= k) at the bound is gamma.
        EXPECT_NEAR((1 - BinomialUpperTail(n, upper, k + 1)) / gamma, 1, 1e-6);
      }
    }
  }
}

TEST(NormalQuantile, KnownValuesAndRoundTrip) {
  EXPECT_NEAR(NormalQuantile(0.5), 0, 1e-15);
  EXPECT_NEAR(NormalQuantile(0.975), 1.959963984540054, 1e-12);
  EXPECT_NEAR(NormalQuantile(0.99), 2.326347874040841, 1e-12);
  EXPECT_NEAR(NormalQuantile(1e-10), -6.361340902404056, 1e-10);
  for (const double p : {1e-300, 1e-12, 0.001, 0.02425, 0.3, 0.9, 0.97575, 0.999999}) {
    EXPECT_NEAR(NormalCdf(NormalQuantile(p)) / p, 1, 1e-12) << p;
  }
  EXPECT_TRUE(std::isfinite(NormalQuantile(0)));
  EXPECT_TRUE(std::isfinite(NormalQuantile(1)));
}

}  // namespace
}  // namespace cutover::routing
