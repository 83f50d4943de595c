// The human-readable output of `cutover ctl` (without --json): each API answer
// (docs/admin-api.md) as a few lines and tables. Pure functions of the JSON, so the layout is
// unit-tested; a field the server left out prints as "-" rather than failing, so an older or
// newer server still gets a readable answer.
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

namespace cutover::proxy::ctl {

// `GET /v1/state`: version, baseline and candidate, pools, rules.
std::string StatusView(const nlohmann::json& state);

// Under this many days left, a certificate's line is flagged (the alert docs/tls.md suggests).
inline constexpr int64_t kExpirySoonDays = 14;

// `GET /v1/tls`: one line per served certificate, the proxy listener's then the admin
// listener's, e.g. "tls: example.com, *.example.com  expires 2027-01-10 (46 days)", flagged
// "EXPIRES SOON" under kExpirySoonDays and "EXPIRED" past its date; "" when neither listener
// has TLS. `now_unix` is the caller's clock.
std::string TlsView(const nlohmann::json& tls, int64_t now_unix);

// `GET /v1/rules` ({"version", "rules"}) or a bare array of rules.
std::string RulesView(const nlohmann::json& rules);

// `GET /v1/history`.
std::string HistoryView(const nlohmann::json& history);

// `GET /v1/audit`.
std::string AuditView(const nlohmann::json& audit);

// `GET /v1/compare`: a row per pool, the candidate-minus-baseline deltas, and the guardrail
// verdict when the server gives one.
std::string CompareView(const nlohmann::json& compare);

// `GET /v1/health`.
std::string HealthView(const nlohmann::json& health);

// The answer to a change (a new state plus "switch_us" and "workers"): "version 8: blue=80
// green=20 (2 workers switched in 153 us)".
std::string ChangeView(const nlohmann::json& state);

// A state's weights in its pool order: "blue=80 green=20".
std::string WeightsLine(const nlohmann::json& state);

// A rule's "match" object on one line: "header X-Beta=1,2; path_prefix /api".
std::string MatchLine(const nlohmann::json& match);

}  // namespace cutover::proxy::ctl
