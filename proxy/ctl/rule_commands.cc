// rules add, enable, disable, rm: one call each on /v1/rules (docs/admin-api.md, Rules).
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>
#include <string>

#include "proxy/ctl/commands.h"
#include "proxy/ctl/response_views.h"

namespace cutover::proxy::ctl {
namespace {

using nlohmann::json;

int ShowChange(Session& session, const Reply& reply, const std::string& what) {
  if (!reply.ok()) return ToInt(reply.code);
  if (session.json_output()) {
    session.PrintJson(reply.body);
  } else {
    session.Print(what + "; " + ChangeView(reply.body));
  }
  return ToInt(ExitCode::kOk);
}

bool HasRuleFlags(const RuleFlags& flags) {
  return !flags.name.empty() || !flags.pool.empty() || !flags.headers.empty() ||
         !flags.header_present.empty() || !flags.path_prefixes.empty() || !flags.cookies.empty() ||
         !flags.queries.empty() || !flags.methods.empty() || !flags.client_cidrs.empty() ||
         !flags.kind.empty() || !flags.owner.empty() || !flags.expires.empty() || flags.disabled;
}

// The body of `rules add --from-json FILE|-`: any JSON object, sent as is, so every field the
// API knows (header_regex, affinity_keys, ...) can be used without a flag for it.
bool ReadRuleJson(const std::string& source, json* body, std::string* error) {
  std::string text;
  if (source == "-") {
    text.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  } else {
    std::ifstream file(source, std::ios::binary);
    if (!file) {
      *error = "--from-json " + source + ": cannot be read";
      return false;
    }
    std::ostringstream buffer;
    buffer << file.rdbuf();
    text = buffer.str();
  }
  *body = json::parse(text, nullptr, false);
  if (body->is_discarded() || !body->is_object()) {
    *error = "--from-json " + source + ": not a JSON object";
    return false;
  }
  return true;
}

}  // namespace

int RunRulesAdd(Session& session, const RuleFlags& flags, const std::string& from_json,
                std::optional<unsigned> position) {
  json body;
  std::string error;
  if (!from_json.empty()) {
    if (HasRuleFlags(flags))
      return session.UsageError("--from-json takes the whole rule: no NAME or rule flags");
    if (!ReadRuleJson(from_json, &body, &error)) return session.UsageError(error);
  } else if (!BuildRuleBody(flags, &body, &error)) {
    return session.UsageError(error);
  }
  std::string target = "/v1/rules";
  if (position) target += "?position=" + std::to_string(*position);
  const Reply reply = session.Change("POST", target, &body);
  return ShowChange(session, reply, "added rule " + body.value("name", std::string("?")));
}

int RunRulesEnable(Session& session, const std::string& name, bool enabled) {
  const json body = {{"enabled", enabled}};
  const Reply reply = session.Change("PATCH", "/v1/rules/" + PathSegment(name), &body);
  return ShowChange(session, reply, (enabled ? "enabled rule " : "disabled rule ") + name);
}

int RunRulesRemove(Session& session, const std::string& name) {
  const Reply reply = session.Change("DELETE", "/v1/rules/" + PathSegment(name), nullptr);
  return ShowChange(session, reply, "removed rule " + name);
}

}  // namespace cutover::proxy::ctl
