// status, rules list, history, audit, compare, health: one GET each (status adds the
// certificates' expiry, the guardrail verdict and the rollout), shown as tables or, with --json,
// as the server's body.
#include <ctime>
#include <string>

#include "proxy/ctl/commands.h"
#include "proxy/ctl/guardrail_view.h"
#include "proxy/ctl/response_views.h"
#include "proxy/ctl/rollout_view.h"

namespace cutover::proxy::ctl {
namespace {

using nlohmann::json;

// Shared tail of every read: print the body in the chosen form.
int Show(Session& session, const Reply& reply, std::string (*view)(const json&)) {
  if (!reply.ok()) return ToInt(reply.code);
  if (session.json_output()) {
    session.PrintJson(reply.body);
  } else {
    session.Print(view(reply.body));
  }
  return ToInt(ExitCode::kOk);
}

// "?limit=5&offset=10" with only the parameters given.
std::string Query(std::optional<unsigned> limit, std::optional<unsigned> offset) {
  std::string query;
  if (limit) query += "&limit=" + std::to_string(*limit);
  if (offset) query += "&offset=" + std::to_string(*offset);
  if (!query.empty()) query[0] = '?';
  return query;
}

}  // namespace

int RunStatus(Session& session) {
  const Reply state = session.Get("/v1/state");
  if (!state.ok()) return ToInt(state.code);
  // Extras ride along when the server has them; a server older than the endpoint (404) or a
  // refusal leaves their lines out rather than failing the command.
  const Reply tls = session.TryGet("/v1/tls");
  const Reply guardrails = session.TryGet("/v1/guardrails");
  const Reply rollout = session.TryGet("/v1/rollout");
  if (session.json_output()) {
    json body = state.body;
    if (body.is_object()) {
      if (tls.ok()) body["tls"] = tls.body;
      if (guardrails.ok()) body["guardrails"] = guardrails.body;
      if (rollout.ok()) body["rollout"] = rollout.body;
    }
    session.PrintJson(body);
    return ToInt(ExitCode::kOk);
  }
  std::string text = StatusView(state.body);
  const std::string expiry = tls.ok() ? TlsView(tls.body, time(nullptr)) : "";
  if (!expiry.empty()) text += "\n" + expiry;
  std::string release;
  if (guardrails.ok()) release += GuardrailStatusLine(guardrails.body) + "\n";
  if (rollout.ok()) {
    const std::string progress = RolloutProgressLine(rollout.body);
    if (!progress.empty()) release += "rollout: " + progress + "\n";
    const std::string hint = CutoverHint(rollout.body, static_cast<int64_t>(time(nullptr)) * 1000);
    if (!hint.empty()) release += "next: " + hint + "\n";
  }
  if (!release.empty()) text += "\n" + release;
  session.Print(text);
  return ToInt(ExitCode::kOk);
}

int RunRulesList(Session& session) {
  return Show(session, session.Get("/v1/rules"), &RulesView);
}

int RunHistory(Session& session, std::optional<unsigned> limit) {
  return Show(session, session.Get("/v1/history" + Query(limit, std::nullopt)), &HistoryView);
}

int RunAudit(Session& session, std::optional<unsigned> limit, std::optional<unsigned> offset) {
  return Show(session, session.Get("/v1/audit" + Query(limit, offset)), &AuditView);
}

int RunCompare(Session& session, const std::string& window) {
  // The window is a duration the server validates ("60s", "5m"); it needs no escaping.
  return Show(session, session.Get("/v1/compare?window=" + window), &CompareView);
}

int RunHealth(Session& session) {
  return Show(session, session.Get("/v1/health"), &HealthView);
}

}  // namespace cutover::proxy::ctl
