// rollout start, status, pause, resume, abort, promote; promote-baseline. The server runs the
// rollout (POST /v1/rollout) and advances it only while the guardrails hold, so these commands
// only start, steer and show it: unlike `ramp`, nothing here sleeps or needs to keep running.
#include <chrono>
#include <string>

#include "proxy/ctl/commands.h"
#include "proxy/ctl/response_views.h"
#include "proxy/ctl/rollout_schedule.h"
#include "proxy/ctl/rollout_view.h"

namespace cutover::proxy::ctl {
namespace {

using nlohmann::json;

int64_t NowUnixMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// The tail of every rollout call: the rollout as it is now, or the server's JSON.
int ShowRollout(Session& session, const Reply& reply) {
  if (!reply.ok()) return ToInt(reply.code);
  if (session.json_output()) {
    session.PrintJson(reply.body);
  } else {
    session.Print(RolloutView(reply.body, NowUnixMs()));
  }
  return ToInt(ExitCode::kOk);
}

// {"reason": ...} when --reason was given, else {}: the body the steering calls take.
json ReasonBody(const Session& session) {
  json body = json::object();
  if (!session.reason().empty()) body["reason"] = session.reason();
  return body;
}

const char* ActionPath(RolloutAction action) {
  switch (action) {
    case RolloutAction::kPause:
      return "/v1/rollout/pause";
    case RolloutAction::kResume:
      return "/v1/rollout/resume";
    case RolloutAction::kAbort:
      return "/v1/rollout/abort";
    case RolloutAction::kPromote:
      return "/v1/rollout/promote";
  }
  return "/v1/rollout/pause";  // unreachable: every action is named above
}

}  // namespace

int RunRolloutStart(Session& session, const RolloutFlags& flags) {
  RolloutRequest request;
  std::chrono::milliseconds dwell{0};
  std::string error;
  if (!ParseRolloutSteps(flags.steps, &request.steps, &error)) return session.UsageError(error);
  if (!ParseDwell(flags.every, &dwell, &error)) return session.UsageError(error);
  request.dwell = flags.every;
  request.min_requests = flags.min_requests;
  request.reason = session.reason();
  const json body = RolloutBody(request);
  const Reply reply = session.Change("POST", "/v1/rollout", &body);
  if (reply.code == ExitCode::kConflict) {
    session.PrintError(
        "a rollout is already running or paused: see `cutover ctl rollout status`; "
        "`rollout abort` or `rollout promote` ends it");
  }
  return ShowRollout(session, reply);
}

int RunRolloutStatus(Session& session) {
  return ShowRollout(session, session.Get("/v1/rollout"));
}

int RunRolloutStep(Session& session, RolloutAction action) {
  const char* path = ActionPath(action);
  const json body = ReasonBody(session);
  const Reply reply = session.Change("POST", path, &body);
  if (reply.code == ExitCode::kConflict) {
    session.PrintError("nothing was changed: see `cutover ctl rollout status`");
  }
  return ShowRollout(session, reply);
}

int RunPromoteBaseline(Session& session) {
  const json body = ReasonBody(session);
  const Reply reply = session.Change("POST", "/v1/promote-baseline", &body);
  if (!reply.ok()) return ToInt(reply.code);
  if (session.json_output()) {
    session.PrintJson(reply.body);
    return ToInt(ExitCode::kOk);
  }
  const auto text = [&reply](const char* key) {
    const auto it = reply.body.is_object() ? reply.body.find(key) : reply.body.end();
    return it != reply.body.end() && it->is_string() ? it->get<std::string>() : std::string("-");
  };
  session.Print("baseline is now " + text("baseline") + ", candidate " + text("candidate") + ": " +
                ChangeView(reply.body));
  return ToInt(ExitCode::kOk);
}

}  // namespace cutover::proxy::ctl
