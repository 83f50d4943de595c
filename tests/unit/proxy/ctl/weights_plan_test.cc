#include "proxy/ctl/weights_plan.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace cutover::proxy::ctl {
namespace {

using nlohmann::json;

PlanState BlueGreen() {
  PlanState state;
  state.pools = {PoolInfo{.name = "blue", .has_endpoints = true},
                 PoolInfo{.name = "green", .has_endpoints = true},
                 PoolInfo{.name = "canary", .has_endpoints = true}};
  state.baseline = "blue";
  state.version = 7;
  return state;
}

std::vector<Assignment> Parse(std::vector<std::string> texts) {
  std::vector<Assignment> out;
  for (const std::string& text : texts) {
    Assignment assignment;
    std::string error;
    EXPECT_TRUE(ParseAssignment(text, &assignment, &error)) << text << ": " << error;
    out.push_back(assignment);
  }
  return out;
}

// "blue=80 green=20 canary=0", or "error: ..." so one EXPECT_EQ shows either.
std::string Plan(const PlanState& state, std::vector<std::string> texts) {
  std::vector<PoolWeight> plan;
  std::string error;
  if (!PlanWeights(state, Parse(texts), &plan, &error)) return "error: " + error;
  return DescribeWeights(plan);
}

TEST(ParsePercent, AcceptsWholeAndUpToTwoDecimals) {
  const std::vector<std::pair<std::string, uint32_t>> cases = {
      {"0", 0},     {"20", 2000},    {"100", 10000},    {"12.5", 1250}, {"0.01", 1},
      {"0.29", 29}, {"99.99", 9999}, {"100.00", 10000}, {"007", 700},   {"33.3", 3330}};
  for (const auto& [text, expected] : cases) {
    uint32_t basis_points = 12345;
    std::string error;
    EXPECT_TRUE(ParsePercent(text, &basis_points, &error)) << text << ": " << error;
    EXPECT_EQ(basis_points, expected) << text;
  }
}

TEST(ParsePercent, RefusesThreeDecimalsSignsJunkAndOver100) {
  for (const std::string text : {"12.345", "0.001", "-5", "+5", "1e1", " 5", "5 ", "5.", ".5", "",
                                 "abc", "100.01", "101", "1000000000000", "0x10", "5%"}) {
    uint32_t basis_points = 0;
    std::string error;
    EXPECT_FALSE(ParsePercent(text, &basis_points, &error)) << '"' << text << '"';
    EXPECT_FALSE(error.empty()) << text;
  }
  uint32_t basis_points = 0;
  std::string error;
  ParsePercent("12.345", &basis_points, &error);
  EXPECT_NE(error.find("two decimals"), std::string::npos) << error;
}

TEST(FormatPercent, ShortestText) {
  EXPECT_EQ(FormatPercent(0), "0");
  EXPECT_EQ(FormatPercent(2000), "20");
  EXPECT_EQ(FormatPercent(1250), "12.5");
  EXPECT_EQ(FormatPercent(1), "0.01");
  EXPECT_EQ(FormatPercent(10000), "100");
  EXPECT_EQ(FormatPercent(9999), "99.99");
}

TEST(PercentJson, IntegersWhenWholeExactDoublesOtherwise) {
  EXPECT_TRUE(PercentJson(2000).is_number_integer());
  EXPECT_EQ(PercentJson(2000).dump(), "20");
  EXPECT_EQ(PercentJson(1250).dump(), "12.5");
  EXPECT_EQ(PercentJson(1).dump(), "0.01");
  EXPECT_EQ(PercentJson(29).dump(), "0.29");
}

TEST(ParseAssignment, NeedsPoolAndEquals) {
  Assignment assignment;
  std::string error;
  EXPECT_FALSE(ParseAssignment("green", &assignment, &error));
  EXPECT_FALSE(ParseAssignment("=20", &assignment, &error));
  EXPECT_FALSE(ParseAssignment("green=", &assignment, &error));
  EXPECT_FALSE(ParseAssignment("green=1.234", &assignment, &error));
  EXPECT_NE(error.find("green"), std::string::npos) << error;
  ASSERT_TRUE(ParseAssignment("green=12.5", &assignment, &error));
  EXPECT_EQ(assignment.pool, "green");
  EXPECT_EQ(assignment.basis_points, 1250u);
}

TEST(PlanWeights, BaselineTakesTheRestAndOthersGetZero) {
  EXPECT_EQ(Plan(BlueGreen(), {"green=20"}), "blue=80 green=20 canary=0");
  EXPECT_EQ(Plan(BlueGreen(), {"green=12.5", "canary=0.01"}), "blue=87.49 green=12.5 canary=0.01");
  EXPECT_EQ(Plan(BlueGreen(), {"green=100"}), "blue=0 green=100 canary=0");
  EXPECT_EQ(Plan(BlueGreen(), {"green=0"}), "blue=100 green=0 canary=0");
}

TEST(PlanWeights, BaselineNamedTooMustSumTo100) {
  EXPECT_EQ(Plan(BlueGreen(), {"blue=80", "green=20"}), "blue=80 green=20 canary=0");
  EXPECT_EQ(Plan(BlueGreen(), {"green=0.5", "blue=99.5"}), "blue=99.5 green=0.5 canary=0");
  const std::string refused = Plan(BlueGreen(), {"blue=70", "green=20"});
  EXPECT_NE(refused.find("error: the weights given sum to 90"), std::string::npos) << refused;
  EXPECT_NE(refused.find("baseline 'blue'"), std::string::npos) << refused;
  EXPECT_EQ(Plan(BlueGreen(), {"blue=100"}), "blue=100 green=0 canary=0");
}

TEST(PlanWeights, SumOver100IsRefused) {
  EXPECT_EQ(Plan(BlueGreen(), {"green=60", "canary=40.01"}),
            "error: the weights given sum to 100.01, more than 100");
  EXPECT_EQ(Plan(BlueGreen(), {"green=60", "canary=40"}), "blue=0 green=60 canary=40");
}

TEST(PlanWeights, UnknownPoolIsNamedWithTheKnownOnes) {
  EXPECT_EQ(Plan(BlueGreen(), {"grene=20"}),
            "error: unknown pool 'grene' (pools: blue, green, canary)");
}

TEST(PlanWeights, PoolGivenTwiceIsRefused) {
  EXPECT_EQ(Plan(BlueGreen(), {"green=20", "green=30"}), "error: pool 'green' is given twice");
}

TEST(PlanWeights, WithoutBaselineTheValuesMustSumTo100) {
  PlanState state = BlueGreen();
  state.baseline.clear();
  EXPECT_EQ(Plan(state, {"green=100"}), "blue=0 green=100 canary=0");
  const std::string refused = Plan(state, {"green=20"});
  EXPECT_NE(refused.find("no baseline"), std::string::npos) << refused;
}

TEST(PlanWeights, PoolWithoutEndpointsCannotGetWeight) {
  PlanState state = BlueGreen();
  state.pools[2].has_endpoints = false;
  EXPECT_EQ(Plan(state, {"green=20", "canary=0"}), "blue=80 green=20 canary=0");
  const std::string refused = Plan(state, {"canary=5"});
  EXPECT_NE(refused.find("pool 'canary' has no endpoints"), std::string::npos) << refused;
  // The baseline taking the rest is checked as well.
  state.pools[0].has_endpoints = false;
  EXPECT_NE(Plan(state, {"green=20"}).find("pool 'blue' has no endpoints"), std::string::npos);
}

TEST(PlanWeights, NothingGivenIsRefused) {
  EXPECT_EQ(Plan(BlueGreen(), {}), "error: give at least one POOL=PERCENT");
}

TEST(WeightsBody, StatesEveryPool) {
  std::vector<PoolWeight> plan;
  std::string error;
  ASSERT_TRUE(PlanWeights(BlueGreen(), Parse({"green=12.5"}), &plan, &error)) << error;
  EXPECT_EQ(WeightsBody(plan), json::parse(R"({"blue": 87.5, "green": 12.5, "canary": 0})"));
}

TEST(ReadPlanState, ReadsPoolsBaselineAndVersion) {
  const json state = json::parse(R"({
    "version": 9, "baseline": "blue", "candidate": "green",
    "weights": {"blue": 100, "green": 0},
    "pools": [{"name": "blue", "endpoints": [{"address": "127.0.0.1:1", "weight": 1}]},
              {"name": "green", "endpoints": []}]})");
  PlanState plan;
  std::string error;
  ASSERT_TRUE(ReadPlanState(state, &plan, &error)) << error;
  EXPECT_EQ(plan.version, 9u);
  EXPECT_EQ(plan.baseline, "blue");
  ASSERT_EQ(plan.pools.size(), 2u);
  EXPECT_TRUE(plan.pools[0].has_endpoints);
  EXPECT_FALSE(plan.pools[1].has_endpoints);
}

TEST(ReadPlanState, NullBaselineAndMalformedStates) {
  PlanState plan;
  std::string error;
  ASSERT_TRUE(ReadPlanState(json::parse(R"({"version": 1, "baseline": null, "pools": []})"), &plan,
                            &error));
  EXPECT_EQ(plan.baseline, "");
  EXPECT_FALSE(ReadPlanState(json::parse(R"({"pools": []})"), &plan, &error));
  EXPECT_FALSE(ReadPlanState(json::parse(R"({"version": "1", "pools": []})"), &plan, &error));
  EXPECT_FALSE(ReadPlanState(json::parse(R"({"version": 1})"), &plan, &error));
  EXPECT_FALSE(ReadPlanState(json::parse(R"({"version": 1, "pools": [{}]})"), &plan, &error));
  EXPECT_FALSE(ReadPlanState(json::parse("[]"), &plan, &error));
}

}  // namespace
}  // namespace cutover::proxy::ctl
