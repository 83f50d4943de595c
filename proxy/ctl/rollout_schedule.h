// `cutover ctl rollout start 1,5,25,50,100 --every 2m`: the schedule of a server-side rollout
// (POST /v1/rollout), checked on the client by the server's own rules before anything is sent,
// so a typo exits 2 with a message naming the bad step instead of a 400 from afar. Unlike
// `ramp` (ramp_schedule.h), which the client runs step by step, the server keeps this schedule
// and advances it only while the guardrails hold. Pure.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace cutover::proxy::ctl {

// The dwell limits of POST /v1/rollout: a step shorter than a second gives the guardrails
// nothing to judge, and one longer than a day is a forgotten rollout.
inline constexpr std::chrono::milliseconds kMinDwell{1'000};
inline constexpr std::chrono::milliseconds kMaxDwell{24 * 3'600'000};

// "1,5,25,50,100" -> {100, 500, 2500, 5000, 10000} (basis points). Each step is a percent in
// (0, 100] with at most two decimals, and each is more than the one before: a rollout only moves
// traffic towards the candidate (`rollout abort` is the way back). *error names the bad step.
bool ParseRolloutSteps(std::string_view text, std::vector<uint32_t>* steps, std::string* error);

// "2m" (proxy/duration.h syntax), from kMinDwell to kMaxDwell.
bool ParseDwell(std::string_view text, std::chrono::milliseconds* dwell, std::string* error);

struct RolloutRequest {
  std::vector<uint32_t> steps;  // basis points, as ParseRolloutSteps gives them
  std::string dwell;            // as typed, already checked by ParseDwell
  std::optional<uint64_t> min_requests;
  std::string reason;  // "" = none
};

// The POST /v1/rollout body: {"steps": [1, 5, 25, 50, 100], "dwell": "2m", "min_requests": N,
// "reason": "..."}, the last two only when given.
nlohmann::json RolloutBody(const RolloutRequest& request);

}  // namespace cutover::proxy::ctl
