#include "proxy/ctl/ramp_schedule.h"

#include <gtest/gtest.h>

namespace cutover::proxy::ctl {
namespace {

using std::chrono::milliseconds;

TEST(ParseRampSteps, ParsesPercentsInOrder) {
  std::vector<uint32_t> steps;
  std::string error;
  ASSERT_TRUE(ParseRampSteps("5,25,50,100", &steps, &error)) << error;
  EXPECT_EQ(steps, (std::vector<uint32_t>{500, 2500, 5000, 10000}));
  ASSERT_TRUE(ParseRampSteps("0.5", &steps, &error)) << error;
  EXPECT_EQ(steps, (std::vector<uint32_t>{50}));
  ASSERT_TRUE(ParseRampSteps("50,10,0", &steps, &error)) << error;  // ramping down is allowed
  EXPECT_EQ(steps, (std::vector<uint32_t>{5000, 1000, 0}));
}

TEST(ParseRampSteps, NamesTheBadStep) {
  std::vector<uint32_t> steps;
  std::string error;
  EXPECT_FALSE(ParseRampSteps("5,25,1.234", &steps, &error));
  EXPECT_EQ(error.rfind("step 3: ", 0), 0u) << error;
  for (const char* text : {"", ",", "5,,50", "5,", ",5", "5;25", "5, 25", "101"}) {
    EXPECT_FALSE(ParseRampSteps(text, &steps, &error)) << '"' << text << '"';
  }
}

TEST(ParseRampInterval, DurationsAsInTheConfig) {
  milliseconds every{0};
  std::string error;
  ASSERT_TRUE(ParseRampInterval("30s", &every, &error)) << error;
  EXPECT_EQ(every, milliseconds(30'000));
  ASSERT_TRUE(ParseRampInterval("5m", &every, &error)) << error;
  EXPECT_EQ(every, milliseconds(300'000));
  ASSERT_TRUE(ParseRampInterval("1h", &every, &error)) << error;
  EXPECT_EQ(every, milliseconds(3'600'000));
  ASSERT_TRUE(ParseRampInterval("250ms", &every, &error)) << error;
  EXPECT_EQ(every, milliseconds(250));
}

TEST(ParseRampInterval, RefusesZeroAndJunk) {
  milliseconds every{0};
  std::string error;
  EXPECT_FALSE(ParseRampInterval("0s", &every, &error));
  EXPECT_NE(error.find("more than 0"), std::string::npos) << error;
  for (const char* text : {"", "5", "1.5s", "5 m", "-1s", "5min", "1d"}) {
    EXPECT_FALSE(ParseRampInterval(text, &every, &error)) << '"' << text << '"';
  }
}

TEST(PlanRamp, EveryStepIsCheckedBeforeAnyIsApplied) {
  PlanState state;
  state.pools = {PoolInfo{.name = "blue", .has_endpoints = true},
                 PoolInfo{.name = "green", .has_endpoints = true}};
  state.baseline = "blue";
  std::vector<std::vector<PoolWeight>> plans;
  std::string error;
  ASSERT_TRUE(PlanRamp(state, "green", {500, 5000, 10000}, &plans, &error)) << error;
  ASSERT_EQ(plans.size(), 3u);
  EXPECT_EQ(DescribeWeights(plans[0]), "blue=95 green=5");
  EXPECT_EQ(DescribeWeights(plans[2]), "blue=0 green=100");

  EXPECT_FALSE(PlanRamp(state, "gren", {500}, &plans, &error));
  EXPECT_EQ(error.rfind("step 1 (5): unknown pool 'gren'", 0), 0u) << error;
  // Ramping the baseline itself: only 100 leaves a valid split.
  EXPECT_FALSE(PlanRamp(state, "blue", {10000, 5000}, &plans, &error));
  EXPECT_EQ(error.rfind("step 2 (50): ", 0), 0u) << error;
}

}  // namespace
}  // namespace cutover::proxy::ctl
