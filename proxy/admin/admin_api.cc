#include "proxy/admin/admin_api.h"

#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <utility>
#include <vector>

#include "proxy/admin/audit_log.h"
#include "proxy/admin/dashboard_page.h"
#include "proxy/admin/rollout_body.h"
#include "proxy/admin/state_json.h"
#include "proxy/duration.h"
#include "proxy/log.h"

namespace cutover::proxy::admin {
namespace {

using nlohmann::json;

constexpr std::size_t kMaxReason = 1024;
constexpr std::size_t kDefaultAuditLimit = 50;
constexpr std::size_t kMaxAuditLimit = 1000;
// /v1/compare and /v1/series read the workers' sliding windows, which keep 10 minutes.
constexpr int64_t kDefaultCompareWindowMs = 60'000;
constexpr int64_t kMinCompareWindowMs = 1'000;
constexpr int64_t kMinSeriesWindowMs = 10'000;  // one slot
constexpr int64_t kMaxWindowMs = 600'000;

AdminResponse Answer(int status, json body) {
  AdminResponse response;
  response.status = status;
  response.body = std::move(body);
  return response;
}

AdminResponse Error(int status, std::string field, std::string message) {
  return Answer(status, {{"error", std::move(message)}, {"field", std::move(field)}});
}

// The dashboard may run its own inline script and style and talk to this listener; nothing
// else: no external script, style, font or image, no framing by another site.
constexpr char kDashboardPolicy[] =
    "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
    "connect-src 'self'; img-src data:; base-uri 'none'; frame-ancestors 'none'";

AdminResponse DashboardPage() {
  AdminResponse response;
  response.text_body = std::string(DashboardHtml());
  response.text_content_type = "text/html; charset=utf-8";
  response.headers = {{"Content-Security-Policy", kDashboardPolicy},
                      {"X-Content-Type-Options", "nosniff"},
                      {"Referrer-Policy", "no-referrer"}};
  return response;
}

AdminResponse MethodNotAllowed(std::string allow) {
  AdminResponse response = Error(405, "", "method not allowed; use " + allow);
  response.headers.emplace_back("Allow", std::move(allow));
  return response;
}

std::string ETag(uint64_t version) {
  return "\"" + std::to_string(version) + "\"";
}

bool IsMutating(std::string_view method) {
  return method == "PUT" || method == "POST" || method == "PATCH" || method == "DELETE";
}

// "7", "\"7\"" or "*" (no condition). Weak tags are refused: versions are exact.
bool ParseIfMatch(const std::string& value, std::optional<uint64_t>* out) {
  std::string_view text = value;
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  if (text == "*") {
    out->reset();
    return true;
  }
  if (text.size() >= 2 && text.front() == '"' && text.back() == '"') {
    text = text.substr(1, text.size() - 2);
  }
  uint64_t version = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), version);
  if (error != std::errc() || end != text.data() + text.size() || text.empty()) return false;
  *out = version;
  return true;
}

// The query's parameters; false on a repeated or unknown name.
bool ParseQuery(const std::string& query, std::initializer_list<std::string_view> known,
                std::vector<std::pair<std::string, std::string>>* out, std::string* bad) {
  std::size_t start = 0;
  while (start < query.size()) {
    std::size_t end = query.find('&', start);
    if (end == std::string::npos) end = query.size();
    const std::string part = query.substr(start, end - start);
    start = end + 1;
    if (part.empty()) continue;
    const std::size_t equals = part.find('=');
    std::string name = part.substr(0, equals);
    std::string value = equals == std::string::npos ? "" : part.substr(equals + 1);
    const bool listed = std::find(known.begin(), known.end(), name) != known.end();
    const bool repeated = std::any_of(out->begin(), out->end(),
                                      [&](const auto& param) { return param.first == name; });
    if (!listed || repeated) {
      *bad = name;
      return false;
    }
    out->emplace_back(std::move(name), std::move(value));
  }
  return true;
}

// A query number in [min, max]; nullopt if absent. False if present and not such a number.
bool QueryNumber(const std::vector<std::pair<std::string, std::string>>& params,
                 std::string_view name, uint64_t min, uint64_t max, std::optional<uint64_t>* out) {
  for (const auto& [key, value] : params) {
    if (key != name) continue;
    uint64_t number = 0;
    const auto [end, error] = std::from_chars(value.data(), value.data() + value.size(), number);
    if (error != std::errc() || end != value.data() + value.size() || value.empty() ||
        number < min || number > max) {
      return false;
    }
    *out = number;
  }
  return true;
}

// Rule names are [A-Za-z0-9_.-], so a path segment needs no decoding; anything else is no rule.
int FindRule(const routing::RoutingSpec& spec, const std::string& name) {
  for (std::size_t i = 0; i < spec.rules.size(); ++i) {
    if (spec.rules[i].name == name) return static_cast<int>(i);
  }
  return -1;
}

}  // namespace

void AdminApi::SetTokens(std::shared_ptr<const TokenSet> tokens) {
  std::lock_guard<std::mutex> lock(tokens_mutex_);
  tokens_ = std::move(tokens);
}

void AdminApi::SetClientRoles(std::shared_ptr<const ClientRoles> roles) {
  std::lock_guard<std::mutex> lock(tokens_mutex_);
  client_roles_ = std::move(roles);
}

AdminResponse AdminApi::Handle(const AdminRequest& request) {
  if (request.method == "HEAD") {
    // RFC 9110 §9.3.2: HEAD is GET without the body (the transport leaves the body out).
    AdminRequest get = request;
    get.method = "GET";
    return Handle(get);
  }
  // The dashboard page holds no data (it calls the endpoints below with the viewer's own
  // token), so it needs no credentials either.
  if (request.path == "/") {
    if (request.method != "GET") return MethodNotAllowed("GET");
    return DashboardPage();
  }
  // Probes for load balancers and orchestrators: no credentials, nothing revealed.
  if (request.path == "/healthz" || request.path == "/readyz") {
    if (request.method != "GET") return MethodNotAllowed("GET");
    if (request.path == "/healthz") return Answer(200, {{"status", "ok"}});
    if (draining_.load(std::memory_order_relaxed)) return Answer(503, {{"status", "draining"}});
    return Answer(200, {{"status", "ready"}});
  }
  AdminResponse refusal;
  const std::optional<Principal> principal = Authenticate(request, &refusal);
  if (!principal) return refusal;
  if (IsMutating(request.method) && !Allows(principal->role, Role::kOperator)) {
    return Refuse(request, &*principal, request.method + " " + request.path, 403, "",
                  "role " + std::string(RoleName(principal->role)) + " may only read");
  }
  if (request.body_too_large) {
    return Refuse(
        request, &*principal, request.method + " " + request.path, 413, "",
        "request body over " + std::to_string(control_->admin_config().body_bytes) + " bytes");
  }
  return Route(request, *principal);
}

std::optional<AdminApi::Principal> AdminApi::Authenticate(const AdminRequest& request,
                                                          AdminResponse* refusal) {
  if (request.unix_socket) {
    const uint32_t uid = request.peer_uid;
    const auto& allowed = control_->admin_config().allow_uids;
    if (uid == 0 || uid == geteuid() ||
        std::find(allowed.begin(), allowed.end(), uid) != allowed.end()) {
      return Principal{{"uid:" + std::to_string(uid), "unix"}, Role::kAdmin};
    }
    Log(LogLevel::kWarn, "admin: refused a Unix socket caller with uid %u", uid);
    *refusal = Error(403, "", "uid " + std::to_string(uid) + " may not use the admin socket");
    return std::nullopt;
  }
  std::shared_ptr<const TokenSet> tokens;
  std::shared_ptr<const ClientRoles> client_roles;
  {
    std::lock_guard<std::mutex> lock(tokens_mutex_);
    tokens = tokens_;
    client_roles = client_roles_;
  }
  // A verified client certificate whose CN is mapped names the caller; no token is needed, and
  // one sent along is not looked at.
  const CertificateDecision certificate =
      DecideClientCertificate(*client_roles, request.client_subject, request.client_common_name);
  if (certificate.kind == CertificateDecision::Kind::kMapped) {
    return Principal{{certificate.actor, request.peer_address}, certificate.role};
  }
  const std::string* authorization = request.Header("authorization");
  constexpr std::string_view kBearer = "Bearer ";
  const Token* token = nullptr;
  if (authorization != nullptr && tokens != nullptr && authorization->size() > kBearer.size() &&
      std::equal(kBearer.begin(), kBearer.end(), authorization->begin(),
                 [](char a, char b) { return std::tolower(a) == std::tolower(b); })) {
    token = tokens->Authenticate(std::string_view(*authorization).substr(kBearer.size()));
  }
  if (token == nullptr && authorization == nullptr &&
      certificate.kind == CertificateDecision::Kind::kUnmapped) {
    // Known to the CA but not to us: say so, rather than ask for a token the caller may not
    // have been meant to need.
    *refusal = Error(403, "",
                     "the client certificate " + request.client_subject +
                         " is not mapped to a role (admin.tls.client_roles); map its "
                         "CN or send a bearer token");
    return std::nullopt;
  }
  if (token == nullptr) {
    // Never log the header: it may hold a real token pasted in the wrong place.
    *refusal = Error(
        401, "Authorization",
        authorization == nullptr ? "a bearer token is required" : "the bearer token is not valid");
    refusal->headers.emplace_back("WWW-Authenticate", "Bearer realm=\"cutover\"");
    return std::nullopt;
  }
  return Principal{{token->name, request.peer_address}, token->role};
}

AdminResponse AdminApi::Route(const AdminRequest& request, const Principal& principal) {
  const std::string& path = request.path;
  const std::string& method = request.method;
  if (path == "/v1/state") {
    if (method != "GET") return MethodNotAllowed("GET");
    const std::shared_ptr<const Snapshot> snapshot = control_->snapshot();
    const uint64_t version = snapshot->routing->version();
    AdminResponse response = Answer(200, StateToJson(snapshot->routing->spec(), version));
    response.headers.emplace_back("ETag", ETag(version));
    return response;
  }
  if (path == "/v1/weights") {
    if (method != "PUT") return MethodNotAllowed("PUT");
    json body;
    try {
      body = json::parse(request.body);
    } catch (const json::parse_error& e) {
      return Refuse(request, &principal, "weights", 400, "",
                    std::string("malformed JSON: ") + e.what());
    }
    return Mutate(
        request, principal, "weights",
        [&body](const routing::RoutingSpec& current, routing::RoutingSpec* next,
                FieldError* error) { return ApplyWeights(body, current, next, error) ? 0 : 400; });
  }
  if (path == "/v1/rules") return Rules(request, principal, "");
  constexpr std::string_view kRulePrefix = "/v1/rules/";
  if (path.size() > kRulePrefix.size() && path.compare(0, kRulePrefix.size(), kRulePrefix) == 0) {
    return Rules(request, principal, path.substr(kRulePrefix.size()));
  }
  if (path == "/v1/rollback") {
    if (method != "POST") return MethodNotAllowed("POST");
    return Rollback(request, principal);
  }
  if (path == "/v1/revert") {
    if (method != "POST") return MethodNotAllowed("POST");
    return Revert(request, principal);
  }
  if (path == "/v1/reload") {
    if (method != "POST") return MethodNotAllowed("POST");
    return Reload(request, principal);
  }
  if (path == "/v1/history") {
    if (method != "GET") return MethodNotAllowed("GET");
    return History(request);
  }
  if (path == "/v1/audit") {
    if (method != "GET") return MethodNotAllowed("GET");
    return Audit(request);
  }
  if (path == "/metrics" && metrics_) {
    if (method != "GET") return MethodNotAllowed("GET");
    AdminResponse response;
    response.text_body = metrics_();
    response.text_content_type = "text/plain; version=0.0.4; charset=utf-8";
    return response;
  }
  if (path == "/v1/compare" && compare_) {
    if (method != "GET") return MethodNotAllowed("GET");
    return WindowQuery(request, kDefaultCompareWindowMs, kMinCompareWindowMs, compare_);
  }
  if (path == "/v1/series" && series_) {
    if (method != "GET") return MethodNotAllowed("GET");
    return WindowQuery(request, kMaxWindowMs, kMinSeriesWindowMs, series_);
  }
  if (path == "/v1/tls" && tls_status_) {
    if (method != "GET") return MethodNotAllowed("GET");
    return Answer(200, tls_status_());
  }
  if (path == "/v1/tls/reload" && tls_reload_) {
    if (method != "POST") return MethodNotAllowed("POST");
    return ReloadTls(request, principal);
  }
  if (path == "/v1/health") {
    if (method != "GET") return MethodNotAllowed("GET");
    return Answer(200, control_->Health());
  }
  if (path == "/v1/promote-baseline") {
    if (method != "POST") return MethodNotAllowed("POST");
    std::string reason;
    FieldError error;
    if (!ParseReasonBody(request.body, false, &reason, nullptr, &error)) {
      return Refuse(request, &principal, "promote-baseline", 400, error.field, error.message);
    }
    AdminRequest with_reason = request;
    if (!reason.empty() && request.Header("x-cutover-reason") == nullptr) {
      with_reason.headers.emplace_back("x-cutover-reason", reason);
    }
    return Mutate(with_reason, principal, "promote-baseline", &admin::PromoteBaseline);
  }
  if (guardrails_ != nullptr) {
    if (path == "/v1/guardrails" || path == "/v1/guardrails/ack") {
      return Guardrails(request, principal);
    }
    constexpr std::string_view kRollout = "/v1/rollout";
    if (path == kRollout) return Rollout(request, principal, "");
    if (path.size() > kRollout.size() + 1 &&
        path.compare(0, kRollout.size() + 1, "/v1/rollout/") == 0) {
      return Rollout(request, principal, std::string_view(path).substr(kRollout.size() + 1));
    }
  }
  return Error(404, "", "no such endpoint: " + path + " (see docs/admin-api.md)");
}

AdminResponse AdminApi::Guardrails(const AdminRequest& request, const Principal& principal) {
  if (request.path == "/v1/guardrails") {
    if (request.method != "GET") return MethodNotAllowed("GET");
    return Answer(200, guardrails_->GuardrailsJson());
  }
  if (request.method != "POST") return MethodNotAllowed("POST");
  std::string reason;
  bool resume = false;
  FieldError error;
  if (!ParseReasonBody(request.body, true, &reason, &resume, &error)) {
    return Refuse(request, &principal, "guardrail.ack", 400, error.field, error.message);
  }
  ControlAnswer answer = guardrails_->Acknowledge(principal.caller, reason, resume, now_ms_());
  return Answer(answer.status, std::move(answer.body));
}

AdminResponse AdminApi::Rollout(const AdminRequest& request, const Principal& principal,
                                std::string_view command) {
  const int64_t now = now_ms_();
  if (command.empty()) {
    if (request.method == "GET") return Answer(200, guardrails_->RolloutJson(now));
    if (request.method != "POST") return MethodNotAllowed("GET, POST");
    const json body = json::parse(request.body, nullptr, false);
    RolloutRequest parsed;
    FieldError error;
    if (!ParseRolloutBody(body, &parsed, &error)) {
      return Refuse(request, &principal, "rollout.start", 400, error.field, error.message);
    }
    ControlAnswer answer =
        guardrails_->StartRollout(principal.caller, parsed.plan, parsed.reason, now);
    return Answer(answer.status, std::move(answer.body));
  }
  using Command = GuardrailLoop::RolloutCommand;
  std::optional<Command> which;
  if (command == "pause") which = Command::kPause;
  if (command == "resume") which = Command::kResume;
  if (command == "abort") which = Command::kAbort;
  if (command == "promote") which = Command::kPromote;
  if (!which) {
    return Error(404, "", "no such endpoint: " + request.path + " (see docs/admin-api.md)");
  }
  if (request.method != "POST") return MethodNotAllowed("POST");
  std::string reason;
  FieldError error;
  if (!ParseReasonBody(request.body, false, &reason, nullptr, &error)) {
    return Refuse(request, &principal, "rollout." + std::string(command), 400, error.field,
                  error.message);
  }
  ControlAnswer answer = guardrails_->CommandRollout(*which, principal.caller, reason, now);
  return Answer(answer.status, std::move(answer.body));
}

AdminResponse AdminApi::Mutate(const AdminRequest& request, const Principal& principal,
                               std::string action, const Mutation& mutation) {
  ChangeRequest change{std::move(action), principal.caller, {}, "", nullptr};
  if (!request.body.empty()) {
    change.request = json::parse(request.body, nullptr, false);
    if (change.request.is_discarded()) change.request = request.body;
  }
  if (const std::string* reason = request.Header("x-cutover-reason")) {
    if (reason->size() > kMaxReason) {
      return Refuse(request, &principal, change.action, 400, "X-Cutover-Reason",
                    "reason over " + std::to_string(kMaxReason) + " bytes");
    }
    change.reason = *reason;
  }
  // Rollback and revert bodies may carry the reason; other bodies' keys are pools or rule fields.
  const bool reason_in_body = change.action == "rollback" || change.action == "revert";
  if (change.reason.empty() && reason_in_body && change.request.is_object() &&
      change.request.contains("reason") && change.request["reason"].is_string()) {
    change.reason = change.request["reason"].get<std::string>();
  }
  if (const std::string* if_match = request.Header("if-match")) {
    if (!ParseIfMatch(*if_match, &change.if_match)) {
      return Refuse(request, &principal, change.action, 400, "If-Match",
                    "If-Match must be a version number, \"N\" or *");
    }
  }
  ControlAnswer answer =
      change.action == "revert"
          ? control_->Revert(change, change.request.at("version").get<uint64_t>())
          : control_->Change(change, mutation);
  AdminResponse response = Answer(answer.status, std::move(answer.body));
  if (response.status < 300 && response.body.contains("version")) {
    response.headers.emplace_back("ETag", ETag(response.body["version"].get<uint64_t>()));
  }
  return response;
}

AdminResponse AdminApi::Rules(const AdminRequest& request, const Principal& principal,
                              const std::string& name) {
  const std::string& method = request.method;
  if (name.empty()) {
    if (method == "GET") {
      const std::shared_ptr<const Snapshot> snapshot = control_->snapshot();
      json state = StateToJson(snapshot->routing->spec(), snapshot->routing->version());
      return Answer(200, {{"version", state["version"]}, {"rules", state["rules"]}});
    }
    if (method != "POST") return MethodNotAllowed("GET, POST");
  } else if (method == "GET") {
    const std::shared_ptr<const Snapshot> snapshot = control_->snapshot();
    const json state = StateToJson(snapshot->routing->spec(), snapshot->routing->version());
    for (const json& rule : state["rules"]) {
      if (rule["name"] == name) return Answer(200, rule);
    }
    return Error(404, "name", "no rule named " + name);
  } else if (method != "PUT" && method != "PATCH" && method != "DELETE") {
    return MethodNotAllowed("GET, PUT, PATCH, DELETE");
  }

  json body;
  if (method != "DELETE") {
    try {
      body = json::parse(request.body);
    } catch (const json::parse_error& e) {
      return Refuse(request, &principal, "rule", 400, "",
                    std::string("malformed JSON: ") + e.what());
    }
    if (!body.is_object()) {
      return Refuse(request, &principal, "rule", 400, "", "the body must be a JSON object");
    }
  }

  if (method == "POST") {
    std::vector<std::pair<std::string, std::string>> params;
    std::string bad;
    std::optional<uint64_t> position;
    if (!ParseQuery(request.query, {"position"}, &params, &bad) ||
        !QueryNumber(params, "position", 0, 100000, &position)) {
      return Refuse(request, &principal, "rule.add", 400, bad.empty() ? "position" : bad,
                    bad.empty() ? "position must be a rule index" : "unknown query parameter");
    }
    return Mutate(request, principal, "rule.add",
                  [&body, position](const routing::RoutingSpec& current, routing::RoutingSpec* next,
                                    FieldError* error) {
                    routing::RuleSpec rule;
                    if (!ApplyRuleJson(body, current, &rule, error)) return 400;
                    if (FindRule(current, rule.name) >= 0) {
                      *error = {"name", "a rule named " + rule.name + " exists; PUT replaces it"};
                      return 409;
                    }
                    const std::size_t at = position.value_or(next->rules.size());
                    if (at > next->rules.size()) {
                      *error = {"position", "position is past the end of the rules (" +
                                                std::to_string(next->rules.size()) + ")"};
                      return 400;
                    }
                    next->rules.insert(next->rules.begin() + static_cast<std::ptrdiff_t>(at),
                                       std::move(rule));
                    return 0;
                  });
  }
  if (method == "DELETE") {
    return Mutate(request, principal, "rule.delete",
                  [&name](const routing::RoutingSpec& current, routing::RoutingSpec* next,
                          FieldError* error) {
                    const int index = FindRule(current, name);
                    if (index < 0) {
                      *error = {"name", "no rule named " + name};
                      return 404;
                    }
                    next->rules.erase(next->rules.begin() + index);
                    return 0;
                  });
  }
  if (body.contains("name") && body["name"] != name) {
    return Refuse(request, &principal, method == "PUT" ? "rule.replace" : "rule.patch", 400, "name",
                  "the body's name differs from the one in the path; rules are not renamed");
  }
  if (method == "PUT") {
    body["name"] = name;
    return Mutate(request, principal, "rule.replace",
                  [&body, &name](const routing::RoutingSpec& current, routing::RoutingSpec* next,
                                 FieldError* error) {
                    routing::RuleSpec rule;
                    if (!ApplyRuleJson(body, current, &rule, error)) return 400;
                    const int index = FindRule(current, name);
                    if (index < 0) {
                      next->rules.push_back(std::move(rule));
                    } else {
                      next->rules[index] = std::move(rule);
                    }
                    return 0;
                  });
  }
  // PATCH: the given fields over the rule as GET shows it; "match" is replaced as a whole.
  return Mutate(request, principal, "rule.patch",
                [&body, &name](const routing::RoutingSpec& current, routing::RoutingSpec* next,
                               FieldError* error) {
                  const int index = FindRule(current, name);
                  if (index < 0) {
                    *error = {"name", "no rule named " + name};
                    return 404;
                  }
                  json merged = StateToJson(current, 0)["rules"][index];
                  for (const auto& [key, value] : body.items()) merged[key] = value;
                  routing::RuleSpec rule;
                  if (!ApplyRuleJson(merged, current, &rule, error)) return 400;
                  next->rules[index] = std::move(rule);
                  return 0;
                });
}

AdminResponse AdminApi::Rollback(const AdminRequest& request, const Principal& principal) {
  if (!request.body.empty()) {
    const json body = json::parse(request.body, nullptr, false);
    if (body.is_discarded() || !body.is_object()) {
      return Refuse(request, &principal, "rollback", 400, "", "the body must be a JSON object");
    }
    for (const auto& [key, value] : body.items()) {
      if (key != "reason")
        return Refuse(request, &principal, "rollback", 400, key, "unknown field");
      if (!value.is_string() || value.get<std::string>().size() > kMaxReason) {
        return Refuse(request, &principal, "rollback", 400, "reason",
                      "reason must be a string of at most 1024 bytes");
      }
    }
  }
  return Mutate(request, principal, "rollback",
                [](const routing::RoutingSpec& current, routing::RoutingSpec* next, FieldError*) {
                  *next = admin::Rollback(current);
                  return 0;
                });
}

AdminResponse AdminApi::Revert(const AdminRequest& request, const Principal& principal) {
  const json body = json::parse(request.body, nullptr, false);
  if (body.is_discarded() || !body.is_object()) {
    return Refuse(request, &principal, "revert", 400, "",
                  "the body must be a JSON object like {\"version\": 7}");
  }
  for (const auto& [key, value] : body.items()) {
    if (key == "version") {
      if (!value.is_number_unsigned() || value.get<uint64_t>() == 0) {
        return Refuse(request, &principal, "revert", 400, "version",
                      "version must be a positive integer");
      }
    } else if (key == "reason") {
      if (!value.is_string() || value.get<std::string>().size() > kMaxReason) {
        return Refuse(request, &principal, "revert", 400, "reason",
                      "reason must be a string of at most 1024 bytes");
      }
    } else {
      return Refuse(request, &principal, "revert", 400, key, "unknown field");
    }
  }
  if (!body.contains("version")) {
    return Refuse(request, &principal, "revert", 400, "version", "version is required");
  }
  return Mutate(request, principal, "revert", nullptr);
}

AdminResponse AdminApi::Reload(const AdminRequest& request, const Principal& principal) {
  if (!Allows(principal.role, Role::kAdmin)) {
    return Refuse(request, &principal, "reload", 403, "",
                  "role " + std::string(RoleName(principal.role)) + " may not reload the config");
  }
  const std::optional<std::vector<std::string>> errors =
      reload_ ? reload_(principal.caller) : std::nullopt;
  if (!errors) {
    return Refuse(request, &principal, "reload", 409, "",
                  "no config file to reload, or the proxy is stopping");
  }
  if (!errors->empty()) {
    // The control plane audits applied reloads only; a refused one is audited here.
    AdminResponse response = Refuse(request, &principal, "reload", 400, "",
                                    "the config was not applied: " + errors->front());
    response.body["errors"] = *errors;
    return response;
  }
  const std::shared_ptr<const Snapshot> snapshot = control_->snapshot();
  return Answer(200, StateToJson(snapshot->routing->spec(), snapshot->routing->version()));
}

AdminResponse AdminApi::ReloadTls(const AdminRequest& request, const Principal& principal) {
  if (!Allows(principal.role, Role::kAdmin)) {
    return Refuse(
        request, &principal, "tls-reload", 403, "",
        "role " + std::string(RoleName(principal.role)) + " may not reload the certificates");
  }
  if (const std::optional<std::string> error = tls_reload_()) {
    return Refuse(request, &principal, "tls-reload", 400, "",
                  "the certificates were not replaced: " + *error);
  }
  return Answer(200, tls_status_());
}

AdminResponse AdminApi::History(const AdminRequest& request) {
  std::vector<std::pair<std::string, std::string>> params;
  std::string bad;
  std::optional<uint64_t> limit;
  if (!ParseQuery(request.query, {"limit"}, &params, &bad)) {
    return Error(400, bad, "unknown or repeated query parameter");
  }
  if (!QueryNumber(params, "limit", 1, kHistoryLimit, &limit)) {
    return Error(400, "limit", "limit must be 1 to " + std::to_string(kHistoryLimit));
  }
  return Answer(200, control_->History(limit.value_or(kHistoryLimit)));
}

AdminResponse AdminApi::WindowQuery(const AdminRequest& request, int64_t default_ms, int64_t min_ms,
                                    const Comparer& read) {
  std::vector<std::pair<std::string, std::string>> params;
  std::string bad;
  if (!ParseQuery(request.query, {"window"}, &params, &bad)) {
    return Error(400, bad, "unknown or repeated query parameter");
  }
  int64_t window_ms = default_ms;
  for (const auto& [key, value] : params) {
    const std::optional<std::chrono::milliseconds> window = ParseDuration(value);
    if (!window || window->count() < min_ms || window->count() > kMaxWindowMs) {
      return Error(400, "window",
                   "window must be a duration from " + std::to_string(min_ms / 1000) +
                       "s to 10m, e.g. " + std::to_string(default_ms / 1000) + "s");
    }
    window_ms = window->count();
  }
  return Answer(200, read(window_ms));
}

AdminResponse AdminApi::Audit(const AdminRequest& request) {
  std::vector<std::pair<std::string, std::string>> params;
  std::string bad;
  std::optional<uint64_t> limit, offset;
  if (!ParseQuery(request.query, {"limit", "offset"}, &params, &bad)) {
    return Error(400, bad, "unknown or repeated query parameter");
  }
  if (!QueryNumber(params, "limit", 1, kMaxAuditLimit, &limit)) {
    return Error(400, "limit", "limit must be 1 to " + std::to_string(kMaxAuditLimit));
  }
  if (!QueryNumber(params, "offset", 0, UINT32_MAX, &offset)) {
    return Error(400, "offset", "offset must be a number");
  }
  const std::string& path = control_->admin_config().audit_log;
  json entries = json::array();
  if (!path.empty()) {
    std::string error;
    for (json& entry :
         ReadAuditTail(path, limit.value_or(kDefaultAuditLimit), offset.value_or(0), &error)) {
      entries.push_back(std::move(entry));
    }
    if (!error.empty()) return Error(500, "", "cannot read the audit log: " + error);
  }
  return Answer(200, {{"enabled", !path.empty()}, {"entries", std::move(entries)}});
}

AdminResponse AdminApi::Refuse(const AdminRequest& request, const Principal* principal,
                               std::string_view action, int status, std::string field,
                               std::string message) {
  ChangeRequest change{std::string(action), principal->caller, {}, "", nullptr};
  if (!request.body_too_large && !request.body.empty()) {
    change.request = json::parse(request.body, nullptr, false);
    if (change.request.is_discarded()) change.request = request.body.substr(0, 1024);
  }
  if (const std::string* reason = request.Header("x-cutover-reason")) {
    change.reason = reason->substr(0, kMaxReason);
  }
  ControlAnswer answer = control_->Refuse(change, status, {std::move(field), std::move(message)});
  return Answer(answer.status, std::move(answer.body));
}

}  // namespace cutover::proxy::admin
