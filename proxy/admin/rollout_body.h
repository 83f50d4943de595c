// The body of `POST /v1/rollout` (docs/admin-api.md): {"steps": [1, 5, 25, 50, 100],
// "dwell": "2m", "min_requests": 0, "reason": "..."}. Pure: no I/O, any thread.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "proxy/admin/state_json.h"
#include "routing/rollout.h"

namespace cutover::proxy::admin {

struct RolloutRequest {
  routing::RolloutPlan plan;
  std::string reason;
};

// False with *error naming the field when the body is not a valid rollout; *out is then
// untouched. Steps are percents with at most two decimals, strictly increasing, each in
// (0, 100]; dwell is a duration from 1s to 24h ("30s", "2m"); min_requests is optional.
bool ParseRolloutBody(const nlohmann::json& body, RolloutRequest* out, FieldError* error);

// The optional {"reason": "..."} of the rollout commands and the guardrail acknowledgement,
// plus {"resume": bool} when `allow_resume`. False with *error for anything else.
bool ParseReasonBody(const std::string& text, bool allow_resume, std::string* reason, bool* resume,
                     FieldError* error);

}  // namespace cutover::proxy::admin
