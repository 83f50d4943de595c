// `GET /v1/guardrails` for people: the verdict on the candidate now (healthy, breach,
// insufficient data), the figures it was reached from, the rules in force, and any breach with
// whether someone has acknowledged it, e.g.
//
//   guardrails on: a breach rolls back the candidate (window 30s)
//   verdict: BREACH error_rate: candidate 5.00% errors (5/100) vs baseline 0.11% ...
//
// Pure functions of the JSON, like response_views.h: missing or mistyped fields are skipped,
// never fatal; strings from the server are sanitised.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace cutover::proxy::ctl {

// The whole `ctl guardrails` view (also the answer to `guardrails ack`).
std::string GuardrailsView(const nlohmann::json& guardrails);

// A verdict object (GET /v1/guardrails "verdict", GET /v1/compare "guardrail") on one line:
// "healthy: <figures>", "BREACH latency: <figures>", "insufficient data: <figures>", "no
// candidate"; "" for something that is not a verdict.
std::string VerdictLine(const nlohmann::json& verdict);

// The rules of a "spec" object on one line, only those in force (a 0 limit is off):
// "at least 50 requests per pool; error rate at most baseline + 0.01; p99 at most 1.5 x
// baseline; false breaches at most 0.0001 per check like the baseline, 0.05 at the budget's
// edge".
std::string GuardrailSpecLine(const nlohmann::json& spec);

// `ctl status`'s line: "guardrails: healthy: ..." or "guardrails off (verdict only): ...",
// with an unacknowledged breach called out.
std::string GuardrailStatusLine(const nlohmann::json& guardrails);

}  // namespace cutover::proxy::ctl
