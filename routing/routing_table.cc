#include "routing/routing_table.h"

#include "routing/weighted_split.h"

namespace cutover::routing {
namespace {

std::shared_ptr<const RoutingTable> Reject(std::string* error, std::string message) {
  *error = std::move(message);
  return nullptr;
}

// Endpoints, passive ejection and health checks of one pool; empty when valid.
std::string ValidatePool(const PoolSpec& pool) {
  const std::string where = "pool '" + pool.name + "': ";
  uint64_t endpoint_weight = 0;
  for (const EndpointSpec& endpoint : pool.endpoints) {
    if (endpoint.host.empty()) return where + "an endpoint has an empty host";
    if (endpoint.port == 0) return where + "endpoint '" + endpoint.host + "' has port 0";
    endpoint_weight += endpoint.weight;
  }
  if (!pool.endpoints.empty() && endpoint_weight == 0) {
    return where + "every endpoint has weight 0, so none could ever be chosen";
  }
  const OutlierSpec& outlier = pool.outlier;
  if (outlier.consecutive_failures > 0 &&
      (outlier.base_ejection_ms <= 0 || outlier.max_ejection_ms < outlier.base_ejection_ms)) {
    return where + "outlier ejection needs base_ejection > 0 and max_ejection >= base_ejection";
  }
  const HealthCheckSpec& check = pool.health_check;
  if (!check.enabled) return {};
  if (!check.path.starts_with('/')) return where + "health_check.path must start with '/'";
  // The path goes into a request line verbatim (RFC 9112 §3.2): no spaces or controls.
  for (const char c : check.path) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) {
      return where + "health_check.path contains a space or control character";
    }
  }
  if (check.interval_ms <= 0) return where + "health_check.interval must be positive";
  if (check.timeout_ms <= 0) return where + "health_check.timeout must be positive";
  if (check.healthy_threshold == 0 || check.unhealthy_threshold == 0) {
    return where + "health_check thresholds must be at least 1";
  }
  return {};
}

std::string WeightSumError(uint64_t sum) {
  return "weights must sum to 100 (they sum to " + std::to_string(sum / 100) + "." +
         std::to_string(sum % 100 / 10) + std::to_string(sum % 10) + ")";
}

}  // namespace

std::shared_ptr<const RoutingTable> RoutingTable::Build(RoutingSpec spec, uint64_t version,
                                                        std::string* error) {
  if (spec.pools.empty()) return Reject(error, "at least one pool is required");
  uint64_t sum = 0;
  for (std::size_t i = 0; i < spec.pools.size(); ++i) {
    const PoolSpec& pool = spec.pools[i];
    if (pool.name.empty()) return Reject(error, "a pool has an empty name");
    for (std::size_t j = 0; j < i; ++j) {
      if (spec.pools[j].name == pool.name) {
        return Reject(error, "pool '" + pool.name + "' is defined twice");
      }
    }
    if (pool.basis_points > 0 && pool.endpoints.empty()) {
      return Reject(error, "pool '" + pool.name + "' has weight but no endpoints");
    }
    if (std::string problem = ValidatePool(pool); !problem.empty()) {
      return Reject(error, std::move(problem));
    }
    sum += pool.basis_points;
  }
  if (sum != kBucketCount) return Reject(error, WeightSumError(sum));

  std::shared_ptr<RoutingTable> table(new RoutingTable(std::move(spec), version));
  const RoutingSpec& built = table->spec_;
  if (!built.baseline.empty() && (table->baseline_ = table->PoolIndex(built.baseline)) < 0) {
    return Reject(error, "baseline '" + built.baseline + "' is not a pool");
  }
  if (!built.candidate.empty() && (table->candidate_ = table->PoolIndex(built.candidate)) < 0) {
    return Reject(error, "candidate '" + built.candidate + "' is not a pool");
  }
  if (table->baseline_ >= 0 && table->baseline_ == table->candidate_) {
    return Reject(error, "baseline and candidate are both '" + built.baseline + "'");
  }
  if (!ValidateAffinitySpec(built.affinity, error)) return nullptr;
  if (!table->CompileRules(error)) return nullptr;
  return table;
}

bool RoutingTable::CompileRules(std::string* error) {
  rules_.reserve(spec_.rules.size());
  for (std::size_t i = 0; i < spec_.rules.size(); ++i) {
    const RuleSpec& rule = spec_.rules[i];
    if (rule.name.empty()) {
      *error = "rule " + std::to_string(i + 1) + " has an empty name";
      return false;
    }
    for (std::size_t j = 0; j < i; ++j) {
      if (spec_.rules[j].name == rule.name) {
        *error = "rule '" + rule.name + "' is defined twice";
        return false;
      }
    }
    const int pool = PoolIndex(rule.pool);
    if (pool < 0) {
      *error = "rule '" + rule.name + "': pool '" + rule.pool + "' is not a pool";
      return false;
    }
    std::unique_ptr<CompiledRule> compiled =
        CompiledRule::Compile(rule, static_cast<uint32_t>(pool), error);
    if (compiled == nullptr) return false;
    for (const ConditionSpec& condition : rule.conditions) {
      if (rule.enabled && condition.kind == ConditionSpec::Kind::kAffinityKeys) needs_key_ = true;
    }
    chain_.Add(*compiled, static_cast<int32_t>(i));
    rules_.push_back(std::move(compiled));
  }
  if (spec_.affinity.mode != AffinityMode::kNone) needs_key_ = true;
  return true;
}

RoutingTable::RoutingTable(RoutingSpec spec, uint64_t version)
    : spec_(std::move(spec)), version_(version) {
  basis_points_.reserve(spec_.pools.size());
  for (const PoolSpec& pool : spec_.pools) basis_points_.push_back(pool.basis_points);
  affinity_seed_ = AffinitySeed(spec_.affinity.salt);
}

int RoutingTable::PoolIndex(std::string_view name) const {
  for (std::size_t i = 0; i < spec_.pools.size(); ++i)
    if (spec_.pools[i].name == name) return static_cast<int>(i);
  return -1;
}

std::vector<std::string> RoutingTable::ExpiredRules(int64_t now_unix) const {
  std::vector<std::string> expired;
  for (const auto& rule : rules_) {
    if (rule->spec().enabled && rule->ExpiredAt(now_unix)) expired.push_back(rule->spec().name);
  }
  return expired;
}

}  // namespace cutover::routing
