// status, rules list, history, audit, compare, health: one GET each (status adds the
// certificates' expiry), shown as tables or, with --json, as the server's body.
#include <ctime>
#include <string>

#include "proxy/ctl/commands.h"
#include "proxy/ctl/response_views.h"

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
  // Certificate expiry rides along when the server says (a server older than /v1/tls does not).
  const Reply tls = session.TryGet("/v1/tls");
  if (session.json_output()) {
    json body = state.body;
    if (tls.ok() && body.is_object()) body["tls"] = tls.body;
    session.PrintJson(body);
  } else {
    std::string text = StatusView(state.body);
    const std::string expiry = tls.ok() ? TlsView(tls.body, time(nullptr)) : "";
    if (!expiry.empty()) text += "\n" + expiry;
    session.Print(text);
  }
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
