// guardrails, guardrails ack: the verdict on the candidate and the acknowledgement of a breach.
// The server decides (DESIGN §5); these only show the verdict and tell the server a person has
// seen the breach (and, with --resume, that a rollout it paused may go on).
#include <string>

#include "proxy/ctl/commands.h"
#include "proxy/ctl/guardrail_view.h"

namespace cutover::proxy::ctl {
namespace {

int ShowGuardrails(Session& session, const Reply& reply) {
  if (!reply.ok()) return ToInt(reply.code);
  if (session.json_output()) {
    session.PrintJson(reply.body);
  } else {
    session.Print(GuardrailsView(reply.body));
  }
  return ToInt(ExitCode::kOk);
}

}  // namespace

int RunGuardrails(Session& session) {
  return ShowGuardrails(session, session.Get("/v1/guardrails"));
}

int RunGuardrailsAck(Session& session, bool resume) {
  nlohmann::json body = {{"resume", resume}};
  if (!session.reason().empty()) body["reason"] = session.reason();
  const Reply reply = session.Change("POST", "/v1/guardrails/ack", &body);
  if (reply.code == ExitCode::kConflict) {
    session.PrintError("nothing to acknowledge: see `cutover ctl guardrails`");
  }
  return ShowGuardrails(session, reply);
}

}  // namespace cutover::proxy::ctl
