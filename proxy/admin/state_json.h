// The admin API's JSON view of the routing state (DESIGN §6, §10): the state as the API shows
// it, and the parsers that turn request bodies into a next RoutingSpec. Pure: no I/O, no clock,
// no shared state; any thread may call them. They only read `current` and write their outputs
// on success, so a rejected request leaves the caller's state untouched (DESIGN §3:
// all-or-nothing). The caller still runs routing::RoutingTable::Build on the next spec before
// publishing it; these functions check what they can name a field for, Build checks the rest.
//
// Secrets (the affinity salt, the pin key) never appear in any output: the state says only
// whether they are set.
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "routing/routing_table.h"

namespace cutover::proxy::admin {

// `GET /v1/state`: {"version", "weights", "baseline", "candidate", "pools", "rules", "affinity",
// "epoch"}. Weights are percent numbers (basis points / 100: 9000 -> 90, 1 -> 0.01); baseline
// and candidate are null when not configured; a rule's "expires" is an ISO 8601 UTC date-time
// ("2027-02-01T00:00:00Z") or null, and its "match" uses the keys of the TOML config
// (header, header_prefix, header_present, header_absent, header_regex, cookie, query,
// path_prefix, method, client_cidr, affinity_keys), value lists always written as arrays.
// A spec holds at most one condition per match key (and name): that is all the config and
// ApplyRuleJson can produce, and all this shape can say.
nlohmann::json StateToJson(const routing::RoutingSpec& spec, uint64_t version);

// Basis points as a percent number: an integer when whole, so that 90 reads back as 90, not 90.0.
nlohmann::json Percent(uint64_t basis_points);

// Why a request body was refused: the offending field ("" for the body as a whole) and a
// message for the operator. Goes out as {"error": message, "field": field}.
struct FieldError {
  std::string field;
  std::string message;
};

// A percent from 0 to 100 with at most two decimals, as basis points; `field` names it in the
// error.
bool ParsePercent(const nlohmann::json& value, const std::string& field, uint32_t* basis_points,
                  FieldError* error);

// `PUT /v1/weights` with {"blue": 80, "green": 20}. Every key must name a pool; every value is a
// percent from 0 to 100 with at most two decimals; the given weights must sum to exactly 100.
// Pools the body does not mention get weight 0: since the given weights already sum to 100,
// any other reading would break the sum, and a body that states the whole split is what an
// operator reads back in the audit log. A pool given weight > 0 must have endpoints. On
// success *next is `current` with the new weights; on failure *error names the field (the pool
// name, "weights" for the sum, "" when the body is not an object) and *next is untouched.
bool ApplyWeights(const nlohmann::json& body, const routing::RoutingSpec& current,
                  routing::RoutingSpec* next, FieldError* error);

// One rule object as StateToJson writes it (`PUT /v1/rules/NAME`, `POST /v1/rules`): "name" and
// "pool" are required; "enabled" (default true), "kind" (default "temporary"), "owner",
// "expires" (null, "YYYY-MM-DD" meaning through that day UTC as in the config, or a date-time
// with "Z" or an offset) and "match" (default: match everything) are optional. Unknown fields,
// wrong types and every matcher the config loader would refuse are errors; the field is a path
// inside the rule ("match.header.X-Beta"). Whether the name clashes with another rule is the
// caller's question (add and replace differ); RoutingTable::Build refuses duplicates anyway.
// *out is written only on success.
bool ApplyRuleJson(const nlohmann::json& rule, const routing::RoutingSpec& current,
                   routing::RuleSpec* out, FieldError* error);

// `POST /v1/rollback` (DESIGN §3): the candidate's weight goes to the baseline (or, with no
// baseline, to the first other pool with endpoints) and every rule that sends traffic to the
// candidate is disabled; other rules are untouched. Pins to the candidate stop being followed
// once its weight is 0 (routing/decide.cc), so the epoch is kept. A spec without a candidate is
// returned unchanged.
routing::RoutingSpec Rollback(const routing::RoutingSpec& current);

// `POST /v1/promote-baseline`: the candidate, serving 100 %, becomes the baseline and the old
// baseline the candidate (at 0 %), ready for the next migration. Returns 0, or 409 with *error
// when there is no baseline and candidate or the candidate is not at 100 %.
int PromoteBaseline(const routing::RoutingSpec& current, routing::RoutingSpec* next,
                    FieldError* error);

}  // namespace cutover::proxy::admin
