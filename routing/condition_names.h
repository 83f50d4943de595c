// The external names of rule conditions: the keys of a rule's `match` table in the TOML
// config and of its `match` object in the admin API, each with the condition kind it makes
// and the shape of its value. One table, so the config file and the API never disagree.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

#include "routing/rule.h"

namespace cutover::routing {

enum class MatchShape : uint8_t {
  kNamedValues,  // {NAME: "v" | ["v1", "v2"]}: one condition per NAME
  kNamedRegex,   // {NAME: "regex"}: one condition per NAME
  kNames,        // "NAME" | ["NAME", ...]: one condition per NAME, without values
  kValues,       // "v" | ["v1", "v2"]: one condition
};

struct MatchKey {
  std::string_view key;
  ConditionSpec::Kind kind;
  MatchShape shape;
};

// Conditions come out in this order whatever the order they were written in.
inline constexpr std::array<MatchKey, 11> kMatchKeys = {{
    {"header", ConditionSpec::Kind::kHeaderExact, MatchShape::kNamedValues},
    {"header_prefix", ConditionSpec::Kind::kHeaderPrefix, MatchShape::kNamedValues},
    {"header_present", ConditionSpec::Kind::kHeaderPresent, MatchShape::kNames},
    {"header_absent", ConditionSpec::Kind::kHeaderAbsent, MatchShape::kNames},
    {"header_regex", ConditionSpec::Kind::kHeaderRegex, MatchShape::kNamedRegex},
    {"cookie", ConditionSpec::Kind::kCookie, MatchShape::kNamedValues},
    {"query", ConditionSpec::Kind::kQuery, MatchShape::kNamedValues},
    {"path_prefix", ConditionSpec::Kind::kPathPrefix, MatchShape::kValues},
    {"method", ConditionSpec::Kind::kMethod, MatchShape::kValues},
    {"client_cidr", ConditionSpec::Kind::kClientCidr, MatchShape::kValues},
    {"affinity_keys", ConditionSpec::Kind::kAffinityKeys, MatchShape::kValues},
}};

}  // namespace cutover::routing
