#include "proxy/ctl/weights_plan.h"

#include <utility>

namespace cutover::proxy::ctl {
namespace {

constexpr uint32_t kWhole = 10'000;  // 100 % in basis points

bool Fail(std::string* error, std::string message) {
  *error = std::move(message);
  return false;
}

std::string PoolNames(const PlanState& state) {
  std::string names;
  for (const PoolInfo& pool : state.pools) {
    if (!names.empty()) names += ", ";
    names += pool.name;
  }
  return names;
}

const PoolInfo* FindPool(const PlanState& state, std::string_view name) {
  for (const PoolInfo& pool : state.pools) {
    if (pool.name == name) return &pool;
  }
  return nullptr;
}

}  // namespace

// Parsed by hand rather than with strtod: "1e1", " 5", "0x10" and "inf" are all numbers to
// strtod, and 0.29 * 100 is 28.999999999999996 in binary floating point.
bool ParsePercent(std::string_view text, uint32_t* basis_points, std::string* error) {
  const std::string quoted = "'" + std::string(text) + "'";
  uint64_t whole = 0;
  std::size_t i = 0;
  for (; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i) {
    whole = whole * 10 + static_cast<uint64_t>(text[i] - '0');
    if (whole > 100) return Fail(error, quoted + " is more than 100");
  }
  if (i == 0) return Fail(error, quoted + " is not a percent (expected e.g. 20 or 12.5)");
  uint64_t fraction = 0;
  if (i < text.size() && text[i] == '.') {
    const std::size_t first = ++i;
    for (; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i) {
      if (i - first == 2) return Fail(error, quoted + " has more than two decimals");
      fraction = fraction * 10 + static_cast<uint64_t>(text[i] - '0');
    }
    if (i == first) return Fail(error, quoted + " is not a percent (expected e.g. 20 or 12.5)");
    if (i - first == 1) fraction *= 10;
  }
  if (i != text.size()) return Fail(error, quoted + " is not a percent (expected e.g. 20 or 12.5)");
  const uint64_t total = whole * 100 + fraction;
  if (total > kWhole) return Fail(error, quoted + " is more than 100");
  *basis_points = static_cast<uint32_t>(total);
  return true;
}

// The server parses with get<double>() and rounds to basis points, so a double is exact enough;
// whole numbers go out as integers so the audit log reads "20", not "20.0".
nlohmann::json PercentJson(uint32_t basis_points) {
  if (basis_points % 100 == 0) return basis_points / 100;
  return static_cast<double>(basis_points) / 100.0;
}

bool ParseAssignment(std::string_view text, Assignment* out, std::string* error) {
  const std::size_t equals = text.find('=');
  if (equals == std::string_view::npos || equals == 0) {
    return Fail(error, "expected POOL=PERCENT, got '" + std::string(text) + "'");
  }
  Assignment result;
  result.pool = std::string(text.substr(0, equals));
  std::string why;
  if (!ParsePercent(text.substr(equals + 1), &result.basis_points, &why)) {
    return Fail(error, "pool '" + result.pool + "': " + why);
  }
  *out = std::move(result);
  return true;
}

bool ReadPlanState(const nlohmann::json& state, PlanState* out, std::string* error) {
  if (!state.is_object()) return Fail(error, "the state is not a JSON object");
  const auto version = state.find("version");
  if (version == state.end() || !version->is_number_unsigned()) {
    return Fail(error, "the state has no numeric \"version\"");
  }
  const auto pools = state.find("pools");
  if (pools == state.end() || !pools->is_array()) {
    return Fail(error, "the state has no \"pools\" array");
  }
  PlanState result;
  result.version = version->get<uint64_t>();
  for (const nlohmann::json& pool : *pools) {
    const auto name = pool.find("name");
    if (!pool.is_object() || name == pool.end() || !name->is_string()) {
      return Fail(error, "a pool in the state has no \"name\"");
    }
    const auto endpoints = pool.find("endpoints");
    const bool has_endpoints =
        endpoints == pool.end() || !endpoints->is_array() || !endpoints->empty();
    result.pools.push_back(
        PoolInfo{.name = name->get<std::string>(), .has_endpoints = has_endpoints});
  }
  const auto baseline = state.find("baseline");
  if (baseline != state.end() && baseline->is_string())
    result.baseline = baseline->get<std::string>();
  *out = std::move(result);
  return true;
}

bool PlanWeights(const PlanState& state, const std::vector<Assignment>& assignments,
                 std::vector<PoolWeight>* out, std::string* error) {
  if (assignments.empty()) return Fail(error, "give at least one POOL=PERCENT");
  uint32_t sum = 0;
  bool baseline_named = false;
  for (std::size_t i = 0; i < assignments.size(); ++i) {
    const Assignment& assignment = assignments[i];
    if (FindPool(state, assignment.pool) == nullptr) {
      return Fail(error,
                  "unknown pool '" + assignment.pool + "' (pools: " + PoolNames(state) + ")");
    }
    for (std::size_t j = 0; j < i; ++j) {
      if (assignments[j].pool == assignment.pool) {
        return Fail(error, "pool '" + assignment.pool + "' is given twice");
      }
    }
    if (assignment.pool == state.baseline) baseline_named = true;
    sum += assignment.basis_points;
  }
  if (sum > kWhole) {
    return Fail(error, "the weights given sum to " + FormatPercent(sum) + ", more than 100");
  }
  const bool baseline_takes_rest = !state.baseline.empty() && !baseline_named;
  if (!baseline_takes_rest && sum != kWhole) {
    return Fail(error, "the weights given sum to " + FormatPercent(sum) + "; " +
                           (state.baseline.empty()
                                ? "with no baseline to take the rest they must sum to 100"
                                : "with the baseline '" + state.baseline +
                                      "' named too they must sum to 100"));
  }
  std::vector<PoolWeight> result;
  for (const PoolInfo& pool : state.pools) {
    PoolWeight weight{.pool = pool.name, .basis_points = 0};
    for (const Assignment& assignment : assignments) {
      if (assignment.pool == pool.name) weight.basis_points = assignment.basis_points;
    }
    if (baseline_takes_rest && pool.name == state.baseline) weight.basis_points = kWhole - sum;
    if (weight.basis_points > 0 && !pool.has_endpoints) {
      return Fail(error, "pool '" + pool.name +
                             "' has no endpoints, so its weight must be 0 (it would get " +
                             FormatPercent(weight.basis_points) + ")");
    }
    result.push_back(std::move(weight));
  }
  *out = std::move(result);
  return true;
}

nlohmann::json WeightsBody(const std::vector<PoolWeight>& weights) {
  nlohmann::json body = nlohmann::json::object();
  for (const PoolWeight& weight : weights) body[weight.pool] = PercentJson(weight.basis_points);
  return body;
}

std::string DescribeWeights(const std::vector<PoolWeight>& weights) {
  std::string text;
  for (const PoolWeight& weight : weights) {
    if (!text.empty()) text += ' ';
    text += weight.pool + "=" + FormatPercent(weight.basis_points);
  }
  return text;
}

}  // namespace cutover::proxy::ctl
