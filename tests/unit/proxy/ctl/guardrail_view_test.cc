#include "proxy/ctl/guardrail_view.h"

#include <gtest/gtest.h>

namespace cutover::proxy::ctl {
namespace {

using nlohmann::json;

// GET /v1/guardrails as the API contract gives it: a breach, rolled back, not acknowledged.
json Breached() {
  json body = json::parse(R"({
    "enabled": true, "action": "rollback", "window_ms": 30000,
    "spec": {"min_requests": 50, "max_error_rate_increase": 0.01, "max_error_rate_ratio": 0,
             "max_error_rate": 0, "latency_quantile": 0.99, "max_latency_ratio": 1.5,
             "max_latency_ms": 0, "false_alarm": 0.0001, "budget_false_alarm": 0.05},
    "verdict": {"kind": "breach", "rule": "error_rate",
                "explain": "",
                "evaluated_unix_ms": 1764102020000,
                "baseline": {"pool": "blue", "requests": 900, "errors": 1, "error_rate": 0.0011,
                             "p99_ms": 12.5},
                "candidate": {"pool": "green", "requests": 100, "errors": 5, "error_rate": 0.05,
                              "p99_ms": 14.0}},
    "breach": {"rule": "error_rate", "explain": "",
               "unix_ms": 1764102020000, "action": "rollback", "acknowledged": false},
    "breaches_total": {"error_rate": 1, "latency": 0, "error_rate_ceiling": 0,
                       "latency_ceiling": 0}})");
  // The server's explanations, which start with the verdict.
  body["verdict"]["explain"] =
      "breach error_rate: candidate 5.00% errors (5/100) vs baseline 0.11% (1/900): worse "
      "(p=2e-06 <= 0.0001)";
  body["breach"]["explain"] = "breach error_rate: candidate 5.00% errors (5/100)";
  return body;
}

TEST(GuardrailsView, BreachWithFiguresRulesAndTheWayToAcknowledge) {
  EXPECT_EQ(GuardrailsView(Breached()),
            "guardrails on: a breach rolls back the candidate (window 30s)\n"
            "verdict: BREACH error_rate: candidate 5.00% errors (5/100) vs baseline 0.11% "
            "(1/900): worse (p=2e-06 <= 0.0001) (2025-11-25T20:20:20Z)\n"
            "\n"
            "POOL   ROLE       REQUESTS  ERRORS  ERROR RATE  P99 MS\n"
            "blue   baseline   900       1       0.0011      12.5\n"
            "green  candidate  100       5       0.0500      14.0\n"
            "\n"
            "rules: at least 50 requests per pool; error rate at most baseline + 0.01; p99 at "
            "most 1.5 x baseline; false breaches at most 0.0001 per check like the baseline, 0.05 "
            "at the budget's edge\n"
            "breach: error_rate at 2025-11-25T20:20:20Z, rolled back, NOT ACKNOWLEDGED\n"
            "  breach error_rate: candidate 5.00% errors (5/100)\n"
            "  `cutover ctl guardrails ack --reason TEXT` acknowledges it\n"
            "breaches since start: error_rate 1\n");
}

TEST(GuardrailsView, PausedBreachSuggestsResumeAndAcknowledgedSaysSo) {
  json guardrails = Breached();
  guardrails["action"] = "pause";
  guardrails["breach"]["action"] = "pause";
  std::string view = GuardrailsView(guardrails);
  EXPECT_NE(view.find("guardrails on: a breach pauses the rollout (window 30s)\n"),
            std::string::npos)
      << view;
  EXPECT_NE(view.find(", rollout paused, NOT ACKNOWLEDGED\n"), std::string::npos) << view;
  EXPECT_NE(view.find("acknowledges it (add --resume to resume the rollout)\n"), std::string::npos)
      << view;
  guardrails["breach"]["acknowledged"] = true;
  view = GuardrailsView(guardrails);
  EXPECT_NE(view.find(", rollout paused, acknowledged\n"), std::string::npos) << view;
  EXPECT_EQ(view.find("guardrails ack"), std::string::npos) << view;
}

TEST(GuardrailsView, OffHealthyAndNoBreach) {
  json guardrails = Breached();
  guardrails["enabled"] = false;
  guardrails["verdict"]["kind"] = "healthy";
  guardrails["verdict"]["rule"] = "";
  guardrails["verdict"]["explain"] = "healthy: candidate 0.00% errors (0/100), p=1";
  guardrails["breach"] = nullptr;
  guardrails["breaches_total"] = {{"error_rate", 0}, {"latency", 0}};
  const std::string view = GuardrailsView(guardrails);
  EXPECT_EQ(view.rfind("guardrails off (no [guardrails] in the config): a breach only stops a "
                       "rollout (window 30s)\n"
                       "verdict: healthy: candidate 0.00% errors (0/100), p=1 "
                       "(2025-11-25T20:20:20Z)\n",
                       0),
            0u)
      << view;
  EXPECT_EQ(view.find("\nbreach"), std::string::npos) << view;
}

TEST(VerdictLine, EveryKindSaidOnce) {
  // The server's explanations start with the verdict: it is not said twice.
  EXPECT_EQ(VerdictLine({{"kind", "healthy"}, {"rule", ""}, {"explain", "healthy: 0/80 errors"}}),
            "healthy: 0/80 errors");
  EXPECT_EQ(VerdictLine({{"kind", "breach"},
                         {"rule", "latency"},
                         {"explain", "breach latency: candidate p99 ~40 ms vs ~12 ms"}}),
            "BREACH latency: candidate p99 ~40 ms vs ~12 ms");
  EXPECT_EQ(VerdictLine({{"kind", "insufficient_data"},
                         {"explain", "insufficient data: baseline 3 requests, candidate 1"}}),
            "insufficient data: baseline 3 requests, candidate 1");
  EXPECT_EQ(VerdictLine({{"kind", "none"}, {"explain", "no baseline and candidate to compare"}}),
            "no candidate: no baseline and candidate to compare");
  // Explanations that do not start with it get the label.
  EXPECT_EQ(VerdictLine({{"kind", "healthy"}, {"explain", "fine"}}), "healthy: fine");
  EXPECT_EQ(VerdictLine({{"kind", "breach"}, {"rule", "latency"}, {"explain", "p99 3x"}}),
            "BREACH latency: p99 3x");
  EXPECT_EQ(VerdictLine({{"kind", "breach"}, {"explain", "p99 3x"}}), "BREACH: p99 3x");
  EXPECT_EQ(VerdictLine({{"kind", "none"}, {"explain", ""}}), "no candidate");
  EXPECT_EQ(VerdictLine(json()), "");
  EXPECT_EQ(VerdictLine({{"kind", 7}}), "");
}

TEST(GuardrailSpecLine, OnlyTheRulesInForce) {
  EXPECT_EQ(GuardrailSpecLine({{"min_requests", 100},
                               {"max_error_rate_ratio", 2},
                               {"max_error_rate", 0.05},
                               {"latency_quantile", 0.999},
                               {"max_latency_ms", 250}}),
            "at least 100 requests per pool; error rate at most 2 x baseline; error rate at most "
            "0.05; p99.9 at most 250 ms");
  EXPECT_EQ(GuardrailSpecLine({{"false_alarm", 0.001}}),
            "false breaches at most 0.001 per check like the baseline");
  EXPECT_EQ(GuardrailSpecLine(json::object()), "");
  EXPECT_EQ(GuardrailSpecLine(json()), "");
}

TEST(GuardrailStatusLine, VerdictAndAnUnacknowledgedBreach) {
  EXPECT_EQ(GuardrailStatusLine(Breached()),
            "guardrails (rollback on breach): BREACH error_rate: candidate 5.00% errors (5/100) vs "
            "baseline 0.11% (1/900): worse (p=2e-06 <= 0.0001); unacknowledged error_rate breach: "
            "`cutover ctl guardrails`");
  json off = Breached();
  off["enabled"] = false;
  off["breach"] = nullptr;
  off["verdict"] = {{"kind", "insufficient_data"}, {"explain", "green 3/50 requests"}};
  EXPECT_EQ(GuardrailStatusLine(off),
            "guardrails off (verdict only): insufficient data: green 3/50 requests");
}

TEST(GuardrailsView, SurvivesOddAnswers) {
  EXPECT_EQ(GuardrailsView(json()),
            "guardrails off (no [guardrails] in the config): a breach only stops a rollout\n"
            "verdict: -\n");
  json odd = Breached();
  odd["verdict"]["explain"] = "bad\x1b]0;title\x07";
  odd["verdict"]["baseline"] = "blue";
  odd["breaches_total"] = {{"error_rate", "many"}};
  const std::string view = GuardrailsView(odd);
  EXPECT_EQ(view.find('\x1b'), std::string::npos) << view;
  EXPECT_NE(view.find("green  candidate  100"), std::string::npos) << view;
}

}  // namespace
}  // namespace cutover::proxy::ctl
