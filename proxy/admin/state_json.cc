#include "proxy/admin/state_json.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

#include "routing/condition_names.h"
#include "routing/request_view.h"
#include "routing/weighted_split.h"

namespace cutover::proxy::admin {
namespace {

using nlohmann::json;
using ConditionKind = routing::ConditionSpec::Kind;

// The same limit as the config loader's (proxy/config_loader.cc): names go into logs, metrics
// labels and URLs (/v1/rules/NAME), so they are short and need no escaping.
constexpr std::size_t kMaxRuleName = 64;

// How a key of a rule's "match" object is written; the same table as the config loader's, so
// a rule reads the same in the TOML file and in the API.
using routing::kMatchKeys;
using routing::MatchKey;
using routing::MatchShape;

bool Fail(FieldError* error, std::string field, std::string message) {
  error->field = std::move(field);
  error->message = std::move(message);
  return false;
}

// --- Output -------------------------------------------------------------------------------

// "host:port", IPv6 hosts in brackets (RFC 3986 §3.2.2), as the config writes endpoints.
std::string EndpointAddress(const routing::EndpointSpec& endpoint) {
  const bool ipv6 = endpoint.host.find(':') != std::string::npos;
  return (ipv6 ? "[" + endpoint.host + "]" : endpoint.host) + ":" + std::to_string(endpoint.port);
}

json PoolToJson(const routing::PoolSpec& pool) {
  json endpoints = json::array();
  for (const routing::EndpointSpec& endpoint : pool.endpoints) {
    endpoints.push_back({{"address", EndpointAddress(endpoint)}, {"weight", endpoint.weight}});
  }
  return {
      {"name", pool.name},
      {"endpoints", std::move(endpoints)},
      {"failover", pool.failover == routing::FailoverPolicy::kOtherPool ? "other-pool" : "503"},
      {"balance",
       pool.balance == routing::BalanceMode::kRoundRobin ? "round-robin" : "power-of-two"},
  };
}

std::string FormatUtc(int64_t unix_seconds) {
  using namespace std::chrono;
  const sys_seconds instant{seconds{unix_seconds}};
  const sys_days day = floor<days>(instant);
  const year_month_day date{day};
  const hh_mm_ss<seconds> time{instant - day};
  std::array<char, 40> text{};
  std::snprintf(text.data(), text.size(), "%04d-%02u-%02uT%02ld:%02ld:%02ldZ",
                static_cast<int>(date.year()), static_cast<unsigned>(date.month()),
                static_cast<unsigned>(date.day()), static_cast<long>(time.hours().count()),
                static_cast<long>(time.minutes().count()),
                static_cast<long>(time.seconds().count()));
  return text.data();
}

json MatchToJson(const std::vector<routing::ConditionSpec>& conditions) {
  json match = json::object();
  for (const MatchKey& key : kMatchKeys) {
    for (const routing::ConditionSpec& condition : conditions) {
      if (condition.kind != key.kind) continue;
      switch (key.shape) {
        case MatchShape::kNamedValues:
          match[key.key][condition.name] = condition.values;
          break;
        case MatchShape::kNamedRegex:
          match[key.key][condition.name] =
              condition.values.empty() ? std::string() : condition.values.front();
          break;
        case MatchShape::kNames:
          match[key.key].push_back(condition.name);
          break;
        case MatchShape::kValues:
          match[key.key] = condition.values;
          break;
      }
    }
  }
  return match;
}

json RuleToJson(const routing::RuleSpec& rule) {
  return {
      {"name", rule.name},
      {"enabled", rule.enabled},
      {"pool", rule.pool},
      {"kind", routing::FlagKindName(rule.kind)},
      {"owner", rule.owner},
      {"expires", rule.expires_unix ? json(FormatUtc(*rule.expires_unix)) : json(nullptr)},
      {"match", MatchToJson(rule.conditions)},
  };
}

std::string_view AffinityModeName(routing::AffinityMode mode) {
  switch (mode) {
    case routing::AffinityMode::kNone:
      return "none";
    case routing::AffinityMode::kHash:
      return "hash";
    case routing::AffinityMode::kPin:
      return "pin";
  }
  return "none";
}

// The config's "cookie:NAME", "header:NAME" or "ip"; null for no source (per-request split).
json AffinitySourceJson(const routing::AffinitySpec& affinity) {
  switch (affinity.source) {
    case routing::AffinitySource::kNone:
      return nullptr;
    case routing::AffinitySource::kCookie:
      return "cookie:" + affinity.source_name;
    case routing::AffinitySource::kHeader:
      return "header:" + affinity.source_name;
    case routing::AffinitySource::kClientIp:
      return "ip";
  }
  return nullptr;
}

json AffinityToJson(const routing::AffinitySpec& affinity) {
  // The salt and the pin key are secrets: knowing the salt predicts every key's pool, knowing
  // the pin key forges pins. Only their presence is shown.
  return {
      {"mode", AffinityModeName(affinity.mode)},
      {"source", AffinitySourceJson(affinity)},
      {"cookie", affinity.cookie},
      {"cookie_path", affinity.cookie_path},
      {"cookie_max_age_seconds", affinity.cookie_max_age_seconds},
      {"cookie_secure", affinity.cookie_secure},
      {"cookie_http_only", affinity.cookie_http_only},
      {"cookie_same_site", affinity.cookie_same_site},
      {"salt_set", !affinity.salt.empty()},
      {"pin_cookie", affinity.pin_cookie},
      {"pin_max_age_seconds", affinity.pin_max_age_seconds},
      {"pin_key_set", !affinity.pin_key.empty()},
  };
}

json NameOrNull(const std::string& name) {
  return name.empty() ? json(nullptr) : json(name);
}

// --- Input --------------------------------------------------------------------------------

const routing::PoolSpec* FindPool(const routing::RoutingSpec& spec, std::string_view name) {
  for (const routing::PoolSpec& pool : spec.pools)
    if (pool.name == name) return &pool;
  return nullptr;
}

// Parses "YYYY-MM-DD" (through that day, UTC, as the config reads a date) or
// "YYYY-MM-DDTHH:MM:SS" followed by "Z" or "+HH:MM"/"-HH:MM". A date-time without an offset is
// refused, as in the config: which time zone it meant would be a guess.
std::optional<int64_t> ParseExpires(std::string_view text) {
  const auto number = [&](std::size_t at, std::size_t width, int* out) {
    if (at + width > text.size()) return false;
    int value = 0;
    for (std::size_t i = at; i < at + width; ++i) {
      if (text[i] < '0' || text[i] > '9') return false;
      value = value * 10 + (text[i] - '0');
    }
    *out = value;
    return true;
  };
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0, oh = 0, om = 0;
  if (!number(0, 4, &y) || text.size() < 10 || text[4] != '-' || !number(5, 2, &mo) ||
      text[7] != '-' || !number(8, 2, &d)) {
    return std::nullopt;
  }
  const std::chrono::year_month_day date{std::chrono::year{y}, std::chrono::month{unsigned(mo)},
                                         std::chrono::day{unsigned(d)}};
  if (!date.ok()) return std::nullopt;
  const int64_t day_start =
      static_cast<int64_t>(std::chrono::sys_days{date}.time_since_epoch().count()) * 86'400;
  if (text.size() == 10) return day_start + 86'400;
  if (text.size() < 20 || (text[10] != 'T' && text[10] != 't') || !number(11, 2, &h) ||
      text[13] != ':' || !number(14, 2, &mi) || text[16] != ':' || !number(17, 2, &s) || h > 23 ||
      mi > 59 || s > 59) {
    return std::nullopt;
  }
  int64_t offset = 0;
  const std::string_view zone = text.substr(19);
  if (zone == "Z" || zone == "z") {
    offset = 0;
  } else if (zone.size() == 6 && (zone[0] == '+' || zone[0] == '-') && zone[3] == ':' &&
             number(20, 2, &oh) && number(23, 2, &om) && oh <= 23 && om <= 59) {
    offset = (zone[0] == '-' ? -1 : 1) * (oh * 3'600 + om * 60);
  } else {
    return std::nullopt;
  }
  return day_start + h * 3'600 + mi * 60 + s - offset;
}

bool IsValidRuleName(std::string_view name) {
  if (name.empty() || name.size() > kMaxRuleName) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '.' || c == '-';
  });
}

// "v" or a non-empty array of strings; an empty array could never match (as in the config).
bool ReadStringList(const json& value, const std::string& field, std::vector<std::string>* out,
                    FieldError* error) {
  if (value.is_string()) {
    out->push_back(value.get<std::string>());
    return true;
  }
  if (!value.is_array()) {
    return Fail(error, field,
                std::string("expected a string or an array of strings, got ") + value.type_name());
  }
  if (value.empty()) return Fail(error, field, "must not be an empty array");
  for (const json& item : value) {
    if (!item.is_string()) {
      return Fail(error, field, std::string("expected strings, got ") + item.type_name());
    }
    out->push_back(item.get<std::string>());
  }
  return true;
}

bool IsVisibleAscii(std::string_view text) {
  return std::all_of(text.begin(), text.end(), [](char c) { return c > 0x20 && c < 0x7f; });
}

// What the config loader refuses beyond what the router itself refuses (proxy/config_loader.cc,
// CheckMatchName and CheckMatchValue): the router takes any token as a method and any query
// name without '&' or '=', but neither "get" nor a name with '#' or a space could ever match.
std::string StricterThanRouter(const routing::ConditionSpec& condition) {
  if (condition.kind == ConditionKind::kQuery &&
      (!IsVisibleAscii(condition.name) || condition.name.find('#') != std::string::npos)) {
    return "a query parameter name must be non-empty visible ASCII without '&', '=' or '#'";
  }
  for (const std::string& value : condition.values) {
    if (condition.kind == ConditionKind::kMethod &&
        !std::all_of(value.begin(), value.end(), [](char c) { return c >= 'A' && c <= 'Z'; })) {
      // Methods are case-sensitive (RFC 9110 §9.1): "get" would never match a GET.
      return "a method must be upper-case letters A-Z, got '" + value + "'";
    }
    if ((condition.kind == ConditionKind::kHeaderPrefix ||
         condition.kind == ConditionKind::kHeaderRegex) &&
        value.empty()) {
      return "must not be empty (header_present matches any value)";
    }
  }
  return {};
}

// Checks one condition as the router will: it is compiled alone, so the error names its field
// rather than "condition 3". The router's message starts "rule '...': condition 1 (...): ".
bool CheckCondition(const routing::ConditionSpec& condition, const std::string& field,
                    FieldError* error) {
  if (std::string why = StricterThanRouter(condition); !why.empty()) {
    return Fail(error, field, std::move(why));
  }
  routing::RuleSpec alone;
  alone.name = "check";
  alone.conditions.push_back(condition);
  std::string why;
  if (routing::CompiledRule::Compile(alone, 0, &why) != nullptr) return true;
  const std::size_t cause = why.find("): ");
  return Fail(error, field, cause == std::string::npos ? why : why.substr(cause + 3));
}

bool ParseNamedKey(const MatchKey& key, const json& value, const std::string& field,
                   std::vector<routing::ConditionSpec>* out, FieldError* error) {
  if (!value.is_object()) {
    return Fail(error, field, std::string("expected an object, got ") + value.type_name());
  }
  for (const auto& [name, values] : value.items()) {
    const std::string entry = field + "." + name;
    routing::ConditionSpec condition;
    condition.kind = key.kind;
    condition.name = name;
    if (key.shape == MatchShape::kNamedRegex) {
      if (!values.is_string()) {
        return Fail(error, entry, std::string("expected a string, got ") + values.type_name());
      }
      condition.values.push_back(values.get<std::string>());
    } else if (!ReadStringList(values, entry, &condition.values, error)) {
      return false;
    }
    if (!CheckCondition(condition, entry, error)) return false;
    out->push_back(std::move(condition));
  }
  return true;
}

bool ParseListKey(const MatchKey& key, const json& value, const std::string& field,
                  std::vector<routing::ConditionSpec>* out, FieldError* error) {
  std::vector<std::string> items;
  if (!ReadStringList(value, field, &items, error)) return false;
  if (key.shape == MatchShape::kValues) {
    routing::ConditionSpec condition;
    condition.kind = key.kind;
    condition.values = std::move(items);
    if (!CheckCondition(condition, field, error)) return false;
    out->push_back(std::move(condition));
    return true;
  }
  for (std::string& name : items) {
    routing::ConditionSpec condition;
    condition.kind = key.kind;
    condition.name = std::move(name);
    if (!CheckCondition(condition, field, error)) return false;
    out->push_back(std::move(condition));
  }
  return true;
}

// Conditions come out in kMatchKeys order, named ones by name (JSON objects are unordered;
// nlohmann keeps them sorted): the order StateToJson writes them in, and AND does not care.
bool ParseMatch(const json& match, std::vector<routing::ConditionSpec>* out, FieldError* error) {
  if (!match.is_object()) {
    return Fail(error, "match", std::string("expected an object, got ") + match.type_name());
  }
  for (const auto& item : match.items()) {
    // A named variable, not a structured binding: clang 14 (the fuzz build) cannot capture those.
    const std::string& name = item.key();
    const bool known = std::any_of(kMatchKeys.begin(), kMatchKeys.end(),
                                   [&](const MatchKey& key) { return key.key == name; });
    if (!known) return Fail(error, "match." + name, "unknown match key");
  }
  for (const MatchKey& key : kMatchKeys) {
    const auto value = match.find(key.key);
    if (value == match.end()) continue;
    const std::string field = "match." + std::string(key.key);
    const bool named =
        key.shape == MatchShape::kNamedValues || key.shape == MatchShape::kNamedRegex;
    if (!(named ? ParseNamedKey(key, *value, field, out, error)
                : ParseListKey(key, *value, field, out, error))) {
      return false;
    }
  }
  return true;
}

bool ReadString(const json& rule, const char* field, std::string* out, FieldError* error) {
  const auto value = rule.find(field);
  if (value == rule.end()) return true;
  if (!value->is_string()) {
    return Fail(error, field, std::string("expected a string, got ") + value->type_name());
  }
  *out = value->get<std::string>();
  return true;
}

bool ParseRuleIdentity(const json& rule, const routing::RoutingSpec& current,
                       routing::RuleSpec* out, FieldError* error) {
  for (const char* required : {"name", "pool"}) {
    if (!rule.contains(required)) return Fail(error, required, "missing required field");
  }
  if (!ReadString(rule, "name", &out->name, error)) return false;
  if (!IsValidRuleName(out->name)) {
    return Fail(error, "name",
                "a rule name must be 1 to 64 characters from A-Z, a-z, 0-9, '_', '.' and '-'");
  }
  if (const auto enabled = rule.find("enabled"); enabled != rule.end()) {
    if (!enabled->is_boolean()) {
      return Fail(error, "enabled", std::string("expected a boolean, got ") + enabled->type_name());
    }
    out->enabled = enabled->get<bool>();
  }
  if (!ReadString(rule, "pool", &out->pool, error)) return false;
  const routing::PoolSpec* pool = FindPool(current, out->pool);
  if (pool == nullptr) return Fail(error, "pool", "unknown pool '" + out->pool + "'");
  // An enabled rule into an empty pool would send its requests straight to failover.
  if (out->enabled && pool->endpoints.empty()) {
    return Fail(error, "pool",
                "pool '" + out->pool + "' has no endpoints; disable the rule until it has some");
  }
  return true;
}

bool ParseRuleFlag(const json& rule, routing::RuleSpec* out, FieldError* error) {
  std::string kind;
  if (!ReadString(rule, "kind", &kind, error)) return false;
  if (rule.contains("kind") && !routing::ParseFlagKind(kind, &out->kind)) {
    return Fail(error, "kind",
                "expected \"temporary\", \"environment\" or \"targeted\", got '" + kind + "'");
  }
  if (!ReadString(rule, "owner", &out->owner, error)) return false;
  if (const auto expires = rule.find("expires"); expires != rule.end() && !expires->is_null()) {
    if (!expires->is_string()) {
      return Fail(error, "expires",
                  std::string("expected a string or null, got ") + expires->type_name());
    }
    out->expires_unix = ParseExpires(expires->get<std::string>());
    if (!out->expires_unix) {
      return Fail(error, "expires",
                  "expected a date (2027-01-31, valid through that day UTC) or a date-time with "
                  "offset (2027-01-31T18:00:00Z)");
    }
  }
  return true;
}

}  // namespace

json Percent(uint64_t basis_points) {
  if (basis_points % 100 == 0) return basis_points / 100;
  return static_cast<double>(basis_points) / 100.0;
}

// Doubles are compared after scaling with a tolerance far below 0.005, since 0.29 * 100 is
// 28.999999999999996.
bool ParsePercent(const json& value, const std::string& field, uint32_t* basis_points,
                  FieldError* error) {
  if (!value.is_number()) {
    return Fail(error, field, std::string("expected a number, got ") + value.type_name());
  }
  const double percent = value.get<double>();
  if (!(percent >= 0.0 && percent <= 100.0)) {
    return Fail(error, field, "must be between 0 and 100, got " + value.dump());
  }
  const double scaled = percent * 100.0;
  const double rounded = std::round(scaled);
  if (std::fabs(scaled - rounded) > 1e-6) {
    return Fail(error, field, "at most two decimals are allowed, got " + value.dump());
  }
  *basis_points = static_cast<uint32_t>(rounded);
  return true;
}

json StateToJson(const routing::RoutingSpec& spec, uint64_t version) {
  json weights = json::object();
  json pools = json::array();
  for (const routing::PoolSpec& pool : spec.pools) {
    weights[pool.name] = Percent(pool.basis_points);
    pools.push_back(PoolToJson(pool));
  }
  json rules = json::array();
  for (const routing::RuleSpec& rule : spec.rules) rules.push_back(RuleToJson(rule));
  return {
      {"version", version},
      {"weights", std::move(weights)},
      {"baseline", NameOrNull(spec.baseline)},
      {"candidate", NameOrNull(spec.candidate)},
      {"pools", std::move(pools)},
      {"rules", std::move(rules)},
      {"affinity", AffinityToJson(spec.affinity)},
      {"epoch", spec.epoch},
  };
}

bool ApplyWeights(const json& body, const routing::RoutingSpec& current, routing::RoutingSpec* next,
                  FieldError* error) {
  if (!body.is_object()) return Fail(error, "", "expected a JSON object");
  routing::RoutingSpec result = current;
  for (routing::PoolSpec& pool : result.pools) pool.basis_points = 0;
  uint64_t sum = 0;
  for (const auto& item : body.items()) {
    // Named variables, not a structured binding: clang 14 (the fuzz build) cannot capture those.
    const std::string& name = item.key();
    const json& value = item.value();
    auto pool = std::find_if(result.pools.begin(), result.pools.end(),
                             [&](const routing::PoolSpec& p) { return p.name == name; });
    if (pool == result.pools.end()) return Fail(error, name, "unknown pool '" + name + "'");
    if (!ParsePercent(value, name, &pool->basis_points, error)) return false;
    if (pool->basis_points > 0 && pool->endpoints.empty()) {
      return Fail(error, name, "pool '" + name + "' has no endpoints, so its weight must be 0");
    }
    sum += pool->basis_points;
  }
  if (sum != routing::kBucketCount) {
    return Fail(
        error, "weights",
        "weights must sum to 100, they sum to " + Percent(sum).dump() + " (pools not given get 0)");
  }
  *next = std::move(result);
  return true;
}

bool ApplyRuleJson(const json& rule, const routing::RoutingSpec& current, routing::RuleSpec* out,
                   FieldError* error) {
  if (!rule.is_object()) return Fail(error, "", "expected a JSON object");
  constexpr std::array<std::string_view, 7> kFields = {"name",  "enabled", "pool", "kind",
                                                       "owner", "expires", "match"};
  for (const auto& [name, value] : rule.items()) {
    if (std::find(kFields.begin(), kFields.end(), name) == kFields.end()) {
      return Fail(error, name, "unknown field");
    }
  }
  routing::RuleSpec result;
  if (!ParseRuleIdentity(rule, current, &result, error)) return false;
  if (!ParseRuleFlag(rule, &result, error)) return false;
  if (const auto match = rule.find("match"); match != rule.end()) {
    if (!ParseMatch(*match, &result.conditions, error)) return false;
  }
  *out = std::move(result);
  return true;
}

routing::RoutingSpec Rollback(const routing::RoutingSpec& current) {
  routing::RoutingSpec next = current;
  if (next.candidate.empty()) return next;
  const auto by_name = [&](std::string_view name) {
    return std::find_if(next.pools.begin(), next.pools.end(),
                        [&](const routing::PoolSpec& pool) { return pool.name == name; });
  };
  const auto candidate = by_name(next.candidate);
  if (candidate == next.pools.end()) return next;  // not a valid spec; Build says why
  auto target = next.baseline.empty() ? next.pools.end() : by_name(next.baseline);
  if (target == next.pools.end() || target == candidate) {
    target = std::find_if(next.pools.begin(), next.pools.end(), [&](const routing::PoolSpec& p) {
      return p.name != next.candidate && !p.endpoints.empty();
    });
  }
  // With no other pool to take its share the weights stay: a split must sum to 100 %.
  if (target != next.pools.end()) {
    target->basis_points += candidate->basis_points;
    candidate->basis_points = 0;
  }
  for (routing::RuleSpec& rule : next.rules) {
    if (rule.pool == next.candidate) rule.enabled = false;
  }
  return next;
}

int PromoteBaseline(const routing::RoutingSpec& current, routing::RoutingSpec* next,
                    FieldError* error) {
  if (current.baseline.empty() || current.candidate.empty()) {
    Fail(error, "", "promote-baseline needs both a baseline and a candidate");
    return 409;
  }
  const auto candidate =
      std::find_if(current.pools.begin(), current.pools.end(),
                   [&](const routing::PoolSpec& pool) { return pool.name == current.candidate; });
  if (candidate == current.pools.end() || candidate->basis_points != 10'000) {
    Fail(error, "",
         "the candidate " + current.candidate + " must serve 100 % first (it has " +
             (candidate == current.pools.end()
                  ? std::string("no pool")
                  : routing::FormatPercent(candidate->basis_points) + " %") +
             ")");
    return 409;
  }
  *next = current;
  std::swap(next->baseline, next->candidate);
  return 0;
}

}  // namespace cutover::proxy::admin
