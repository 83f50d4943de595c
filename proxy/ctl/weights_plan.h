// What `cutover ctl weights set green=20` and each step of `ramp` send: the whole split, computed
// from the state the command just read. Pure (no I/O), so every rule below is unit-tested.
//
// Percentages are held as basis points (1/100 of a percent), the server's own unit
// (proxy/admin/state_json.h), so "12.5" + "87.5" sums to exactly 100 with no floating-point
// rounding.
//
// The rules, in the order an operator thinks of them:
//   - the pools named get the given percent (0 to 100, at most two decimals);
//   - the baseline, when not named, takes the rest (100 minus the sum of the others), so
//     "green=20" reads as "move 20 % to green" whatever the split was before;
//   - when the baseline is named too, or there is no baseline, the values given must sum to 100;
//   - every pool not named gets 0, so the body states the whole split (as the audit log shows it);
//   - a pool without endpoints cannot get more than 0 (the server would refuse it anyway).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "routing/weighted_split.h"

namespace cutover::proxy::ctl {

// One pool as the plan needs it, read from `GET /v1/state`.
struct PoolInfo {
  std::string name;
  bool has_endpoints = true;
};

// The parts of the state the plan depends on.
struct PlanState {
  std::vector<PoolInfo> pools;  // in the server's order, which the plan keeps
  std::string baseline;         // "" when the state has none
  uint64_t version = 0;         // sent back as If-Match
};

// "green=20" as typed.
struct Assignment {
  std::string pool;
  uint32_t basis_points = 0;
};

struct PoolWeight {
  std::string pool;
  uint32_t basis_points = 0;
};

// Parses a percent "20", "12.5", "0.01", "100.00" into basis points. Refuses a sign, an
// exponent, more than two decimals, and anything over 100. On failure *error says why.
bool ParsePercent(std::string_view text, uint32_t* basis_points, std::string* error);

// Basis points as the shortest percent text (the router's, so ctl and the config loader
// print weights alike).
using routing::FormatPercent;

// Basis points as a JSON number the server reads back exactly: an integer when whole.
nlohmann::json PercentJson(uint32_t basis_points);

// Parses "POOL=PERCENT".
bool ParseAssignment(std::string_view text, Assignment* out, std::string* error);

// Reads pools, baseline and version from a `GET /v1/state` body (also the body of every change,
// which is the new state). False with *error when a field the plan needs is missing or mistyped.
bool ReadPlanState(const nlohmann::json& state, PlanState* out, std::string* error);

// The whole split for `assignments` applied to `state`, one entry per pool in the state's order.
// False with *error (a message for the operator, naming the pool) when the request is invalid;
// nothing has been sent then, and the command exits 2.
bool PlanWeights(const PlanState& state, const std::vector<Assignment>& assignments,
                 std::vector<PoolWeight>* out, std::string* error);

// The `PUT /v1/weights` body: {"blue": 80, "green": 20}, every pool present.
nlohmann::json WeightsBody(const std::vector<PoolWeight>& weights);

// "blue=80 green=20", for progress lines.
std::string DescribeWeights(const std::vector<PoolWeight>& weights);

}  // namespace cutover::proxy::ctl
