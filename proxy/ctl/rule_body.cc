#include "proxy/ctl/rule_body.h"

#include <array>
#include <string_view>
#include <utility>

#include "routing/request_view.h"

namespace cutover::proxy::ctl {
namespace {

using nlohmann::json;

bool Fail(std::string* error, std::string message) {
  *error = std::move(message);
  return false;
}

// Adds "K=V" flags to match[key] as {K: [V, ...]}. Header names are case-insensitive (RFC 9110
// §5.1), so `--header X-Beta=1 --header x-beta=2` is one condition with two values, spelled as
// first given; cookie and query names are case-sensitive.
bool AddNamedValues(const std::vector<std::string>& flags, std::string_view flag_name,
                    std::string_view key, bool fold_case, json* match, std::string* error) {
  for (const std::string& flag : flags) {
    const std::size_t equals = flag.find('=');
    if (equals == std::string::npos || equals == 0) {
      return Fail(error, "--" + std::string(flag_name) + " '" + flag + "': expected NAME=VALUE");
    }
    std::string name = flag.substr(0, equals);
    const std::string value = flag.substr(equals + 1);
    json& named = (*match)[std::string(key)];
    if (named.is_null()) named = json::object();
    for (const auto& [existing, values] : named.items()) {
      if (fold_case && routing::EqualsIgnoreCaseAscii(existing, name)) name = existing;
    }
    named[name].push_back(value);
  }
  return true;
}

void AddValues(const std::vector<std::string>& flags, std::string_view key, json* match) {
  for (const std::string& flag : flags) (*match)[std::string(key)].push_back(flag);
}

bool CheckKind(const std::string& kind, std::string* error) {
  constexpr std::array<std::string_view, 3> kKinds = {"temporary", "targeted", "environment"};
  for (std::string_view known : kKinds) {
    if (kind == known) return true;
  }
  return Fail(error, "--kind '" + kind + "': expected temporary, targeted or environment");
}

// Only the shape a typo breaks: the server parses the date itself (and date-times with offsets).
bool CheckExpires(const std::string& expires, std::string* error) {
  constexpr std::string_view kShape = "dddd-dd-dd";
  bool ok = expires.size() >= kShape.size();
  for (std::size_t i = 0; ok && i < kShape.size(); ++i) {
    ok = kShape[i] == 'd' ? std::isdigit(static_cast<unsigned char>(expires[i])) != 0
                          : expires[i] == kShape[i];
  }
  if (ok) return true;
  return Fail(error, "--expires '" + expires + "': expected YYYY-MM-DD");
}

}  // namespace

bool BuildRuleBody(const RuleFlags& flags, json* body, std::string* error) {
  if (flags.name.empty()) return Fail(error, "a rule needs a NAME");
  if (flags.pool.empty()) return Fail(error, "a rule needs --pool");
  if (!flags.kind.empty() && !CheckKind(flags.kind, error)) return false;
  if (!flags.expires.empty() && !CheckExpires(flags.expires, error)) return false;
  for (const std::string& prefix : flags.path_prefixes) {
    if (prefix.empty() || prefix.front() != '/') {
      return Fail(error, "--path-prefix '" + prefix + "': must start with '/'");
    }
  }
  for (const std::string& name : flags.header_present) {
    if (name.empty()) return Fail(error, "--header-present needs a header name");
  }

  json match = json::object();
  if (!AddNamedValues(flags.headers, "header", "header", true, &match, error)) return false;
  AddValues(flags.header_present, "header_present", &match);
  if (!AddNamedValues(flags.cookies, "cookie", "cookie", false, &match, error)) return false;
  if (!AddNamedValues(flags.queries, "query", "query", false, &match, error)) return false;
  AddValues(flags.path_prefixes, "path_prefix", &match);
  AddValues(flags.methods, "method", &match);
  AddValues(flags.client_cidrs, "client_cidr", &match);

  json result = {{"name", flags.name}, {"pool", flags.pool}, {"enabled", !flags.disabled}};
  if (!flags.kind.empty()) result["kind"] = flags.kind;
  if (!flags.owner.empty()) result["owner"] = flags.owner;
  if (!flags.expires.empty()) result["expires"] = flags.expires;
  if (!match.empty()) result["match"] = std::move(match);
  *body = std::move(result);
  return true;
}

}  // namespace cutover::proxy::ctl
