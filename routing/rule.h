// Rules: ordered, first match wins; each sends matching requests to a pool. A rule doubles
// as a feature flag (DESIGN §4): it has a name, an enabled switch, an owner, a kind and an
// expiry date. An expired flag keeps routing; it is only reported.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "routing/request_view.h"

namespace cutover::routing {

enum class FlagKind : uint8_t { kTemporary, kEnvironment, kTargeted };
std::string_view FlagKindName(FlagKind kind);
bool ParseFlagKind(std::string_view name, FlagKind* kind);

// One condition; all conditions of a rule must hold (AND).
struct ConditionSpec {
  enum class Kind : uint8_t {
    kHeaderExact,    // name, values: any of them equals the header value (case-sensitive)
    kHeaderPrefix,   // name, values: the header value starts with any of them
    kHeaderPresent,  // name
    kHeaderAbsent,   // name
    kHeaderRegex,    // name, values[0]: ECMAScript regex, must match the whole value
    kCookie,         // name, values: cookie value equals any of them
    kQuery,          // name, values: query parameter equals any of them
    kPathPrefix,     // values: path starts with any of them
    kMethod,         // values: method equals any of them (case-sensitive, RFC 9110 §9.1)
    kClientCidr,     // values: "10.0.0.0/8", "2001:db8::/32", a bare address = /32 or /128
    kAffinityKeys,   // values: the request's affinity key equals any of them
  };
  Kind kind = Kind::kHeaderExact;
  std::string name;
  std::vector<std::string> values;
};

// Short name of a condition kind for errors and the admin API ("header", "client-cidr", ...).
std::string_view ConditionKindName(ConditionSpec::Kind kind);

struct RuleSpec {
  std::string name;
  bool enabled = true;
  std::string pool;
  std::vector<ConditionSpec> conditions;  // empty: matches every request
  FlagKind kind = FlagKind::kTemporary;
  std::string owner;
  std::optional<int64_t> expires_unix;  // end of validity, seconds since the epoch (UTC)
};

// A rule compiled for matching: regexes built and CIDRs parsed once, at table build time.
class CompiledRule {
 public:
  // Returns nullptr and sets *error (naming the rule and the condition) if a condition is
  // invalid. Conditions are reordered cheapest first (AND has no side effects), so a regex
  // only runs once every cheaper condition of its rule already holds.
  static std::unique_ptr<CompiledRule> Compile(const RuleSpec& spec, uint32_t pool_index,
                                               std::string* error);
  ~CompiledRule();
  CompiledRule(const CompiledRule&) = delete;
  CompiledRule& operator=(const CompiledRule&) = delete;

  // `affinity_key` is empty when the request carries none (then kAffinityKeys never holds).
  // Allocates only for a header-regex condition (std::regex_match's state), see
  // header_regex.h.
  bool Matches(const RequestView& request, std::string_view affinity_key) const;
  const RuleSpec& spec() const { return spec_; }
  uint32_t pool() const { return pool_; }
  bool ExpiredAt(int64_t now_unix) const {
    return spec_.expires_unix.has_value() && now_unix >= *spec_.expires_unix;
  }

  struct Condition;  // opaque; defined in rule.cc

 private:
  friend class RuleChain;
  CompiledRule(RuleSpec spec, uint32_t pool);

  // Never copied or moved (no moves are declared): conditions_ holds views into spec_.
  RuleSpec spec_;
  uint32_t pool_;
  std::vector<Condition> conditions_;
};

// The enabled rules of one table, in order, flattened for the per-request scan: one tight
// loop over (conditions, rule index) entries instead of a call per rule. It points into the
// CompiledRules it was built from, which must outlive it (the table owns both).
class RuleChain {
 public:
  // Appends `rule` (the rule at `index` in the table) if it is enabled.
  void Add(const CompiledRule& rule, int32_t index);
  // Index of the first rule whose conditions all hold, or -1. Cookies come from `cookies`,
  // shared with the affinity key lookup; `affinity_key` is empty when there is none.
  int32_t FirstMatch(const RequestView& request, const CookieJar& cookies,
                     std::string_view affinity_key) const;

 private:
  struct Entry {
    const CompiledRule::Condition* begin;
    const CompiledRule::Condition* end;
    int32_t index;
  };
  std::vector<Entry> entries_;
};

}  // namespace cutover::routing
