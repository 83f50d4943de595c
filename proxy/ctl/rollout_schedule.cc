#include "proxy/ctl/rollout_schedule.h"

#include <utility>

#include "proxy/ctl/ramp_schedule.h"
#include "proxy/ctl/time_text.h"
#include "proxy/ctl/weights_plan.h"
#include "proxy/duration.h"

namespace cutover::proxy::ctl {

bool ParseRolloutSteps(std::string_view text, std::vector<uint32_t>* steps, std::string* error) {
  // The syntax (percents, two decimals, at most 100, no empty step) is a ramp's.
  std::vector<uint32_t> parsed;
  if (!ParseRampSteps(text, &parsed, error)) return false;
  for (std::size_t i = 0; i < parsed.size(); ++i) {
    const std::string step = "step " + std::to_string(i + 1) + ": ";
    if (parsed[i] == 0) {
      *error = step + "0 sends the candidate nothing; the first step must be more than 0";
      return false;
    }
    if (i > 0 && parsed[i] <= parsed[i - 1]) {
      *error = step + FormatPercent(parsed[i]) + " is not more than step " + std::to_string(i) +
               "'s " + FormatPercent(parsed[i - 1]) +
               " (steps must rise; `rollout abort` goes back)";
      return false;
    }
  }
  *steps = std::move(parsed);
  return true;
}

bool ParseDwell(std::string_view text, std::chrono::milliseconds* dwell, std::string* error) {
  const std::optional<std::chrono::milliseconds> parsed = ParseDuration(text);
  if (!parsed) {
    *error = "--every '" + std::string(text) + "' is not a duration (e.g. 30s, 2m, 1h)";
    return false;
  }
  if (*parsed < kMinDwell || *parsed > kMaxDwell) {
    *error = "--every " + std::string(text) + " is out of range: from " +
             FormatDuration(kMinDwell.count()) + " to " + FormatDuration(kMaxDwell.count());
    return false;
  }
  *dwell = *parsed;
  return true;
}

nlohmann::json RolloutBody(const RolloutRequest& request) {
  nlohmann::json steps = nlohmann::json::array();
  for (const uint32_t step : request.steps) steps.push_back(PercentJson(step));
  nlohmann::json body = {{"steps", std::move(steps)}, {"dwell", request.dwell}};
  if (request.min_requests) body["min_requests"] = *request.min_requests;
  if (!request.reason.empty()) body["reason"] = request.reason;
  return body;
}

}  // namespace cutover::proxy::ctl
