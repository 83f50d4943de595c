#include "proxy/ctl/rollout_schedule.h"

#include <gtest/gtest.h>

namespace cutover::proxy::ctl {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;

TEST(ParseRolloutSteps, RisingPercentsInBasisPoints) {
  std::vector<uint32_t> steps;
  std::string error;
  ASSERT_TRUE(ParseRolloutSteps("1,5,25,50,100", &steps, &error)) << error;
  EXPECT_EQ(steps, (std::vector<uint32_t>{100, 500, 2500, 5000, 10000}));
  ASSERT_TRUE(ParseRolloutSteps("0.01,12.5,99.99", &steps, &error)) << error;
  EXPECT_EQ(steps, (std::vector<uint32_t>{1, 1250, 9999}));
  ASSERT_TRUE(ParseRolloutSteps("100", &steps, &error)) << error;  // one step: straight to all
  EXPECT_EQ(steps, (std::vector<uint32_t>{10000}));
}

TEST(ParseRolloutSteps, StepsMustRise) {
  std::vector<uint32_t> steps = {7};
  std::string error;
  EXPECT_FALSE(ParseRolloutSteps("5,1", &steps, &error));
  EXPECT_EQ(error,
            "step 2: 1 is not more than step 1's 5 (steps must rise; `rollout abort` goes back)");
  EXPECT_FALSE(ParseRolloutSteps("1,5,5,100", &steps, &error));
  EXPECT_EQ(error.rfind("step 3: 5 is not more than step 2's 5", 0), 0u) << error;
  EXPECT_EQ(steps, (std::vector<uint32_t>{7}));  // untouched on failure
}

TEST(ParseRolloutSteps, ZeroIsNotAStep) {
  std::vector<uint32_t> steps;
  std::string error;
  EXPECT_FALSE(ParseRolloutSteps("0", &steps, &error));
  EXPECT_EQ(error.rfind("step 1: 0 sends the candidate nothing", 0), 0u) << error;
  EXPECT_FALSE(ParseRolloutSteps("0,50,100", &steps, &error));
  EXPECT_FALSE(ParseRolloutSteps("0.00", &steps, &error));
}

TEST(ParseRolloutSteps, PercentSyntaxErrorsNameTheStep) {
  std::vector<uint32_t> steps;
  std::string error;
  EXPECT_FALSE(ParseRolloutSteps("1,101", &steps, &error));
  EXPECT_EQ(error, "step 2: '101' is more than 100");
  EXPECT_FALSE(ParseRolloutSteps("1.234", &steps, &error));
  EXPECT_EQ(error, "step 1: '1.234' has more than two decimals");
  for (const char* text : {"", ",", "1,,5", "1,", ",1", "1;5", "1, 5", "-1", "+5", "1e2", "5%"}) {
    EXPECT_FALSE(ParseRolloutSteps(text, &steps, &error)) << '"' << text << '"';
    EXPECT_FALSE(error.empty()) << '"' << text << '"';
  }
}

TEST(ParseDwell, OneSecondToOneDay) {
  milliseconds dwell{0};
  std::string error;
  ASSERT_TRUE(ParseDwell("2m", &dwell, &error)) << error;
  EXPECT_EQ(dwell, milliseconds(120'000));
  ASSERT_TRUE(ParseDwell("1s", &dwell, &error)) << error;
  EXPECT_EQ(dwell, milliseconds(1'000));
  ASSERT_TRUE(ParseDwell("1000ms", &dwell, &error)) << error;
  ASSERT_TRUE(ParseDwell("24h", &dwell, &error)) << error;
  EXPECT_EQ(dwell, milliseconds(86'400'000));
  ASSERT_TRUE(ParseDwell("1440m", &dwell, &error)) << error;

  EXPECT_FALSE(ParseDwell("999ms", &dwell, &error));
  EXPECT_EQ(error, "--every 999ms is out of range: from 1s to 24h");
  EXPECT_FALSE(ParseDwell("25h", &dwell, &error));
  EXPECT_FALSE(ParseDwell("0s", &dwell, &error));
  for (const char* text : {"", "2", "2 m", "1.5m", "-1m", "2M", "1d"}) {
    EXPECT_FALSE(ParseDwell(text, &dwell, &error)) << '"' << text << '"';
    EXPECT_NE(error.find("is not a duration"), std::string::npos) << error;
  }
}

TEST(RolloutBody, StepsAsPercentsAndOnlyTheFieldsGiven) {
  RolloutRequest request;
  request.steps = {100, 1250, 10000};
  request.dwell = "2m";
  EXPECT_EQ(RolloutBody(request), json::parse(R"({"steps": [1, 12.5, 100], "dwell": "2m"})"));
  request.min_requests = 0;  // given as 0 is still given
  request.reason = "release 42";
  EXPECT_EQ(RolloutBody(request), json::parse(R"({"steps": [1, 12.5, 100], "dwell": "2m",
                                                  "min_requests": 0, "reason": "release 42"})"));
  // Whole percents go out as integers, so the server and its audit log see "5", not "5.0".
  EXPECT_EQ(RolloutBody(request)["steps"].dump(), "[1,12.5,100]");
}

}  // namespace
}  // namespace cutover::proxy::ctl
