#include "routing/rollout.h"

#include <algorithm>

#include "routing/weighted_split.h"

namespace cutover::routing {

namespace {
constexpr uint32_t kFullBp = 10'000;
}  // namespace

std::string ValidateRolloutPlan(const RolloutPlan& plan) {
  if (plan.steps_bp.empty()) return "steps must list at least one weight";
  if (plan.steps_bp.size() > 100) return "steps may list at most 100 weights";
  uint32_t previous = 0;
  for (const uint32_t step : plan.steps_bp) {
    if (step == 0 || step > kFullBp) return "each step must be above 0 and at most 100";
    if (step <= previous) return "steps must increase strictly";
    previous = step;
  }
  if (plan.dwell_ms < 1'000 || plan.dwell_ms > 86'400'000) {
    return "dwell must be between 1s and 24h";
  }
  return "";
}

std::string_view RolloutPhaseName(RolloutPhase phase) {
  switch (phase) {
    case RolloutPhase::kNone:
      return "none";
    case RolloutPhase::kRunning:
      return "running";
    case RolloutPhase::kPaused:
      return "paused";
    case RolloutPhase::kCompleted:
      return "completed";
    case RolloutPhase::kAborted:
      return "aborted";
  }
  return "none";
}

std::string_view RolloutWaitName(RolloutWait wait) {
  switch (wait) {
    case RolloutWait::kNothing:
      return "";
    case RolloutWait::kDwell:
      return "dwell";
    case RolloutWait::kMinRequests:
      return "min_requests";
    case RolloutWait::kHealthyVerdict:
      return "healthy_verdict";
  }
  return "";
}

RolloutDecision DecideRollout(const RolloutPlan& plan, const RolloutProgress& progress,
                              const RolloutObservation& now) {
  RolloutDecision decision;
  if (progress.phase != RolloutPhase::kRunning || progress.step >= plan.steps_bp.size()) {
    return decision;
  }
  const uint32_t expected = plan.steps_bp[progress.step];
  if (now.candidate_bp != expected) {
    // The rollout owns the candidate's weight while it runs: any other change (an operator, a
    // reload, a revert) wins, and the rollout stops rather than fight it.
    decision.kind =
        now.candidate_bp == 0 ? RolloutDecision::Kind::kAborted : RolloutDecision::Kind::kPause;
    decision.why = "the candidate's weight was changed outside the rollout (" +
                   FormatPercent(now.candidate_bp) + " %, the step is " + FormatPercent(expected) +
                   " %)";
    return decision;
  }
  if (now.verdict == Verdict::Kind::kBreach) {
    decision.kind = RolloutDecision::Kind::kPause;
    decision.why = "guardrail breach at step " + std::to_string(progress.step + 1) + " (" +
                   FormatPercent(expected) + " %)";
    return decision;
  }
  const int64_t elapsed = std::max<int64_t>(now.now_ms - progress.step_started_ms, 0);
  if (elapsed < plan.dwell_ms) {
    decision.waiting_for = RolloutWait::kDwell;
    decision.dwell_left_ms = plan.dwell_ms - elapsed;
    return decision;
  }
  const uint64_t seen = now.candidate_requests >= progress.step_requests_at
                            ? now.candidate_requests - progress.step_requests_at
                            : 0;
  if (seen < plan.min_requests) {
    decision.waiting_for = RolloutWait::kMinRequests;
    return decision;
  }
  // At 100 % the baseline serves nothing, so no verdict can be healthy: see the header.
  if (expected != kFullBp && now.verdict != Verdict::Kind::kHealthy) {
    decision.waiting_for = RolloutWait::kHealthyVerdict;
    return decision;
  }
  if (progress.step + 1 == plan.steps_bp.size()) {
    decision.kind = RolloutDecision::Kind::kComplete;
    return decision;
  }
  decision.kind = RolloutDecision::Kind::kAdvance;
  decision.weight_bp = plan.steps_bp[progress.step + 1];
  return decision;
}

RolloutProgress AdvancedTo(const RolloutProgress& progress, std::size_t step,
                           const RolloutObservation& now) {
  RolloutProgress next = progress;
  next.step = step;
  next.step_started_ms = now.now_ms;
  next.step_requests_at = now.candidate_requests;
  return next;
}

std::string FormatSteps(const std::vector<uint32_t>& steps_bp) {
  std::string text;
  for (const uint32_t step : steps_bp) {
    if (!text.empty()) text += ',';
    text += FormatPercent(step);
  }
  return text;
}

}  // namespace cutover::routing
