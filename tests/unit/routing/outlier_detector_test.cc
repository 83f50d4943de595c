#include "routing/outlier_detector.h"

#include <gtest/gtest.h>

namespace cutover::routing {
namespace {

OutlierSpec Spec(uint32_t failures, int64_t base, int64_t max) {
  OutlierSpec spec;
  spec.consecutive_failures = failures;
  spec.base_ejection_ms = base;
  spec.max_ejection_ms = max;
  return spec;
}

// Fails until the detector ejects; returns how many failures it took.
int FailUntilEjected(OutlierDetector* detector, const OutlierSpec& spec, int64_t now) {
  for (int i = 1; i <= 1000; ++i) {
    if (detector->OnFailure(spec, now)) return i;
  }
  return -1;
}

TEST(OutlierDetector, EjectsAfterConsecutiveFailures) {
  const OutlierSpec spec = Spec(3, 1000, 60000);
  OutlierDetector detector;
  EXPECT_FALSE(detector.OnFailure(spec, 0));
  EXPECT_FALSE(detector.OnFailure(spec, 0));
  EXPECT_FALSE(detector.Ejected(0));
  EXPECT_TRUE(detector.OnFailure(spec, 0));
  EXPECT_TRUE(detector.Ejected(0));
  EXPECT_TRUE(detector.Ejected(999));
  EXPECT_FALSE(detector.Ejected(1000));
  EXPECT_EQ(detector.ejections(), 1u);
  EXPECT_EQ(detector.ejected_until_ms(), 1000);
}

TEST(OutlierDetector, SuccessResetsTheCount) {
  const OutlierSpec spec = Spec(3, 1000, 60000);
  OutlierDetector detector;
  detector.OnFailure(spec, 0);
  detector.OnFailure(spec, 0);
  detector.OnSuccess(0);
  EXPECT_FALSE(detector.OnFailure(spec, 0));
  EXPECT_FALSE(detector.OnFailure(spec, 0));
  EXPECT_TRUE(detector.OnFailure(spec, 0));
}

TEST(OutlierDetector, BackoffDoublesOnRepeatAndIsCapped) {
  const OutlierSpec spec = Spec(2, 1000, 5000);
  OutlierDetector detector;
  int64_t now = 0;
  const int64_t expected[] = {1000, 2000, 4000, 5000, 5000};
  for (const int64_t backoff : expected) {
    ASSERT_EQ(FailUntilEjected(&detector, spec, now), 2);
    EXPECT_EQ(detector.ejected_until_ms() - now, backoff);
    now = detector.ejected_until_ms();  // back in, and failing again at once
  }
  EXPECT_EQ(detector.ejections(), 5u);
}

TEST(OutlierDetector, FailuresWhileEjectedAreIgnored) {
  const OutlierSpec spec = Spec(2, 1000, 60000);
  OutlierDetector detector;
  ASSERT_EQ(FailUntilEjected(&detector, spec, 0), 2);
  for (int i = 0; i < 10; ++i) EXPECT_FALSE(detector.OnFailure(spec, 500));
  EXPECT_EQ(detector.ejected_until_ms(), 1000);
  EXPECT_EQ(detector.ejections(), 1u);
  // Back in service: it takes a full run of failures again.
  EXPECT_FALSE(detector.OnFailure(spec, 1000));
  EXPECT_TRUE(detector.OnFailure(spec, 1000));
}

TEST(OutlierDetector, SuccessAfterTheEjectionResetsTheBackoff) {
  const OutlierSpec spec = Spec(1, 1000, 60000);
  OutlierDetector detector;
  ASSERT_TRUE(detector.OnFailure(spec, 0));
  detector.OnSuccess(1500);  // after the ejection ran out
  EXPECT_EQ(detector.ejections(), 0u);
  ASSERT_TRUE(detector.OnFailure(spec, 2000));
  EXPECT_EQ(detector.ejected_until_ms(), 3000);  // base again
}

TEST(OutlierDetector, SuccessDuringTheEjectionKeepsTheBackoff) {
  // A late answer to a request sent before the ejection says nothing about the endpoint now.
  const OutlierSpec spec = Spec(1, 1000, 60000);
  OutlierDetector detector;
  ASSERT_TRUE(detector.OnFailure(spec, 0));
  detector.OnSuccess(500);
  EXPECT_EQ(detector.ejections(), 1u);
  EXPECT_TRUE(detector.Ejected(500));
  ASSERT_TRUE(detector.OnFailure(spec, 1000));
  EXPECT_EQ(detector.ejected_until_ms(), 3000);  // doubled
}

TEST(OutlierDetector, SuccessWithoutTimeResetsBoth) {
  const OutlierSpec spec = Spec(1, 1000, 60000);
  OutlierDetector detector;
  ASSERT_TRUE(detector.OnFailure(spec, 0));
  detector.OnSuccess();
  EXPECT_EQ(detector.ejections(), 0u);
  ASSERT_TRUE(detector.OnFailure(spec, 1000));
  EXPECT_EQ(detector.ejected_until_ms(), 2000);
}

TEST(OutlierDetector, ZeroThresholdDisablesEjection) {
  const OutlierSpec spec = Spec(0, 1000, 60000);
  OutlierDetector detector;
  for (int i = 0; i < 100; ++i) EXPECT_FALSE(detector.OnFailure(spec, i));
  EXPECT_FALSE(detector.Ejected(0));
}

TEST(OutlierDetector, ManyRepeatsDoNotOverflow) {
  // base * 2^(n-1) passes 2^63 after 64 repeats; the backoff must saturate at the cap.
  const int64_t cap = int64_t{1} << 40;
  const OutlierSpec spec = Spec(1, 1, cap);
  OutlierDetector detector;
  int64_t now = 0;
  for (int i = 0; i < 100; ++i) {
    ASSERT_TRUE(detector.OnFailure(spec, now));
    const int64_t backoff = detector.ejected_until_ms() - now;
    ASSERT_EQ(backoff, i < 40 ? int64_t{1} << i : cap) << i;
    now = detector.ejected_until_ms();
  }
}

}  // namespace
}  // namespace cutover::routing
