// weights set, ramp, rollback, revert. `weights set` and every ramp step send If-Match with the
// version their plan was computed from (docs/admin-api.md, "How a change is applied"), so a
// change made meanwhile by someone else (a rollback, above all) fails with 409 instead of being
// silently overwritten by a split computed from a state that no longer exists.
#include <chrono>
#include <ctime>
#include <string>
#include <thread>

#include "proxy/ctl/commands.h"
#include "proxy/ctl/ramp_schedule.h"
#include "proxy/ctl/response_views.h"
#include "proxy/ctl/weights_plan.h"

namespace cutover::proxy::ctl {
namespace {

using nlohmann::json;

// GET /v1/state, read as a PlanState. A state without the fields a plan needs is a malformed
// answer (exit 5), not the operator's mistake.
bool FetchPlanState(Session& session, PlanState* state, int* exit_code) {
  const Reply reply = session.Get("/v1/state");
  if (!reply.ok()) {
    *exit_code = ToInt(reply.code);
    return false;
  }
  std::string error;
  if (!ReadPlanState(reply.body, state, &error)) {
    session.PrintError("unexpected answer to GET /v1/state: " + error);
    *exit_code = ToInt(ExitCode::kUnreachable);
    return false;
  }
  return true;
}

Reply PutWeights(Session& session, const std::vector<PoolWeight>& plan, uint64_t version) {
  const json body = WeightsBody(plan);
  return session.Change("PUT", "/v1/weights", &body, {{"If-Match", std::to_string(version)}});
}

std::string LiveVersion(const json& conflict) {
  const auto version = conflict.is_object() ? conflict.find("version") : conflict.end();
  if (!conflict.is_object() || version == conflict.end()) return "unknown";
  return version->dump();
}

std::string UtcNow() {
  const std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  char text[32];
  std::strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%SZ", &utc);
  return text;
}

// The audit reason of one ramp step: the operator's reason, if any, plus which step it is, so
// the audit log tells a ramp's steps from hand-made changes.
std::string StepReason(const std::string& reason, const RampFlags& flags, std::size_t step,
                       std::size_t steps) {
  std::string text =
      "ramp " + flags.pool + " step " + std::to_string(step) + "/" + std::to_string(steps);
  if (!reason.empty()) text = reason + " (" + text + ")";
  return text.size() <= kMaxReasonBytes ? text : reason;
}

}  // namespace

int RunWeightsSet(Session& session, const std::vector<std::string>& assignments) {
  std::vector<Assignment> parsed;
  for (const std::string& text : assignments) {
    Assignment assignment;
    std::string error;
    if (!ParseAssignment(text, &assignment, &error)) return session.UsageError(error);
    parsed.push_back(std::move(assignment));
  }
  PlanState state;
  int exit_code = 0;
  if (!FetchPlanState(session, &state, &exit_code)) return exit_code;
  std::vector<PoolWeight> plan;
  std::string error;
  if (!PlanWeights(state, parsed, &plan, &error)) return session.UsageError(error);

  const Reply reply = PutWeights(session, plan, state.version);
  if (reply.code == ExitCode::kConflict) {
    session.PrintError("the routing state changed after version " + std::to_string(state.version) +
                       " was read (now version " + LiveVersion(reply.body) +
                       "); nothing was changed: check `cutover ctl status` and run again");
  }
  if (!reply.ok()) return ToInt(reply.code);
  if (session.json_output()) {
    session.PrintJson(reply.body);
  } else {
    session.Print(ChangeView(reply.body));
  }
  return ToInt(ExitCode::kOk);
}

int RunRamp(Session& session, const RampFlags& flags) {
  std::vector<uint32_t> steps;
  std::chrono::milliseconds every{0};
  std::string error;
  if (!ParseRampSteps(flags.steps, &steps, &error)) return session.UsageError(error);
  if (!ParseRampInterval(flags.every, &every, &error)) return session.UsageError(error);
  PlanState state;
  int exit_code = 0;
  if (!FetchPlanState(session, &state, &exit_code)) return exit_code;
  std::vector<std::vector<PoolWeight>> plans;
  if (!PlanRamp(state, flags.pool, steps, &plans, &error)) return session.UsageError(error);

  const std::string reason = session.reason();
  uint64_t version = state.version;
  for (std::size_t i = 0; i < plans.size(); ++i) {
    if (i > 0) std::this_thread::sleep_for(every);
    session.set_reason(StepReason(reason, flags, i + 1, plans.size()));
    const Reply reply = PutWeights(session, plans[i], version);
    if (reply.code == ExitCode::kConflict) {
      session.PrintError("ramp stopped before step " + std::to_string(i + 1) + "/" +
                         std::to_string(plans.size()) +
                         ": the routing state changed after version " + std::to_string(version) +
                         " (now version " + LiveVersion(reply.body) +
                         ", e.g. a rollback); the weights it has now stay");
    }
    if (!reply.ok()) return ToInt(reply.code);
    const auto next = reply.body.find("version");
    if (next == reply.body.end() || !next->is_number_unsigned()) {
      session.PrintError("unexpected answer to PUT /v1/weights: no \"version\"");
      return ToInt(ExitCode::kUnreachable);
    }
    version = next->get<uint64_t>();
    if (session.json_output()) {
      session.PrintJson(reply.body);
      continue;
    }
    session.Print("[" + std::to_string(i + 1) + "/" + std::to_string(plans.size()) + "] " +
                  UtcNow() + " " + flags.pool + "=" + FormatPercent(steps[i]) + ": " +
                  ChangeView(reply.body));
  }
  return ToInt(ExitCode::kOk);
}

int RunRollback(Session& session) {
  json body = json::object();
  if (!session.reason().empty()) body["reason"] = session.reason();
  const Reply reply = session.Change("POST", "/v1/rollback", &body);
  if (!reply.ok()) return ToInt(reply.code);
  if (session.json_output()) {
    session.PrintJson(reply.body);
    return ToInt(ExitCode::kOk);
  }
  // Rollback disables every rule to the candidate; name them, since those users lose their
  // routing too.
  std::string disabled;
  const json& rules = reply.body.is_object() ? reply.body.value("rules", json::array()) : json();
  const json candidate = reply.body.is_object() ? reply.body.value("candidate", json()) : json();
  for (const json& rule : rules.is_array() ? rules : json::array()) {
    if (!rule.is_object() || rule.value("enabled", true) ||
        rule.value("pool", json()) != candidate) {
      continue;
    }
    disabled += (disabled.empty() ? "" : ", ") + rule.value("name", std::string("?"));
  }
  session.Print("rolled back to " + ChangeView(reply.body));
  if (!disabled.empty()) session.Print("rules to the candidate now disabled: " + disabled + "\n");
  return ToInt(ExitCode::kOk);
}

int RunRevert(Session& session, uint64_t version) {
  json body = {{"version", version}};
  if (!session.reason().empty()) body["reason"] = session.reason();
  const Reply reply = session.Change("POST", "/v1/revert", &body);
  if (!reply.ok()) return ToInt(reply.code);
  if (session.json_output()) {
    session.PrintJson(reply.body);
  } else {
    session.Print("reverted to the state of version " + std::to_string(version) + " as " +
                  ChangeView(reply.body));
  }
  return ToInt(ExitCode::kOk);
}

}  // namespace cutover::proxy::ctl
