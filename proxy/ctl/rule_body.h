// `cutover ctl rules add NAME --pool P --header K=V ...`: the flags as the `POST /v1/rules` body
// (docs/admin-api.md, Rules). Pure, so the flag -> JSON mapping is unit-tested.
//
// The local checks are the ones a typo trips (a missing '=', an unknown kind, a path without
// '/'); everything else (CIDR syntax, regexes, dates) is the server's to validate, so there is
// one authority for what a rule may be.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace cutover::proxy::ctl {

struct RuleFlags {
  std::string name;
  std::string pool;
  std::vector<std::string> headers;         // "K=V"; repeats of one K (any case) form one list
  std::vector<std::string> header_present;  // "K"
  std::vector<std::string> path_prefixes;   // "/p"
  std::vector<std::string> cookies;         // "K=V"
  std::vector<std::string> queries;         // "K=V"
  std::vector<std::string> methods;         // "GET"
  std::vector<std::string> client_cidrs;    // "10.0.0.0/8"
  std::string kind;                         // "" = the server's default (temporary)
  std::string owner;
  std::string expires;  // "YYYY-MM-DD" or a date-time; "" = never
  bool disabled = false;
};

// {"name", "pool", "enabled", ["kind"], ["owner"], ["expires"], ["match"]}. False with *error
// (naming the flag) when a flag is malformed.
bool BuildRuleBody(const RuleFlags& flags, nlohmann::json* body, std::string* error);

}  // namespace cutover::proxy::ctl
