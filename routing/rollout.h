// Progressive rollout (DESIGN §5, issue 8): the candidate's weight climbs a schedule of steps
// (e.g. 1, 5, 25, 50, 100 %), each held for a dwell, and moves up only on evidence: the dwell
// has passed without a breach, the step has seen its minimum of candidate requests, and the
// guardrail verdict is healthy now. Pure: the caller (proxy/guardrail_loop.h) supplies the
// time, the verdict, the candidate's live weight and its request count, applies the weight a
// decision names, persists the progress and audits each step.
//
// Why "healthy now" and not "not breached": insufficient data is no evidence. A step whose
// dwell ends before both pools have min_requests in the guardrail window waits for them. The
// last step is the exception: at 100 % the baseline has no traffic left to compare against,
// so its dwell only has to pass without a breach (the window still holds the step before it
// for a while, and absolute ceilings keep judging the candidate alone). A schedule that ends
// below 100 % completes there, on a healthy verdict like any other step.
//
// Weights are basis points (1 % = 100), as routing::PoolSpec keeps them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "routing/guardrail.h"

namespace cutover::routing {

struct RolloutPlan {
  std::vector<uint32_t> steps_bp;  // strictly increasing, each in (0, 10000]
  int64_t dwell_ms = 0;            // each step is held at least this long
  uint64_t min_requests = 0;       // candidate requests each step must see (0 = none)
};

// Empty when usable, else what is wrong.
std::string ValidateRolloutPlan(const RolloutPlan& plan);

enum class RolloutPhase : uint8_t { kNone, kRunning, kPaused, kCompleted, kAborted };
std::string_view RolloutPhaseName(RolloutPhase phase);

struct RolloutProgress {
  RolloutPhase phase = RolloutPhase::kNone;
  std::size_t step = 0;           // index into steps_bp of the weight applied
  int64_t step_started_ms = 0;    // the caller's clock: when the dwell began
  uint64_t step_requests_at = 0;  // the candidate's request count when the dwell began
};

// What the caller sees now.
struct RolloutObservation {
  int64_t now_ms = 0;
  Verdict::Kind verdict = Verdict::Kind::kInsufficientData;
  uint32_t candidate_bp = 0;        // the candidate's live weight
  uint64_t candidate_requests = 0;  // its request count so far (monotone)
};

// Why a running step has not moved up yet.
enum class RolloutWait : uint8_t { kNothing, kDwell, kMinRequests, kHealthyVerdict };
std::string_view RolloutWaitName(RolloutWait wait);

struct RolloutDecision {
  enum class Kind : uint8_t {
    kNone,      // keep going (see `waiting_for`)
    kAdvance,   // apply steps_bp[step + 1], then AdvancedTo()
    kComplete,  // the last step held its dwell: the rollout is done
    kPause,     // stop here: `why` says what happened (a breach, someone changed weights)
    kAborted,   // the candidate was taken to 0 outside the rollout (a rollback)
  };
  Kind kind = Kind::kNone;
  uint32_t weight_bp = 0;  // kAdvance: the next weight
  RolloutWait waiting_for = RolloutWait::kNothing;
  int64_t dwell_left_ms = 0;
  std::string why;
};

// The next thing to do for a running rollout; kNone for any other phase.
RolloutDecision DecideRollout(const RolloutPlan& plan, const RolloutProgress& progress,
                              const RolloutObservation& now);

// The progress after the caller applied a kAdvance decision (or resumed, or restarted: the
// dwell begins again at `now`).
RolloutProgress AdvancedTo(const RolloutProgress& progress, std::size_t step,
                           const RolloutObservation& now);

// "1,5,25,50,100" style steps (percent) as text for logs and audit reasons.
std::string FormatSteps(const std::vector<uint32_t>& steps_bp);

}  // namespace cutover::routing
