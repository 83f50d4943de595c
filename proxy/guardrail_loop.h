// The guardrail loop (DESIGN §5, issue 8, docs/guardrails.md): every `[guardrails] interval`
// it judges the candidate against the baseline over the last `window` (routing/guardrail.h),
// acts on a breach (`rollback` or `pause`, audited with the rule and the figures), and drives
// the progressive rollout (routing/rollout.h): each step's weight change, pause, resume, abort
// and promote goes through the ControlPlane like any admin change, and the rollout's progress
// is persisted with it, so a restart resumes where it was (the dwell restarts).
//
// A breach latches: it acts once, and nothing acts again (no rollout resumes, no second
// rollback) until an operator acknowledges it. After an acknowledgement the verdicts read
// only the traffic since then, so the breach that was just handled does not fire again on
// its own old counts.
//
// Threads: Tick() and every call below run on the admin thread (its loop's timer and the
// admin API's handler), so the state here needs no lock; the metrics scrape may run on the
// [metrics] listener's thread and reads only the atomics behind MetricsInput().
//
// Ownership: the Server owns the loop; the loop holds a plain pointer to the ControlPlane
// (also the Server's, which outlives it).
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "metrics/sliding_window.h"
#include "proxy/control_plane.h"
#include "routing/guardrail.h"
#include "routing/rollout.h"

namespace cutover::proxy {

// One pool's traffic as the loop needs it.
struct PoolObservation {
  metrics::WindowSnapshot window;  // the last window_ms, merged over workers
  uint64_t requests_total = 0;     // since start, merged over workers
};

class GuardrailLoop {
 public:
  // Reads pool `name`'s counters over the last `window_ms`; false when there is no such pool.
  using Observe =
      std::function<bool(const std::string& pool, int64_t window_ms, PoolObservation* out)>;

  GuardrailLoop(ControlPlane* control, Observe observe);
  GuardrailLoop(const GuardrailLoop&) = delete;
  GuardrailLoop& operator=(const GuardrailLoop&) = delete;

  // After the ControlPlane started: picks up a rollout the state file held. A running one
  // resumes with its dwell restarted at `now_ms`.
  void Restore(int64_t now_ms);

  // Called often (every AdminServer::kTickMs); once per `[guardrails] interval` it evaluates:
  // verdict, breach action, rollout step. `now_ms` is the monotonic clock the workers record on.
  void Tick(int64_t now_ms);

  // `GET /v1/guardrails`.
  nlohmann::json GuardrailsJson() const;
  // The latest verdict alone (`GET /v1/compare`'s "guardrail").
  nlohmann::json VerdictJson() const;
  // `POST /v1/guardrails/ack`: 409 when there is no breach to acknowledge.
  ControlAnswer Acknowledge(const Caller& caller, const std::string& reason, bool resume,
                            int64_t now_ms);

  // `GET /v1/rollout`.
  nlohmann::json RolloutJson(int64_t now_ms) const;
  // `POST /v1/rollout`: applies the first step at once.
  ControlAnswer StartRollout(const Caller& caller, const routing::RolloutPlan& plan,
                             const std::string& reason, int64_t now_ms);
  // `POST /v1/rollout/{pause,resume,abort,promote}`.
  enum class RolloutCommand : uint8_t { kPause, kResume, kAbort, kPromote };
  ControlAnswer CommandRollout(RolloutCommand command, const Caller& caller,
                               const std::string& reason, int64_t now_ms);

  // For the metrics scrape (any thread).
  struct MetricsView {
    std::array<uint64_t, 4> breaches{};  // by rule, in kRuleNames order
    std::string verdict;                 // "" before the first tick
    std::string rollout_phase;           // "" = never started
    double rollout_step_percent = 0;
  };
  MetricsView Metrics() const;
  static constexpr std::array<std::string_view, 4> kRuleNames = {
      routing::kRuleErrorRate, routing::kRuleErrorRateCeiling, routing::kRuleLatency,
      routing::kRuleLatencyCeiling};

 private:
  struct Breach {
    std::string rule;
    std::string explain;
    int64_t unix_ms = 0;
    std::string action;  // "rollback", "pause" or "none" ([guardrails] absent)
    bool acknowledged = false;
  };
  struct Rollout {
    routing::RolloutPlan plan;
    routing::RolloutProgress progress;
    std::string baseline;
    std::string candidate;
    std::string started_by;
    int64_t started_unix_ms = 0;
    int64_t step_started_unix_ms = 0;
    int64_t finished_unix_ms = 0;
    std::string paused_reason;
    routing::RolloutDecision last;  // the latest decision, for waiting_for / dwell_left
  };

  void Evaluate(int64_t now_ms);
  void ActOnBreach(int64_t now_ms);
  void DriveRollout(int64_t now_ms);
  routing::RolloutObservation Observation(int64_t now_ms) const;
  // Persists `rollout` with an audit entry and no routing change; logs and keeps the old
  // in-memory state when that fails.
  bool RecordRollout(const std::string& action, const Caller& caller, const std::string& reason,
                     const Rollout& rollout);
  // Applies the candidate weight `weight_bp` (the baseline takes the rest) with `rollout`.
  ControlAnswer ApplyStep(const std::string& action, const Caller& caller,
                          const std::string& reason, uint32_t weight_bp, const Rollout& rollout);
  // Rolls the candidate back (weight 0, its rules off) with `rollout`.
  ControlAnswer ApplyRollback(const std::string& action, const Caller& caller,
                              const std::string& reason, const Rollout& rollout);
  nlohmann::json RolloutState(const Rollout& rollout) const;  // as persisted
  void PublishMetrics();

  ControlPlane* control_;
  Observe observe_;
  routing::Verdict verdict_;
  int64_t last_tick_ms_ = 0;       // the last evaluation
  bool judged_ = false;            // a verdict was computed (there are two pools to compare)
  int64_t evaluated_unix_ms_ = 0;  // 0 = never
  std::string baseline_;           // the pools the verdict compared
  std::string candidate_;
  PoolObservation baseline_seen_;
  PoolObservation candidate_seen_;
  std::optional<Breach> breach_;
  int64_t judge_since_ms_ = 0;  // after an acknowledgement: read only traffic since then
  // Each pool's counts in the acknowledgement's slot at that moment, subtracted while that
  // slot is still the current one.
  std::map<std::string, metrics::WindowSnapshot> ack_offsets_;
  std::optional<Rollout> rollout_;

  mutable std::mutex metrics_mutex_;  // guards metrics_ (the scrape may run on another thread)
  MetricsView metrics_;
};

}  // namespace cutover::proxy
