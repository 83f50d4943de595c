#include "proxy/admin/rollout_body.h"

#include "proxy/duration.h"

namespace cutover::proxy::admin {
namespace {

using nlohmann::json;

constexpr std::size_t kMaxReason = 1024;

bool Fail(FieldError* error, std::string field, std::string message) {
  *error = {std::move(field), std::move(message)};
  return false;
}

bool ReadReason(const json& value, std::string* reason, FieldError* error) {
  if (!value.is_string() || value.get_ref<const std::string&>().size() > kMaxReason) {
    return Fail(error, "reason", "reason must be a string of at most 1024 bytes");
  }
  *reason = value.get<std::string>();
  return true;
}

}  // namespace

bool ParseRolloutBody(const json& body, RolloutRequest* out, FieldError* error) {
  if (!body.is_object()) {
    return Fail(error, "",
                "the body must be a JSON object like {\"steps\": [1, 5, 25, 50, 100], "
                "\"dwell\": \"2m\"}");
  }
  RolloutRequest request;
  bool has_steps = false;
  bool has_dwell = false;
  for (const auto& [key, value] : body.items()) {
    if (key == "steps") {
      if (!value.is_array()) return Fail(error, "steps", "steps must be an array of percents");
      for (std::size_t i = 0; i < value.size(); ++i) {
        uint32_t step = 0;
        if (!ParsePercent(value[i], "steps", &step, error)) return false;
        request.plan.steps_bp.push_back(step);
      }
      has_steps = true;
    } else if (key == "dwell") {
      const std::optional<std::chrono::milliseconds> dwell =
          value.is_string() ? ParseDuration(value.get<std::string>()) : std::nullopt;
      if (!dwell) return Fail(error, "dwell", "dwell must be a duration such as \"30s\" or \"2m\"");
      request.plan.dwell_ms = dwell->count();
      has_dwell = true;
    } else if (key == "min_requests") {
      if (!value.is_number_unsigned() || value.get<uint64_t>() > 1'000'000'000) {
        return Fail(error, "min_requests", "min_requests must be an integer from 0 to 1000000000");
      }
      request.plan.min_requests = value.get<uint64_t>();
    } else if (key == "reason") {
      if (!ReadReason(value, &request.reason, error)) return false;
    } else {
      return Fail(error, key, "unknown field");
    }
  }
  if (!has_steps) return Fail(error, "steps", "steps is required, e.g. [1, 5, 25, 50, 100]");
  if (!has_dwell) return Fail(error, "dwell", "dwell is required, e.g. \"2m\"");
  if (std::string problem = routing::ValidateRolloutPlan(request.plan); !problem.empty()) {
    std::string field = problem.rfind("dwell", 0) == 0 ? "dwell" : "steps";
    return Fail(error, std::move(field), std::move(problem));
  }
  *out = std::move(request);
  return true;
}

bool ParseReasonBody(const std::string& text, bool allow_resume, std::string* reason, bool* resume,
                     FieldError* error) {
  if (text.empty()) return true;
  const json body = json::parse(text, nullptr, false);
  if (body.is_discarded() || !body.is_object()) {
    return Fail(error, "", "the body must be a JSON object like {\"reason\": \"...\"}");
  }
  std::string parsed_reason;
  bool parsed_resume = false;
  for (const auto& [key, value] : body.items()) {
    if (key == "reason") {
      if (!ReadReason(value, &parsed_reason, error)) return false;
    } else if (key == "resume" && allow_resume) {
      if (!value.is_boolean()) return Fail(error, "resume", "resume must be true or false");
      parsed_resume = value.get<bool>();
    } else {
      return Fail(error, key, "unknown field");
    }
  }
  *reason = std::move(parsed_reason);
  if (resume != nullptr) *resume = parsed_resume;
  return true;
}

}  // namespace cutover::proxy::admin
