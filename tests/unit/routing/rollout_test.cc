#include "routing/rollout.h"

#include <gtest/gtest.h>

namespace cutover::routing {
namespace {

using Kind = RolloutDecision::Kind;
using Health = Verdict::Kind;

RolloutPlan Plan(uint64_t min_requests = 0) {
  return {
      .steps_bp = {100, 500, 2500, 5000, 10000}, .dwell_ms = 10'000, .min_requests = min_requests};
}

RolloutProgress Running(std::size_t step, int64_t started_ms, uint64_t requests_at = 0) {
  return {.phase = RolloutPhase::kRunning,
          .step = step,
          .step_started_ms = started_ms,
          .step_requests_at = requests_at};
}

RolloutObservation At(int64_t now_ms, uint32_t candidate_bp, Health verdict = Health::kHealthy,
                      uint64_t requests = 0) {
  return {.now_ms = now_ms,
          .verdict = verdict,
          .candidate_bp = candidate_bp,
          .candidate_requests = requests};
}

TEST(RolloutPlan, Validation) {
  EXPECT_EQ(ValidateRolloutPlan(Plan()), "");
  EXPECT_NE(ValidateRolloutPlan({.steps_bp = {}, .dwell_ms = 10'000}), "");
  EXPECT_NE(ValidateRolloutPlan({.steps_bp = {0, 100}, .dwell_ms = 10'000}), "");
  EXPECT_NE(ValidateRolloutPlan({.steps_bp = {500, 100}, .dwell_ms = 10'000}), "");
  EXPECT_NE(ValidateRolloutPlan({.steps_bp = {500, 500}, .dwell_ms = 10'000}), "");
  EXPECT_NE(ValidateRolloutPlan({.steps_bp = {10'001}, .dwell_ms = 10'000}), "");
  EXPECT_NE(ValidateRolloutPlan({.steps_bp = {100}, .dwell_ms = 999}), "");
  EXPECT_NE(ValidateRolloutPlan({.steps_bp = {100}, .dwell_ms = 86'400'001}), "");
  EXPECT_EQ(ValidateRolloutPlan({.steps_bp = {100}, .dwell_ms = 1'000}), "");
}

TEST(Rollout, WaitsForTheDwellThenAdvancesOnAHealthyVerdict) {
  const RolloutDecision early = DecideRollout(Plan(), Running(0, 1'000), At(5'000, 100));
  EXPECT_EQ(early.kind, Kind::kNone);
  EXPECT_EQ(early.waiting_for, RolloutWait::kDwell);
  EXPECT_EQ(early.dwell_left_ms, 6'000);
  const RolloutDecision due = DecideRollout(Plan(), Running(0, 1'000), At(11'000, 100));
  EXPECT_EQ(due.kind, Kind::kAdvance);
  EXPECT_EQ(due.weight_bp, 500u);
}

TEST(Rollout, InsufficientDataIsNoEvidence) {
  const RolloutDecision decision =
      DecideRollout(Plan(), Running(1, 0), At(60'000, 500, Health::kInsufficientData));
  EXPECT_EQ(decision.kind, Kind::kNone);
  EXPECT_EQ(decision.waiting_for, RolloutWait::kHealthyVerdict);
}

TEST(Rollout, AStepNeedsItsMinimumOfCandidateRequests) {
  const RolloutPlan plan = Plan(100);
  EXPECT_EQ(
      DecideRollout(plan, Running(0, 0, 40), At(20'000, 100, Health::kHealthy, 139)).waiting_for,
      RolloutWait::kMinRequests);
  EXPECT_EQ(DecideRollout(plan, Running(0, 0, 40), At(20'000, 100, Health::kHealthy, 140)).kind,
            Kind::kAdvance);
}

TEST(Rollout, BreachPausesEvenBeforeTheDwellEnds) {
  const RolloutDecision decision =
      DecideRollout(Plan(), Running(2, 0), At(1'000, 2500, Health::kBreach));
  EXPECT_EQ(decision.kind, Kind::kPause);
  EXPECT_EQ(decision.why, "guardrail breach at step 3 (25 %)");
}

TEST(Rollout, AWeightChangedOutsideTheRolloutStopsIt) {
  const RolloutDecision moved = DecideRollout(Plan(), Running(1, 0), At(1'000, 1000));
  EXPECT_EQ(moved.kind, Kind::kPause);
  EXPECT_NE(moved.why.find("10 %"), std::string::npos) << moved.why;
  EXPECT_EQ(DecideRollout(Plan(), Running(1, 0), At(1'000, 0)).kind, Kind::kAborted);
}

TEST(Rollout, TheLastStepAtFullCompletesWithoutABaselineToCompare) {
  const RolloutDecision decision =
      DecideRollout(Plan(), Running(4, 0), At(10'000, 10000, Health::kInsufficientData));
  EXPECT_EQ(decision.kind, Kind::kComplete);
  EXPECT_EQ(DecideRollout(Plan(), Running(4, 0), At(10'000, 10000, Health::kBreach)).kind,
            Kind::kPause);
}

TEST(Rollout, AScheduleEndingBelowFullCompletesOnlyWhenHealthy) {
  const RolloutPlan plan{.steps_bp = {100, 2500}, .dwell_ms = 1'000, .min_requests = 0};
  EXPECT_EQ(
      DecideRollout(plan, Running(1, 0), At(5'000, 2500, Health::kInsufficientData)).waiting_for,
      RolloutWait::kHealthyVerdict);
  EXPECT_EQ(DecideRollout(plan, Running(1, 0), At(5'000, 2500)).kind, Kind::kComplete);
}

TEST(Rollout, OnlyARunningRolloutDecides) {
  for (const RolloutPhase phase : {RolloutPhase::kNone, RolloutPhase::kPaused,
                                   RolloutPhase::kCompleted, RolloutPhase::kAborted}) {
    RolloutProgress progress = Running(0, 0);
    progress.phase = phase;
    EXPECT_EQ(DecideRollout(Plan(), progress, At(100'000, 0, Health::kBreach)).kind, Kind::kNone)
        << RolloutPhaseName(phase);
  }
}

TEST(Rollout, AdvancingRestartsTheDwellAndTheRequestCount) {
  const RolloutProgress next =
      AdvancedTo(Running(0, 0, 5), 1, At(12'000, 100, Health::kHealthy, 90));
  EXPECT_EQ(next.step, 1u);
  EXPECT_EQ(next.step_started_ms, 12'000);
  EXPECT_EQ(next.step_requests_at, 90u);
  EXPECT_EQ(DecideRollout(Plan(), next, At(13'000, 500)).waiting_for, RolloutWait::kDwell);
}

TEST(Rollout, AClockSteppingBackNeverShortensTheDwell) {
  EXPECT_EQ(DecideRollout(Plan(), Running(0, 50'000), At(1'000, 100)).dwell_left_ms, 10'000);
}

TEST(Rollout, WalksTheWholeScheduleToCompletion) {
  RolloutProgress progress = Running(0, 0);
  int64_t now = 0;
  std::vector<uint32_t> applied = {100};
  for (int tick = 0; tick < 100; ++tick) {
    now += 1'000;
    const RolloutObservation seen = At(now, applied.back());
    const RolloutDecision decision = DecideRollout(Plan(), progress, seen);
    if (decision.kind == Kind::kComplete) break;
    if (decision.kind == Kind::kAdvance) {
      applied.push_back(decision.weight_bp);
      progress = AdvancedTo(progress, progress.step + 1, seen);
    }
  }
  EXPECT_EQ(applied, (std::vector<uint32_t>{100, 500, 2500, 5000, 10000}));
  EXPECT_EQ(now, 50'000);
  EXPECT_EQ(FormatSteps(Plan().steps_bp), "1,5,25,50,100");
}

}  // namespace
}  // namespace cutover::routing
