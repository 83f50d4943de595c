#include "routing/rule.h"

#include <algorithm>
#include <cstring>
#include <span>

#include "routing/header_regex.h"
#include "routing/ip_address.h"

namespace cutover::routing {

using Kind = ConditionSpec::Kind;

namespace {

// What every matcher gets: the request, its cookies (parsed once per decision), its key, and
// a one-word summary of its header names (see NameBit).
struct MatchInput {
  const RequestView& request;
  const CookieJar& cookies;
  std::string_view affinity_key;
  uint64_t header_names;  // OR of NameBit over the request's header names
  uint64_t client_high;   // the client address in IpAddressWords form
  uint64_t client_low;

  MatchInput(const RequestView& r, const CookieJar& c, std::string_view key, uint64_t names)
      : request(r), cookies(c), affinity_key(key), header_names(names) {
    IpAddressWords(r.client, &client_high, &client_low);
  }
};

// A Bloom filter of one bit per header name, from its length and first letter (both
// case-folded alike), so that a condition on a header the request does not carry, the usual
// case for rules, is answered without scanning the headers. A false positive only costs
// the scan.
uint64_t NameBit(std::string_view name) {
  const unsigned first = name.empty() ? 0u : static_cast<unsigned char>(name[0]) | 0x20u;
  return uint64_t{1} << ((name.size() * 7 + first) & 63);
}

uint64_t HeaderNames(const RequestView& request) {
  uint64_t names = 0;
  for (const HeaderView& header : request.headers) names |= NameBit(header.name);
  return names;
}

}  // namespace

// One compiled condition. Names and values are views into the owning rule's spec_.
struct CompiledRule::Condition {
  // Chosen at compile time: a small function per kind keeps each call cheap, where one big
  // switch paid for its heaviest case (the regex) in every call's prologue.
  bool (*match)(const Condition&, const MatchInput&) = nullptr;
  Kind kind = Kind::kHeaderExact;
  uint64_t name_bit = 0;  // NameBit(name), for header kinds
  std::string_view name;
  std::span<const std::string> values;
  std::vector<IpPrefix> prefixes;             // kClientCidr
  std::vector<std::string_view> sorted_keys;  // kAffinityKeys: binary search, no allocation
  std::unique_ptr<HeaderRegex> regex;         // kHeaderRegex (costly: runs last in its rule)
};

std::string_view FlagKindName(FlagKind kind) {
  switch (kind) {
    case FlagKind::kTemporary:
      return "temporary";
    case FlagKind::kEnvironment:
      return "environment";
    case FlagKind::kTargeted:
      return "targeted";
  }
  return "unknown";
}

bool ParseFlagKind(std::string_view name, FlagKind* kind) {
  for (const FlagKind candidate :
       {FlagKind::kTemporary, FlagKind::kEnvironment, FlagKind::kTargeted}) {
    if (name == FlagKindName(candidate)) {
      *kind = candidate;
      return true;
    }
  }
  return false;
}

std::string_view ConditionKindName(ConditionSpec::Kind kind) {
  switch (kind) {
    case Kind::kHeaderExact:
      return "header";
    case Kind::kHeaderPrefix:
      return "header-prefix";
    case Kind::kHeaderPresent:
      return "header-present";
    case Kind::kHeaderAbsent:
      return "header-absent";
    case Kind::kHeaderRegex:
      return "header-regex";
    case Kind::kCookie:
      return "cookie";
    case Kind::kQuery:
      return "query";
    case Kind::kPathPrefix:
      return "path-prefix";
    case Kind::kMethod:
      return "method";
    case Kind::kClientCidr:
      return "client-cidr";
    case Kind::kAffinityKeys:
      return "affinity-keys";
  }
  return "unknown";
}

namespace {

// Cheapest first; conditions of one rule are evaluated in this order.
int Cost(Kind kind) {
  switch (kind) {
    case Kind::kMethod:
    case Kind::kPathPrefix:
    case Kind::kClientCidr:
    case Kind::kAffinityKeys:
      return 0;
    case Kind::kQuery:
    case Kind::kHeaderExact:
    case Kind::kHeaderPrefix:
    case Kind::kHeaderPresent:
    case Kind::kHeaderAbsent:
      return 1;
    case Kind::kCookie:
      return 2;
    case Kind::kHeaderRegex:
      return 3;
  }
  return 3;
}

bool NeedsName(Kind kind) {
  switch (kind) {
    case Kind::kHeaderExact:
    case Kind::kHeaderPrefix:
    case Kind::kHeaderPresent:
    case Kind::kHeaderAbsent:
    case Kind::kHeaderRegex:
    case Kind::kCookie:
    case Kind::kQuery:
      return true;
    default:
      return false;
  }
}

// Whether one of the listed values may be the empty string: an empty header, cookie or
// query value is a real, matchable thing ("?debug"); an empty prefix, method, CIDR or key
// is a mistake that would match everything or nothing.
bool AllowsEmptyValue(Kind kind) {
  return kind == Kind::kHeaderExact || kind == Kind::kCookie || kind == Kind::kQuery;
}

// Most comparisons in a rule scan fail on the length or on the first or last byte; checking
// those before calling memcmp keeps a 20-rule scan in the tens of nanoseconds.
bool SameText(std::string_view a, std::string_view b) {
  return a.size() == b.size() && (a.empty() || (a.front() == b.front() && a.back() == b.back() &&
                                                std::memcmp(a.data(), b.data(), a.size()) == 0));
}

bool HasPrefix(std::string_view text, std::string_view prefix) {
  return text.size() >= prefix.size() &&
         (prefix.empty() ||
          (text.front() == prefix.front() && text[prefix.size() - 1] == prefix.back() &&
           std::memcmp(text.data(), prefix.data(), prefix.size()) == 0));
}

bool AnyEquals(std::span<const std::string> values, std::string_view text) {
  for (const std::string& value : values)
    if (SameText(value, text)) return true;
  return false;
}

bool AnyPrefixOf(std::span<const std::string> values, std::string_view text) {
  for (const std::string& value : values)
    if (HasPrefix(text, value)) return true;
  return false;
}

std::string Describe(const RuleSpec& rule, std::size_t index, const ConditionSpec& condition) {
  std::string text = "rule '" + rule.name + "': condition " + std::to_string(index + 1) + " (" +
                     std::string(ConditionKindName(condition.kind));
  if (!condition.name.empty()) text += " '" + condition.name + "'";
  return text + "): ";
}

// Validates one condition and fills what is precompiled; an empty result means valid.
std::string CompileCondition(const ConditionSpec& spec, CompiledRule::Condition* out) {
  const Kind kind = spec.kind;
  if (NeedsName(kind) && kind != Kind::kQuery && !IsHttpToken(spec.name)) {
    return "name must be a " + std::string(kind == Kind::kCookie ? "cookie" : "header") +
           " name (an HTTP token)";
  }
  if (kind == Kind::kQuery &&
      (spec.name.empty() || spec.name.find_first_of("&=") != std::string::npos)) {
    return "name must be non-empty and contain no '&' or '='";
  }
  if (!NeedsName(kind) && !spec.name.empty()) return "takes no name";
  if (kind == Kind::kHeaderPresent || kind == Kind::kHeaderAbsent) {
    if (!spec.values.empty()) return "takes no values";
    return {};
  }
  if (spec.values.empty()) return "needs at least one value";
  for (const std::string& value : spec.values) {
    if (value.empty() && !AllowsEmptyValue(kind)) return "values must not be empty";
    if (kind == Kind::kMethod && !IsHttpToken(value)) {
      return "'" + value + "' is not a method (an HTTP token)";
    }
    if (kind == Kind::kPathPrefix && !value.starts_with('/')) {
      return "'" + value + "' does not start with '/'";
    }
  }
  switch (kind) {
    case Kind::kHeaderRegex:
      if (spec.values.size() != 1) return "takes exactly one regex";
      if (std::string reason;
          (out->regex = HeaderRegex::Compile(spec.values[0], &reason)) == nullptr) {
        return "regex '" + spec.values[0] + "' does not compile: " + reason;
      }
      break;
    case Kind::kClientCidr:
      for (const std::string& value : spec.values) {
        IpPrefix prefix;
        if (!ParseIpPrefix(value, &prefix)) {
          return "'" + value + "' is not an address or address/prefix-length";
        }
        out->prefixes.push_back(prefix);
      }
      break;
    case Kind::kAffinityKeys:
      out->sorted_keys.assign(spec.values.begin(), spec.values.end());
      std::sort(out->sorted_keys.begin(), out->sorted_keys.end());
      break;
    default:
      break;
  }
  return {};
}

using Condition = CompiledRule::Condition;

// Whether test(value) holds for some header line of the condition's name. Every field line
// of that name counts (any match), since a client may repeat a header and RFC 9110 §5.3
// allows it for list-valued fields. (A full index of header names built once per request was
// tried and measured: for ten-odd headers it costs as much as the scans it saves; the
// one-word filter in MatchInput costs a few instructions per header and skips most scans.)
template <typename Test>
bool AnyHeaderNamed(const Condition& condition, const MatchInput& input, Test&& test) {
  if ((input.header_names & condition.name_bit) == 0) return false;  // surely absent
  for (const HeaderView& header : input.request.headers) {
    if (EqualsIgnoreCaseAscii(header.name, condition.name) && test(header.value)) return true;
  }
  return false;
}

bool MatchHeaderExact(const Condition& condition, const MatchInput& input) {
  return AnyHeaderNamed(condition, input,
                        [&](std::string_view value) { return AnyEquals(condition.values, value); });
}

bool MatchHeaderPrefix(const Condition& condition, const MatchInput& input) {
  return AnyHeaderNamed(condition, input, [&](std::string_view value) {
    return AnyPrefixOf(condition.values, value);
  });
}

bool MatchHeaderPresent(const Condition& condition, const MatchInput& input) {
  return AnyHeaderNamed(condition, input, [](std::string_view) { return true; });
}

bool MatchHeaderAbsent(const Condition& condition, const MatchInput& input) {
  return !MatchHeaderPresent(condition, input);
}

bool MatchHeaderRegex(const Condition& condition, const MatchInput& input) {
  return AnyHeaderNamed(condition, input,
                        [&](std::string_view value) { return condition.regex->FullMatch(value); });
}

bool MatchCookie(const Condition& condition, const MatchInput& input) {
  bool found = false;
  const std::string_view value = input.cookies.Find(condition.name, &found);
  return found && AnyEquals(condition.values, value);
}

bool MatchQuery(const Condition& condition, const MatchInput& input) {
  bool found = false;
  const std::string_view value = FindQueryParam(input.request.query, condition.name, &found);
  return found && AnyEquals(condition.values, value);
}

bool MatchPathPrefix(const Condition& condition, const MatchInput& input) {
  return AnyPrefixOf(condition.values, input.request.path);
}

bool MatchMethod(const Condition& condition, const MatchInput& input) {
  return AnyEquals(condition.values, input.request.method);
}

bool MatchClientCidr(const Condition& condition, const MatchInput& input) {
  const uint8_t family = input.request.client.family;
  for (const IpPrefix& prefix : condition.prefixes) {
    if (PrefixContainsWords(prefix, family, input.client_high, input.client_low)) return true;
  }
  return false;
}

bool MatchAffinityKeys(const Condition& condition, const MatchInput& input) {
  return !input.affinity_key.empty() &&
         std::binary_search(condition.sorted_keys.begin(), condition.sorted_keys.end(),
                            input.affinity_key);
}

auto MatcherFor(Kind kind) -> bool (*)(const Condition&, const MatchInput&) {
  switch (kind) {
    case Kind::kHeaderExact:
      return MatchHeaderExact;
    case Kind::kHeaderPrefix:
      return MatchHeaderPrefix;
    case Kind::kHeaderPresent:
      return MatchHeaderPresent;
    case Kind::kHeaderAbsent:
      return MatchHeaderAbsent;
    case Kind::kHeaderRegex:
      return MatchHeaderRegex;
    case Kind::kCookie:
      return MatchCookie;
    case Kind::kQuery:
      return MatchQuery;
    case Kind::kPathPrefix:
      return MatchPathPrefix;
    case Kind::kMethod:
      return MatchMethod;
    case Kind::kClientCidr:
      return MatchClientCidr;
    case Kind::kAffinityKeys:
      return MatchAffinityKeys;
  }
  return nullptr;
}

}  // namespace

std::unique_ptr<CompiledRule> CompiledRule::Compile(const RuleSpec& spec, uint32_t pool_index,
                                                    std::string* error) {
  std::unique_ptr<CompiledRule> rule(new CompiledRule(spec, pool_index));
  const std::vector<ConditionSpec>& conditions = rule->spec_.conditions;
  rule->conditions_.reserve(conditions.size());
  for (std::size_t i = 0; i < conditions.size(); ++i) {
    Condition condition;
    condition.match = MatcherFor(conditions[i].kind);
    condition.kind = conditions[i].kind;
    condition.name = conditions[i].name;
    condition.name_bit = NameBit(conditions[i].name);
    condition.values = conditions[i].values;
    if (std::string problem = CompileCondition(conditions[i], &condition); !problem.empty()) {
      *error = Describe(rule->spec_, i, conditions[i]) + problem;
      return nullptr;
    }
    rule->conditions_.push_back(std::move(condition));
  }
  std::stable_sort(
      rule->conditions_.begin(), rule->conditions_.end(),
      [](const Condition& a, const Condition& b) { return Cost(a.kind) < Cost(b.kind); });
  return rule;
}

CompiledRule::CompiledRule(RuleSpec spec, uint32_t pool) : spec_(std::move(spec)), pool_(pool) {}

CompiledRule::~CompiledRule() = default;

bool CompiledRule::Matches(const RequestView& request, std::string_view affinity_key) const {
  const CookieJar cookies(request);
  const MatchInput input(request, cookies, affinity_key, HeaderNames(request));
  for (const Condition& condition : conditions_) {
    if (!condition.match(condition, input)) return false;
  }
  return true;
}

void RuleChain::Add(const CompiledRule& rule, int32_t index) {
  if (!rule.spec().enabled) return;
  const Condition* begin = rule.conditions_.data();
  entries_.push_back(Entry{begin, begin + rule.conditions_.size(), index});
}

int32_t RuleChain::FirstMatch(const RequestView& request, const CookieJar& cookies,
                              std::string_view affinity_key) const {
  if (entries_.empty()) return -1;
  const MatchInput input(request, cookies, affinity_key, HeaderNames(request));
  for (const Entry& entry : entries_) {
    const Condition* condition = entry.begin;
    while (condition != entry.end && condition->match(*condition, input)) ++condition;
    if (condition == entry.end) return entry.index;
  }
  return -1;
}

}  // namespace cutover::routing
