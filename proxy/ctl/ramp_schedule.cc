#include "proxy/ctl/ramp_schedule.h"

#include <optional>
#include <utility>

#include "proxy/duration.h"

namespace cutover::proxy::ctl {

bool ParseRampSteps(std::string_view text, std::vector<uint32_t>* steps, std::string* error) {
  std::vector<uint32_t> result;
  while (true) {
    const std::size_t comma = text.find(',');
    const std::string_view step = text.substr(0, comma);
    uint32_t basis_points = 0;
    std::string why;
    if (step.empty()) {
      *error = "empty step in the ramp (expected e.g. 5,25,50,100)";
      return false;
    }
    if (!ParsePercent(step, &basis_points, &why)) {
      *error = "step " + std::to_string(result.size() + 1) + ": " + why;
      return false;
    }
    result.push_back(basis_points);
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  *steps = std::move(result);
  return true;
}

bool ParseRampInterval(std::string_view text, std::chrono::milliseconds* out, std::string* error) {
  const std::optional<std::chrono::milliseconds> interval = ParseDuration(text);
  if (!interval) {
    *error = "--every '" + std::string(text) + "' is not a duration (e.g. 250ms, 30s, 5m, 1h)";
    return false;
  }
  if (interval->count() == 0) {
    *error = "--every must be more than 0";
    return false;
  }
  *out = *interval;
  return true;
}

bool PlanRamp(const PlanState& state, const std::string& pool, const std::vector<uint32_t>& steps,
              std::vector<std::vector<PoolWeight>>* plans, std::string* error) {
  std::vector<std::vector<PoolWeight>> result;
  for (std::size_t i = 0; i < steps.size(); ++i) {
    std::vector<PoolWeight> plan;
    std::string why;
    if (!PlanWeights(state, {Assignment{.pool = pool, .basis_points = steps[i]}}, &plan, &why)) {
      *error = "step " + std::to_string(i + 1) + " (" + FormatPercent(steps[i]) + "): " + why;
      return false;
    }
    result.push_back(std::move(plan));
  }
  *plans = std::move(result);
  return true;
}

}  // namespace cutover::proxy::ctl
