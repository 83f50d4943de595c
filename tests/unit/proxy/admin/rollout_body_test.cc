#include "proxy/admin/rollout_body.h"

#include <gtest/gtest.h>

namespace cutover::proxy::admin {
namespace {

using nlohmann::json;

FieldError Refused(const json& body) {
  RolloutRequest out;
  out.reason = "untouched";
  FieldError error;
  EXPECT_FALSE(ParseRolloutBody(body, &out, &error)) << body.dump();
  EXPECT_EQ(out.reason, "untouched");
  EXPECT_FALSE(error.message.empty());
  return error;
}

TEST(RolloutBody, ReadsStepsDwellMinimumAndReason) {
  RolloutRequest out;
  FieldError error;
  ASSERT_TRUE(ParseRolloutBody(json::parse(R"({"steps": [0.5, 5, 25, 50, 100], "dwell": "2m",
                                               "min_requests": 500, "reason": "ramp"})"),
                               &out, &error))
      << error.message;
  EXPECT_EQ(out.plan.steps_bp, (std::vector<uint32_t>{50, 500, 2500, 5000, 10000}));
  EXPECT_EQ(out.plan.dwell_ms, 120'000);
  EXPECT_EQ(out.plan.min_requests, 500u);
  EXPECT_EQ(out.reason, "ramp");
}

TEST(RolloutBody, NamesTheFieldOfEachMistake) {
  EXPECT_EQ(Refused(json::parse(R"([1, 5])")).field, "");
  EXPECT_EQ(Refused(json::parse(R"({"dwell": "1m"})")).field, "steps");
  EXPECT_EQ(Refused(json::parse(R"({"steps": [1]})")).field, "dwell");
  EXPECT_EQ(Refused(json::parse(R"({"steps": [5, 1], "dwell": "1m"})")).field, "steps");
  EXPECT_EQ(Refused(json::parse(R"({"steps": [], "dwell": "1m"})")).field, "steps");
  EXPECT_EQ(Refused(json::parse(R"({"steps": [1.001], "dwell": "1m"})")).field, "steps");
  EXPECT_EQ(Refused(json::parse(R"({"steps": [101], "dwell": "1m"})")).field, "steps");
  EXPECT_EQ(Refused(json::parse(R"({"steps": ["1"], "dwell": "1m"})")).field, "steps");
  EXPECT_EQ(Refused(json::parse(R"({"steps": [1], "dwell": "999ms"})")).field, "dwell");
  EXPECT_EQ(Refused(json::parse(R"({"steps": [1], "dwell": "25h"})")).field, "dwell");
  EXPECT_EQ(Refused(json::parse(R"({"steps": [1], "dwell": 60})")).field, "dwell");
  EXPECT_EQ(Refused(json::parse(R"({"steps": [1], "dwell": "1m", "min_requests": 1.5})")).field,
            "min_requests");
  EXPECT_EQ(Refused(json::parse(R"({"steps": [1], "dwell": "1m", "reason": 7})")).field, "reason");
  EXPECT_EQ(Refused(json::parse(R"({"steps": [1], "dwell": "1m", "every": "1m"})")).field, "every");
}

TEST(ReasonBody, TakesAnEmptyBodyAReasonAndResumeWhereAllowed) {
  std::string reason = "old";
  bool resume = false;
  FieldError error;
  EXPECT_TRUE(ParseReasonBody("", true, &reason, &resume, &error));
  EXPECT_EQ(reason, "old");
  EXPECT_TRUE(
      ParseReasonBody(R"({"reason": "fixed", "resume": true})", true, &reason, &resume, &error));
  EXPECT_EQ(reason, "fixed");
  EXPECT_TRUE(resume);
  EXPECT_FALSE(ParseReasonBody(R"({"resume": true})", false, &reason, nullptr, &error));
  EXPECT_EQ(error.field, "resume");
  EXPECT_FALSE(ParseReasonBody(R"({"resume": "yes"})", true, &reason, &resume, &error));
  EXPECT_EQ(error.field, "resume");
  EXPECT_FALSE(ParseReasonBody("not json", true, &reason, &resume, &error));
  EXPECT_EQ(error.field, "");
  EXPECT_FALSE(ParseReasonBody(R"({"reason": ")" + std::string(1025, 'x') + R"("})", true, &reason,
                               &resume, &error));
  EXPECT_EQ(error.field, "reason");
  EXPECT_EQ(reason, "fixed");
}

}  // namespace
}  // namespace cutover::proxy::admin
