#include "proxy/guardrail_loop.h"

#include <algorithm>
#include <utility>

#include "metrics/latency_histogram.h"
#include "proxy/admin/state_json.h"
#include "proxy/admin/timestamp.h"
#include "proxy/log.h"
#include "routing/weighted_split.h"

namespace cutover::proxy {
namespace {

using nlohmann::json;
using routing::RolloutPhase;
using routing::Verdict;

constexpr uint32_t kFullBp = 10'000;
const Caller kGuardrailCaller{"guardrail", "guardrail"};
const Caller kRolloutCaller{"rollout", "guardrail"};

std::string_view KindName(Verdict::Kind kind) {
  switch (kind) {
    case Verdict::Kind::kHealthy:
      return "healthy";
    case Verdict::Kind::kBreach:
      return "breach";
    case Verdict::Kind::kInsufficientData:
      return "insufficient_data";
  }
  return "insufficient_data";
}

uint64_t Answered(const metrics::WindowSnapshot& window) {
  return window.Requests() - window.requests_by_class[0];
}

json PoolJson(const std::string& name, const metrics::WindowSnapshot& window, double quantile) {
  const uint64_t answered = Answered(window);
  return {
      {"pool", name},
      {"requests", answered},
      {"errors", window.requests_by_class[5]},
      {"error_rate", window.ErrorRate()},
      {"p99_ms",
       window.latency.count() == 0 ? json() : json(window.latency.Quantile(quantile) * 1000.0)}};
}

json SpecJson(const routing::GuardrailSpec& spec) {
  return {{"min_requests", spec.min_requests},
          {"max_error_rate_increase", spec.max_error_rate_increase},
          {"max_error_rate_ratio", spec.max_error_rate_ratio},
          {"max_error_rate", spec.max_error_rate},
          {"latency_quantile", spec.latency_quantile},
          {"max_latency_ratio", spec.max_latency_ratio},
          {"max_latency_ms", spec.max_latency_ms},
          {"min_latency_increase_ms", spec.min_latency_increase_ms},
          {"false_alarm", spec.false_alarm},
          {"budget_false_alarm", spec.budget_false_alarm}};
}

// The candidate at `weight_bp`; the baseline takes what the other pools leave. 409 when they
// leave too little (a third pool holding weight the rollout cannot take from).
int SetCandidateWeight(const routing::RoutingSpec& current, uint32_t weight_bp,
                       routing::RoutingSpec* next, admin::FieldError* error) {
  *next = current;
  routing::PoolSpec* baseline = nullptr;
  routing::PoolSpec* candidate = nullptr;
  uint32_t others = 0;
  for (routing::PoolSpec& pool : next->pools) {
    if (pool.name == next->baseline) {
      baseline = &pool;
    } else if (pool.name == next->candidate) {
      candidate = &pool;
    } else {
      others += pool.basis_points;
    }
  }
  if (baseline == nullptr || candidate == nullptr) {
    *error = {"", "a rollout needs both a baseline and a candidate pool"};
    return 409;
  }
  if (others + weight_bp > kFullBp) {
    *error = {"", "other pools hold " + routing::FormatPercent(others) + " %, so the candidate " +
                      "cannot have " + routing::FormatPercent(weight_bp) + " %"};
    return 409;
  }
  candidate->basis_points = weight_bp;
  baseline->basis_points = kFullBp - others - weight_bp;
  return 0;
}

uint32_t CandidateWeight(const routing::RoutingSpec& spec) {
  for (const routing::PoolSpec& pool : spec.pools) {
    if (pool.name == spec.candidate) return pool.basis_points;
  }
  return 0;
}

// `window` minus `earlier` (an earlier read of the same slots), never below 0.
void Subtract(metrics::WindowSnapshot* window, const metrics::WindowSnapshot& earlier) {
  for (std::size_t c = 0; c < window->requests_by_class.size(); ++c) {
    window->requests_by_class[c] -=
        std::min(window->requests_by_class[c], earlier.requests_by_class[c]);
  }
  metrics::HistogramSnapshot latency;
  for (std::size_t b = 0; b < metrics::kLatencyBucketCount; ++b) {
    const uint64_t now = window->latency.bucket(b);
    latency.Add(b, now - std::min(now, earlier.latency.bucket(b)));
  }
  window->latency = latency;
}

std::optional<RolloutPhase> PhaseByName(std::string_view name) {
  for (const RolloutPhase phase : {RolloutPhase::kRunning, RolloutPhase::kPaused,
                                   RolloutPhase::kCompleted, RolloutPhase::kAborted}) {
    if (routing::RolloutPhaseName(phase) == name) return phase;
  }
  return std::nullopt;
}

}  // namespace

GuardrailLoop::GuardrailLoop(ControlPlane* control, Observe observe)
    : control_(control), observe_(std::move(observe)) {}

void GuardrailLoop::Restore(int64_t now_ms) {
  Evaluate(now_ms);  // so the first answers have a verdict, if only "insufficient data"
  const json saved = control_->rollout();
  if (!saved.is_object()) {
    PublishMetrics();
    return;
  }
  try {
    Rollout rollout;
    const std::optional<RolloutPhase> phase = PhaseByName(saved.at("phase").get<std::string>());
    if (!phase) return;
    rollout.plan.steps_bp = saved.at("steps_bp").get<std::vector<uint32_t>>();
    rollout.plan.dwell_ms = saved.at("dwell_ms").get<int64_t>();
    rollout.plan.min_requests = saved.at("min_requests").get<uint64_t>();
    if (!routing::ValidateRolloutPlan(rollout.plan).empty()) return;
    rollout.progress.phase = *phase;
    rollout.progress.step = saved.at("step").get<std::size_t>();
    if (rollout.progress.step >= rollout.plan.steps_bp.size()) return;
    rollout.baseline = saved.at("baseline").get<std::string>();
    rollout.candidate = saved.at("candidate").get<std::string>();
    rollout.started_by = saved.at("started_by").get<std::string>();
    rollout.started_unix_ms = saved.at("started_unix_ms").get<int64_t>();
    rollout.finished_unix_ms = saved.at("finished_unix_ms").get<int64_t>();
    rollout.paused_reason = saved.at("paused_reason").get<std::string>();
    // The dwell restarts: the process was away for an unknown time, and the step's evidence
    // must come from traffic this process saw.
    rollout.progress =
        routing::AdvancedTo(rollout.progress, rollout.progress.step, Observation(now_ms));
    rollout.step_started_unix_ms = admin::UnixMillisNow();
    rollout_ = std::move(rollout);
    if (rollout_->progress.phase == RolloutPhase::kRunning) {
      Log(LogLevel::kInfo, "rollout: resuming at step %zu of %zu (%s %%), dwell restarted",
          rollout_->progress.step + 1, rollout_->plan.steps_bp.size(),
          routing::FormatPercent(rollout_->plan.steps_bp[rollout_->progress.step]).c_str());
    }
  } catch (const json::exception& e) {
    Log(LogLevel::kWarn, "rollout: the state file's rollout is unreadable (%s); ignoring it",
        e.what());
  }
  PublishMetrics();
}

void GuardrailLoop::Tick(int64_t now_ms) {
  const int64_t interval = control_->snapshot()->config.guardrails.interval.count();
  if (last_tick_ms_ != 0 && now_ms - last_tick_ms_ < interval && now_ms >= last_tick_ms_) return;
  last_tick_ms_ = now_ms;
  Evaluate(now_ms);
  ActOnBreach(now_ms);
  DriveRollout(now_ms);
  PublishMetrics();
}

void GuardrailLoop::Evaluate(int64_t now_ms) {
  const std::shared_ptr<const Snapshot> snapshot = control_->snapshot();
  const routing::RoutingSpec& spec = snapshot->routing->spec();
  const GuardrailsConfig& config = snapshot->config.guardrails;
  evaluated_unix_ms_ = admin::UnixMillisNow();
  baseline_ = spec.baseline;
  candidate_ = spec.candidate;
  int64_t window_ms = config.window.count();
  if (judge_since_ms_ > 0 && now_ms - judge_since_ms_ >= window_ms) {
    judge_since_ms_ = 0;  // the acknowledged traffic has left the window
    ack_offsets_.clear();
  }
  if (judge_since_ms_ > 0) window_ms = std::max<int64_t>(now_ms - judge_since_ms_, 1);
  judged_ = !baseline_.empty() && !candidate_.empty() && baseline_ != candidate_ &&
            observe_(baseline_, window_ms, &baseline_seen_) &&
            observe_(candidate_, window_ms, &candidate_seen_);
  if (!judged_) {
    verdict_ = Verdict{};
    return;
  }
  // Still in the slot the acknowledgement fell in: that slot's counts from before it are
  // taken out, so only traffic since the acknowledgement is judged.
  constexpr int64_t kSlotMs = metrics::SlidingWindow::kDefaultSlotMs;
  if (judge_since_ms_ > 0 && now_ms / kSlotMs == judge_since_ms_ / kSlotMs) {
    Subtract(&baseline_seen_.window, ack_offsets_[baseline_]);
    Subtract(&candidate_seen_.window, ack_offsets_[candidate_]);
  }
  std::array<uint64_t, metrics::kLatencyBucketCount> baseline_buckets{};
  std::array<uint64_t, metrics::kLatencyBucketCount> candidate_buckets{};
  for (std::size_t b = 0; b < metrics::kLatencyBucketCount; ++b) {
    baseline_buckets[b] = baseline_seen_.window.latency.bucket(b);
    candidate_buckets[b] = candidate_seen_.window.latency.bucket(b);
  }
  const routing::PoolSample baseline{.requests = Answered(baseline_seen_.window),
                                     .errors = baseline_seen_.window.requests_by_class[5],
                                     .latency_buckets = baseline_buckets};
  const routing::PoolSample candidate{.requests = Answered(candidate_seen_.window),
                                      .errors = candidate_seen_.window.requests_by_class[5],
                                      .latency_buckets = candidate_buckets};
  verdict_ =
      routing::EvaluateGuardrails(config.spec, metrics::kLatencyBoundsUs, baseline, candidate);
}

void GuardrailLoop::ActOnBreach(int64_t now_ms) {
  (void)now_ms;
  if (!judged_ || !verdict_.breach()) return;
  if (breach_ && !breach_->acknowledged) return;  // latched: it acted already
  const std::shared_ptr<const Snapshot> snapshot = control_->snapshot();
  const GuardrailsConfig& config = snapshot->config.guardrails;
  const std::string explain = verdict_.Explain();
  Breach breach{.rule = verdict_.rule,
                .explain = explain,
                .unix_ms = evaluated_unix_ms_,
                .action = !config.enabled                                        ? "none"
                          : config.action == GuardrailsConfig::Action::kRollback ? "rollback"
                                                                                 : "pause",
                .acknowledged = false};
  {
    std::lock_guard<std::mutex> lock(metrics_mutex_);
    for (std::size_t r = 0; r < kRuleNames.size(); ++r) {
      if (kRuleNames[r] == verdict_.rule) ++metrics_.breaches[r];
    }
  }
  if (!config.enabled) {
    // Nothing acts on it: it is shown, and a rollout stops on it by itself (DecideRollout).
    Log(LogLevel::kWarn, "guardrail: %s ([guardrails] is not configured: no action)",
        explain.c_str());
    breach.acknowledged = true;  // nothing latched: there is nothing to acknowledge
    breach_ = std::move(breach);
    return;
  }
  Log(LogLevel::kError, "guardrail: %s; action: %s", explain.c_str(), breach.action.c_str());
  std::optional<Rollout> rollout = rollout_;
  const bool rollout_active = rollout && (rollout->progress.phase == RolloutPhase::kRunning ||
                                          rollout->progress.phase == RolloutPhase::kPaused);
  if (config.action == GuardrailsConfig::Action::kRollback) {
    if (rollout_active) {
      rollout->progress.phase = RolloutPhase::kAborted;
      rollout->finished_unix_ms = evaluated_unix_ms_;
      rollout->paused_reason = "rolled back by the guardrail: " + verdict_.rule;
    }
    const Rollout none{};
    const ControlAnswer answer =
        ApplyRollback("guardrail.rollback", kGuardrailCaller, explain, rollout ? *rollout : none);
    if (answer.status >= 300) {
      Log(LogLevel::kError, "guardrail: the rollback failed (%d %s); will retry", answer.status,
          answer.body.value("error", "").c_str());
      return;  // not latched: the next tick tries again
    }
    if (rollout_active) rollout_ = std::move(rollout);
  } else {
    if (rollout && rollout->progress.phase == RolloutPhase::kRunning) {
      rollout->progress.phase = RolloutPhase::kPaused;
      rollout->paused_reason = "paused by the guardrail: " + verdict_.rule;
    }
    json details = {{"rule", verdict_.rule}, {"explain", explain}, {"action", "pause"}};
    std::string error;
    if (!control_->Record({"guardrail.pause", kGuardrailCaller, {}, explain, {}}, details,
                          rollout ? RolloutState(*rollout) : json(), &error)) {
      Log(LogLevel::kError, "guardrail: cannot record the pause (%s); will retry", error.c_str());
      return;
    }
    rollout_ = std::move(rollout);
  }
  breach_ = std::move(breach);
}

routing::RolloutObservation GuardrailLoop::Observation(int64_t now_ms) const {
  const std::shared_ptr<const Snapshot> snapshot = control_->snapshot();
  const routing::RoutingSpec& spec = snapshot->routing->spec();
  PoolObservation candidate;
  if (!spec.candidate.empty()) observe_(spec.candidate, 1, &candidate);
  return {.now_ms = now_ms,
          .verdict = judged_ ? verdict_.kind : Verdict::Kind::kInsufficientData,
          .candidate_bp = CandidateWeight(spec),
          .candidate_requests = candidate.requests_total};
}

void GuardrailLoop::DriveRollout(int64_t now_ms) {
  if (!rollout_ || rollout_->progress.phase != RolloutPhase::kRunning) return;
  if (breach_ && !breach_->acknowledged) return;  // an operator must look first
  const routing::RolloutObservation seen = Observation(now_ms);
  const routing::RolloutDecision decision =
      routing::DecideRollout(rollout_->plan, rollout_->progress, seen);
  rollout_->last = decision;
  Rollout next = *rollout_;
  switch (decision.kind) {
    case routing::RolloutDecision::Kind::kNone:
      return;
    case routing::RolloutDecision::Kind::kAdvance: {
      next.progress = routing::AdvancedTo(next.progress, next.progress.step + 1, seen);
      next.step_started_unix_ms = admin::UnixMillisNow();
      next.last = {};
      const std::string reason = "step " + std::to_string(next.progress.step + 1) + " of " +
                                 std::to_string(next.plan.steps_bp.size()) + ": " +
                                 routing::FormatPercent(decision.weight_bp) +
                                 " % after a healthy dwell (" + verdict_.Explain() + ")";
      const ControlAnswer answer =
          ApplyStep("rollout.step", kRolloutCaller, reason, decision.weight_bp, next);
      if (answer.status >= 300) {
        Log(LogLevel::kError, "rollout: step to %s %% refused (%d %s); pausing",
            routing::FormatPercent(decision.weight_bp).c_str(), answer.status,
            answer.body.value("error", "").c_str());
        next = *rollout_;
        next.progress.phase = RolloutPhase::kPaused;
        next.paused_reason = "the step was refused: " + answer.body.value("error", "");
        if (RecordRollout("rollout.pause", kRolloutCaller, next.paused_reason, next)) {
          rollout_ = std::move(next);
        }
        return;
      }
      Log(LogLevel::kInfo, "rollout: %s", reason.c_str());
      rollout_ = std::move(next);
      return;
    }
    case routing::RolloutDecision::Kind::kComplete: {
      next.progress.phase = RolloutPhase::kCompleted;
      next.finished_unix_ms = admin::UnixMillisNow();
      const std::string reason = "the last step held its dwell";
      if (RecordRollout("rollout.complete", kRolloutCaller, reason, next)) {
        Log(LogLevel::kInfo, "rollout: complete at %s %%",
            routing::FormatPercent(next.plan.steps_bp[next.progress.step]).c_str());
        rollout_ = std::move(next);
      }
      return;
    }
    case routing::RolloutDecision::Kind::kPause:
    case routing::RolloutDecision::Kind::kAborted: {
      const bool aborted = decision.kind == routing::RolloutDecision::Kind::kAborted;
      next.progress.phase = aborted ? RolloutPhase::kAborted : RolloutPhase::kPaused;
      next.paused_reason = decision.why;
      if (aborted) next.finished_unix_ms = admin::UnixMillisNow();
      if (RecordRollout(aborted ? "rollout.abort" : "rollout.pause", kRolloutCaller, decision.why,
                        next)) {
        Log(LogLevel::kWarn, "rollout: %s: %s", aborted ? "aborted" : "paused",
            decision.why.c_str());
        rollout_ = std::move(next);
      }
      return;
    }
  }
}

bool GuardrailLoop::RecordRollout(const std::string& action, const Caller& caller,
                                  const std::string& reason, const Rollout& rollout) {
  std::string error;
  const json details = {{"phase", routing::RolloutPhaseName(rollout.progress.phase)},
                        {"step", rollout.progress.step + 1},
                        {"weight", admin::Percent(rollout.plan.steps_bp[rollout.progress.step])}};
  if (control_->Record({action, caller, {}, reason, {}}, details, RolloutState(rollout), &error)) {
    return true;
  }
  Log(LogLevel::kError, "rollout: cannot record %s (%s)", action.c_str(), error.c_str());
  return false;
}

ControlAnswer GuardrailLoop::ApplyStep(const std::string& action, const Caller& caller,
                                       const std::string& reason, uint32_t weight_bp,
                                       const Rollout& rollout) {
  return control_->Change(
      {action, caller, {}, reason, {{"candidate_weight", admin::Percent(weight_bp)}}},
      [weight_bp](const routing::RoutingSpec& current, routing::RoutingSpec* next,
                  admin::FieldError* error) {
        return SetCandidateWeight(current, weight_bp, next, error);
      },
      RolloutState(rollout));
}

ControlAnswer GuardrailLoop::ApplyRollback(const std::string& action, const Caller& caller,
                                           const std::string& reason, const Rollout& rollout) {
  return control_->Change(
      {action, caller, {}, reason, {}},
      [](const routing::RoutingSpec& current, routing::RoutingSpec* next, admin::FieldError*) {
        *next = admin::Rollback(current);
        return 0;
      },
      rollout.plan.steps_bp.empty() ? control_->rollout() : RolloutState(rollout));
}

json GuardrailLoop::RolloutState(const Rollout& rollout) const {
  return {{"phase", routing::RolloutPhaseName(rollout.progress.phase)},
          {"steps_bp", rollout.plan.steps_bp},
          {"dwell_ms", rollout.plan.dwell_ms},
          {"min_requests", rollout.plan.min_requests},
          {"step", rollout.progress.step},
          {"baseline", rollout.baseline},
          {"candidate", rollout.candidate},
          {"started_by", rollout.started_by},
          {"started_unix_ms", rollout.started_unix_ms},
          {"finished_unix_ms", rollout.finished_unix_ms},
          {"paused_reason", rollout.paused_reason}};
}

json GuardrailLoop::VerdictJson() const {
  const std::shared_ptr<const Snapshot> snapshot = control_->snapshot();
  const GuardrailsConfig& config = snapshot->config.guardrails;
  json verdict = {
      {"kind", judged_ ? KindName(verdict_.kind) : "none"},
      {"rule", verdict_.rule},
      {"explain", judged_ ? verdict_.Explain() : "no baseline and candidate to compare"},
      {"evaluated_unix_ms", evaluated_unix_ms_},
      {"window_ms", config.window.count()}};
  if (judged_) {
    verdict["baseline"] = PoolJson(baseline_, baseline_seen_.window, config.spec.latency_quantile);
    verdict["candidate"] =
        PoolJson(candidate_, candidate_seen_.window, config.spec.latency_quantile);
  }
  return verdict;
}

json GuardrailLoop::GuardrailsJson() const {
  const std::shared_ptr<const Snapshot> snapshot = control_->snapshot();
  const GuardrailsConfig& config = snapshot->config.guardrails;
  json breach;
  if (breach_ && breach_->action != "none") {
    breach = {{"rule", breach_->rule},
              {"explain", breach_->explain},
              {"unix_ms", breach_->unix_ms},
              {"action", breach_->action},
              {"acknowledged", breach_->acknowledged}};
  }
  json totals = json::object();
  const MetricsView view = Metrics();
  for (std::size_t r = 0; r < kRuleNames.size(); ++r) totals[kRuleNames[r]] = view.breaches[r];
  return {{"enabled", config.enabled},
          {"action", config.action == GuardrailsConfig::Action::kRollback ? "rollback" : "pause"},
          {"window_ms", config.window.count()},
          {"interval_ms", config.interval.count()},
          {"spec", SpecJson(config.spec)},
          {"verdict", VerdictJson()},
          {"breach", std::move(breach)},
          {"breaches_total", std::move(totals)}};
}

ControlAnswer GuardrailLoop::Acknowledge(const Caller& caller, const std::string& reason,
                                         bool resume, int64_t now_ms) {
  if (!breach_ || breach_->acknowledged || breach_->action == "none") {
    return {409, {{"error", "there is no unacknowledged guardrail breach"}, {"field", ""}}};
  }
  const json details = {{"rule", breach_->rule}, {"breach", breach_->explain}};
  std::string error;
  if (!control_->Record({"guardrail.ack", caller, {}, reason, {}}, details, json(), &error)) {
    return {500, {{"error", error}, {"field", ""}}};
  }
  breach_->acknowledged = true;
  judge_since_ms_ = now_ms;
  ack_offsets_.clear();
  for (const std::string& pool : {baseline_, candidate_}) {
    PoolObservation current_slot;
    if (!pool.empty() && observe_(pool, 1, &current_slot)) ack_offsets_[pool] = current_slot.window;
  }
  Log(LogLevel::kInfo, "guardrail: breach of %s acknowledged by %s", breach_->rule.c_str(),
      caller.actor.c_str());
  if (resume && rollout_ && rollout_->progress.phase == RolloutPhase::kPaused) {
    const ControlAnswer resumed = CommandRollout(RolloutCommand::kResume, caller, reason, now_ms);
    if (resumed.status >= 300) return resumed;
  }
  return {200, GuardrailsJson()};
}

json GuardrailLoop::RolloutJson(int64_t now_ms) const {
  const std::shared_ptr<const Snapshot> snapshot = control_->snapshot();
  const routing::RoutingSpec& spec = snapshot->routing->spec();
  const Config& config = snapshot->config;
  json body;
  if (!rollout_) {
    body = {{"state", "none"}, {"baseline", spec.baseline}, {"candidate", spec.candidate}};
  } else {
    const Rollout& r = *rollout_;
    json steps = json::array();
    for (const uint32_t step : r.plan.steps_bp) steps.push_back(admin::Percent(step));
    const bool running = r.progress.phase == RolloutPhase::kRunning;
    const int64_t dwell_left =
        running ? std::clamp<int64_t>(r.plan.dwell_ms - (now_ms - r.progress.step_started_ms), 0,
                                      r.plan.dwell_ms)
                : 0;
    const uint64_t seen = Observation(now_ms).candidate_requests;
    body = {
        {"state", routing::RolloutPhaseName(r.progress.phase)},
        {"baseline", r.baseline},
        {"candidate", r.candidate},
        {"steps", std::move(steps)},
        {"step", r.progress.step},
        {"weight", admin::Percent(r.plan.steps_bp[r.progress.step])},
        {"dwell_ms", r.plan.dwell_ms},
        {"min_requests", r.plan.min_requests},
        {"step_started_unix_ms", r.step_started_unix_ms},
        {"dwell_left_ms", dwell_left},
        {"step_requests",
         seen >= r.progress.step_requests_at ? seen - r.progress.step_requests_at : 0},
        {"waiting_for",
         running ? (dwell_left > 0 ? "dwell" : routing::RolloutWaitName(r.last.waiting_for)) : ""},
        {"paused_reason", r.paused_reason},
        {"started_by", r.started_by},
        {"started_unix_ms", r.started_unix_ms},
        {"finished_unix_ms", r.finished_unix_ms}};
  }
  // Finishing the cutover: the candidate has held 100 % for complete_after.
  const std::string candidate = spec.candidate;
  const int64_t full_since =
      candidate.empty() ? 0 : control_->HeldSince([&candidate](const json& live) {
        const json& weights = live.at("weights");
        return live.value("candidate", json(candidate)) == json(candidate) &&
               weights.contains(candidate) && weights.at(candidate) == json(100);
      });
  const int64_t hold_ms = config.rollout.complete_after.count();
  const bool complete = full_since > 0 && admin::UnixMillisNow() - full_since >= hold_ms;
  std::string next_step;
  if (complete) {
    next_step = candidate + " has served 100 % for " +
                std::to_string((admin::UnixMillisNow() - full_since) / 60'000) + " min: retire " +
                spec.baseline + ", or make " + candidate +
                " the baseline for the next migration: cutover ctl promote-baseline (POST "
                "/v1/promote-baseline)";
  } else if (full_since > 0) {
    next_step = candidate + " is at 100 %: the cutover is complete once it has held for " +
                std::to_string(hold_ms / 1000) + " s";
  }
  body["cutover"] = {{"complete", complete},
                     {"candidate_full_since_unix_ms", full_since},
                     {"hold_ms", hold_ms},
                     {"next_step", next_step}};
  return body;
}

ControlAnswer GuardrailLoop::StartRollout(const Caller& caller, const routing::RolloutPlan& plan,
                                          const std::string& reason, int64_t now_ms) {
  if (rollout_ && (rollout_->progress.phase == RolloutPhase::kRunning ||
                   rollout_->progress.phase == RolloutPhase::kPaused)) {
    return {409,
            {{"error", "a rollout is already " +
                           std::string(routing::RolloutPhaseName(rollout_->progress.phase)) +
                           ": abort or promote it first"},
             {"field", ""}}};
  }
  if (breach_ && !breach_->acknowledged) {
    return {409,
            {{"error", "a guardrail breach is not acknowledged: POST /v1/guardrails/ack first"},
             {"field", ""}}};
  }
  const std::shared_ptr<const Snapshot> snapshot = control_->snapshot();
  const routing::RoutingSpec& spec = snapshot->routing->spec();
  Rollout rollout;
  rollout.plan = plan;
  rollout.baseline = spec.baseline;
  rollout.candidate = spec.candidate;
  rollout.started_by = caller.actor;
  rollout.started_unix_ms = admin::UnixMillisNow();
  rollout.step_started_unix_ms = rollout.started_unix_ms;
  rollout.progress.phase = RolloutPhase::kRunning;
  rollout.progress = routing::AdvancedTo(rollout.progress, 0, Observation(now_ms));
  const std::string why = "rollout " + routing::FormatSteps(plan.steps_bp) + " every " +
                          std::to_string(plan.dwell_ms / 1000) + " s" +
                          (reason.empty() ? "" : ": " + reason);
  const ControlAnswer answer =
      ApplyStep("rollout.start", caller, why, plan.steps_bp.front(), rollout);
  if (answer.status >= 300) return answer;
  rollout_ = std::move(rollout);
  Log(LogLevel::kInfo, "rollout: started by %s: %s", caller.actor.c_str(), why.c_str());
  PublishMetrics();
  return {200, RolloutJson(now_ms)};
}

ControlAnswer GuardrailLoop::CommandRollout(RolloutCommand command, const Caller& caller,
                                            const std::string& reason, int64_t now_ms) {
  const auto conflict = [](std::string message) {
    return ControlAnswer{409, {{"error", std::move(message)}, {"field", ""}}};
  };
  const bool active = rollout_ && (rollout_->progress.phase == RolloutPhase::kRunning ||
                                   rollout_->progress.phase == RolloutPhase::kPaused);
  if (!active) return conflict("no rollout is running or paused");
  Rollout next = *rollout_;
  next.last = {};
  ControlAnswer answer{200, {}};
  switch (command) {
    case RolloutCommand::kPause: {
      if (next.progress.phase != RolloutPhase::kRunning) return conflict("the rollout is paused");
      next.progress.phase = RolloutPhase::kPaused;
      next.paused_reason = "paused by " + caller.actor + (reason.empty() ? "" : ": " + reason);
      if (!RecordRollout("rollout.pause", caller, reason, next)) {
        return {500, {{"error", "cannot persist the rollout; nothing changed"}, {"field", ""}}};
      }
      break;
    }
    case RolloutCommand::kResume: {
      if (next.progress.phase != RolloutPhase::kPaused) return conflict("the rollout is running");
      if (breach_ && !breach_->acknowledged) {
        return conflict("a guardrail breach is not acknowledged: POST /v1/guardrails/ack first");
      }
      next.progress.phase = RolloutPhase::kRunning;
      next.paused_reason.clear();
      next.progress = routing::AdvancedTo(next.progress, next.progress.step, Observation(now_ms));
      next.step_started_unix_ms = admin::UnixMillisNow();
      // Back to the step's weight, whatever moved it while paused.
      answer =
          ApplyStep("rollout.resume", caller, reason, next.plan.steps_bp[next.progress.step], next);
      if (answer.status >= 300) return answer;
      break;
    }
    case RolloutCommand::kAbort: {
      next.progress.phase = RolloutPhase::kAborted;
      next.finished_unix_ms = admin::UnixMillisNow();
      next.paused_reason = "aborted by " + caller.actor + (reason.empty() ? "" : ": " + reason);
      answer = ApplyRollback("rollout.abort", caller, reason, next);
      if (answer.status >= 300) return answer;
      break;
    }
    case RolloutCommand::kPromote: {
      next.progress.phase = RolloutPhase::kCompleted;
      next.finished_unix_ms = admin::UnixMillisNow();
      if (next.plan.steps_bp.back() != kFullBp) next.plan.steps_bp.push_back(kFullBp);
      next.progress.step = next.plan.steps_bp.size() - 1;
      next.paused_reason.clear();
      answer = ApplyStep("rollout.promote", caller, reason, kFullBp, next);
      if (answer.status >= 300) return answer;
      break;
    }
  }
  rollout_ = std::move(next);
  PublishMetrics();
  return {200, RolloutJson(now_ms)};
}

GuardrailLoop::MetricsView GuardrailLoop::Metrics() const {
  std::lock_guard<std::mutex> lock(metrics_mutex_);
  return metrics_;
}

void GuardrailLoop::PublishMetrics() {
  std::lock_guard<std::mutex> lock(metrics_mutex_);
  metrics_.verdict = judged_ ? std::string(KindName(verdict_.kind)) : "none";
  if (rollout_) {
    metrics_.rollout_phase = routing::RolloutPhaseName(rollout_->progress.phase);
    metrics_.rollout_step_percent = rollout_->plan.steps_bp[rollout_->progress.step] / 100.0;
  }
}

}  // namespace cutover::proxy
