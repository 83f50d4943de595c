// `cutover ctl ramp green 5,25,50,100 --every 5m`: the steps and the pause between them, checked
// before the first step is applied, so a typo in step four does not strand a release at step
// three. Pure: the loop that applies the steps lives in change_commands.cc.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "proxy/ctl/weights_plan.h"

namespace cutover::proxy::ctl {

// "5,25,50,100" -> {500, 2500, 5000, 10000}. Each step is a percent as ParsePercent reads it;
// empty steps ("5,,50") are refused. Steps need not rise: "50,10,0" ramps down.
bool ParseRampSteps(std::string_view text, std::vector<uint32_t>* steps, std::string* error);

// "30s", "5m", "1h", "250ms" (proxy/duration.h syntax); zero is refused, since a ramp with no
// pause between steps is just `weights set` to the last step.
bool ParseRampInterval(std::string_view text, std::chrono::milliseconds* out, std::string* error);

// The split for every step of ramping `pool` through `steps` from `state` (the baseline takes
// the rest, as in `weights set POOL=STEP`). False with *error naming the first bad step.
bool PlanRamp(const PlanState& state, const std::string& pool, const std::vector<uint32_t>& steps,
              std::vector<std::vector<PoolWeight>>* plans, std::string* error);

}  // namespace cutover::proxy::ctl
