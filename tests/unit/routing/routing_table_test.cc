#include "routing/routing_table.h"

#include <gtest/gtest.h>

#include <limits>

namespace cutover::routing {
namespace {

PoolSpec Pool(std::string name, uint32_t basis_points, uint16_t port) {
  PoolSpec pool;
  pool.name = std::move(name);
  pool.basis_points = basis_points;
  EndpointSpec endpoint;
  endpoint.host = "127.0.0.1";
  endpoint.port = port;
  pool.endpoints.push_back(endpoint);
  return pool;
}

RoutingSpec BlueGreen(uint32_t blue, uint32_t green) {
  RoutingSpec spec;
  spec.pools.push_back(Pool("blue", blue, 9001));
  spec.pools.push_back(Pool("green", green, 9002));
  spec.baseline = "blue";
  spec.candidate = "green";
  return spec;
}

RuleSpec Rule(std::string name, std::string pool) {
  RuleSpec rule;
  rule.name = std::move(name);
  rule.pool = std::move(pool);
  return rule;
}

std::string BuildError(const RoutingSpec& spec) {
  std::string error;
  EXPECT_EQ(RoutingTable::Build(spec, 1, &error), nullptr);
  return error;
}

TEST(RoutingTable, BuildsValidSpec) {
  std::string error;
  auto table = RoutingTable::Build(BlueGreen(9000, 1000), 7, &error);
  ASSERT_NE(table, nullptr) << error;
  EXPECT_EQ(table->version(), 7u);
  EXPECT_EQ(table->PoolIndex("green"), 1);
  EXPECT_EQ(table->PoolIndex("red"), -1);
  EXPECT_EQ(table->baseline_index(), 0);
  EXPECT_EQ(table->candidate_index(), 1);
  EXPECT_EQ(table->pools().size(), 2u);
  EXPECT_EQ(table->baseline(), "blue");
  EXPECT_EQ(table->candidate(), "green");
}

TEST(RoutingTable, BaselineAndCandidateAreOptional) {
  RoutingSpec spec = BlueGreen(5000, 5000);
  spec.baseline.clear();
  spec.candidate.clear();
  std::string error;
  auto table = RoutingTable::Build(spec, 1, &error);
  ASSERT_NE(table, nullptr) << error;
  EXPECT_EQ(table->baseline_index(), -1);
  EXPECT_EQ(table->candidate_index(), -1);
}

TEST(RoutingTable, RejectsWeightsNotSummingToHundred) {
  EXPECT_EQ(BuildError(BlueGreen(9000, 999)), "weights must sum to 100 (they sum to 99.99)");
  EXPECT_EQ(BuildError(BlueGreen(9000, 1001)), "weights must sum to 100 (they sum to 100.01)");
}

TEST(RoutingTable, RejectsNoPoolsAndUnnamedPools) {
  EXPECT_EQ(BuildError(RoutingSpec{}), "at least one pool is required");
  RoutingSpec spec = BlueGreen(10000, 0);
  spec.pools[1].name.clear();
  EXPECT_EQ(BuildError(spec), "a pool has an empty name");
}

TEST(RoutingTable, RejectsUnknownBaselineAndDuplicatePools) {
  RoutingSpec spec = BlueGreen(10000, 0);
  spec.baseline = "red";
  EXPECT_EQ(BuildError(spec), "baseline 'red' is not a pool");
  spec = BlueGreen(10000, 0);
  spec.candidate = "red";
  EXPECT_EQ(BuildError(spec), "candidate 'red' is not a pool");
  spec = BlueGreen(10000, 0);
  spec.pools[1].name = "blue";
  EXPECT_EQ(BuildError(spec), "pool 'blue' is defined twice");
}

TEST(RoutingTable, RejectsBaselineEqualToCandidate) {
  RoutingSpec spec = BlueGreen(10000, 0);
  spec.candidate = "blue";
  EXPECT_EQ(BuildError(spec), "baseline and candidate are both 'blue'");
}

TEST(RoutingTable, RejectsWeightedPoolWithoutEndpoints) {
  RoutingSpec spec = BlueGreen(5000, 5000);
  spec.pools[1].endpoints.clear();
  EXPECT_EQ(BuildError(spec), "pool 'green' has weight but no endpoints");
  // Without weight, an empty pool is fine (rules or failover may still name it).
  spec = BlueGreen(10000, 0);
  spec.pools[1].endpoints.clear();
  std::string error;
  EXPECT_NE(RoutingTable::Build(spec, 1, &error), nullptr) << error;
}

TEST(RoutingTable, RejectsBadEndpoints) {
  RoutingSpec spec = BlueGreen(5000, 5000);
  spec.pools[0].endpoints[0].weight = 0;
  EXPECT_EQ(BuildError(spec),
            "pool 'blue': every endpoint has weight 0, so none could ever be chosen");
  spec.pools[0].endpoints.push_back(spec.pools[0].endpoints[0]);
  spec.pools[0].endpoints[1].weight = 2;
  std::string error;
  EXPECT_NE(RoutingTable::Build(spec, 1, &error), nullptr) << error;  // one weighted is enough
  spec = BlueGreen(5000, 5000);
  spec.pools[1].endpoints[0].port = 0;
  EXPECT_EQ(BuildError(spec), "pool 'green': endpoint '127.0.0.1' has port 0");
  spec = BlueGreen(5000, 5000);
  spec.pools[1].endpoints[0].host.clear();
  EXPECT_EQ(BuildError(spec), "pool 'green': an endpoint has an empty host");
}

TEST(RoutingTable, RejectsBadOutlierAndHealthCheckSettings) {
  RoutingSpec spec = BlueGreen(5000, 5000);
  spec.pools[0].outlier.max_ejection_ms = spec.pools[0].outlier.base_ejection_ms - 1;
  EXPECT_EQ(BuildError(spec),
            "pool 'blue': outlier ejection needs base_ejection > 0 and max_ejection >= "
            "base_ejection");
  spec.pools[0].outlier.consecutive_failures = 0;  // disabled: the durations do not matter
  std::string error;
  EXPECT_NE(RoutingTable::Build(spec, 1, &error), nullptr) << error;

  spec = BlueGreen(5000, 5000);
  HealthCheckSpec& check = spec.pools[1].health_check;
  check.enabled = true;
  check.path = "healthz";
  EXPECT_EQ(BuildError(spec), "pool 'green': health_check.path must start with '/'");
  check.path = "/health z";
  EXPECT_EQ(BuildError(spec),
            "pool 'green': health_check.path contains a space or control character");
  check.path = "/healthz";
  check.interval_ms = 0;
  EXPECT_EQ(BuildError(spec), "pool 'green': health_check.interval must be positive");
  check.interval_ms = 1000;
  check.timeout_ms = -1;
  EXPECT_EQ(BuildError(spec), "pool 'green': health_check.timeout must be positive");
  check.timeout_ms = 100;
  check.unhealthy_threshold = 0;
  EXPECT_EQ(BuildError(spec), "pool 'green': health_check thresholds must be at least 1");
  check.unhealthy_threshold = 1;
  EXPECT_NE(RoutingTable::Build(spec, 1, &error), nullptr) << error;
}

TEST(RoutingTable, RejectsBadRules) {
  RoutingSpec spec = BlueGreen(5000, 5000);
  spec.rules.push_back(Rule("", "green"));
  EXPECT_EQ(BuildError(spec), "rule 1 has an empty name");
  spec.rules = {Rule("beta", "green"), Rule("beta", "blue")};
  EXPECT_EQ(BuildError(spec), "rule 'beta' is defined twice");
  spec.rules = {Rule("beta", "red")};
  EXPECT_EQ(BuildError(spec), "rule 'beta': pool 'red' is not a pool");
  spec.rules = {Rule("beta", "green")};
  ConditionSpec condition;
  condition.kind = ConditionSpec::Kind::kClientCidr;
  condition.values = {"10.0.0.0/8", "fe80::/200"};
  spec.rules[0].conditions.push_back(condition);
  EXPECT_EQ(BuildError(spec),
            "rule 'beta': condition 1 (client-cidr): 'fe80::/200' is not an address or "
            "address/prefix-length");
}

TEST(RoutingTable, RejectsBadAffinity) {
  RoutingSpec spec = BlueGreen(5000, 5000);
  spec.affinity.mode = AffinityMode::kHash;
  EXPECT_EQ(BuildError(spec).rfind("affinity.salt:", 0), 0u);
  spec.affinity.salt = "s";
  spec.affinity.source = AffinitySource::kHeader;
  EXPECT_EQ(BuildError(spec).rfind("affinity.source:", 0), 0u);
  spec.affinity.source_name = "X-User-Id";
  spec.affinity.cookie_same_site = "None";
  EXPECT_EQ(BuildError(spec), "affinity.cookie_same_site: None requires cookie_secure = true");
  spec.affinity.cookie_same_site = "Lax";
  spec.affinity.mode = AffinityMode::kPin;
  EXPECT_EQ(BuildError(spec),
            "affinity.pin_key: pin mode needs a signing key of at least 16 bytes");
}

TEST(RoutingTable, RulesKeepTheirOrderAndPools) {
  RoutingSpec spec = BlueGreen(5000, 5000);
  spec.rules = {Rule("a", "green"), Rule("b", "blue")};
  std::string error;
  auto table = RoutingTable::Build(spec, 1, &error);
  ASSERT_NE(table, nullptr) << error;
  ASSERT_EQ(table->rules().size(), 2u);
  EXPECT_EQ(table->rules()[0]->spec().name, "a");
  EXPECT_EQ(table->rules()[0]->pool(), 1u);
  EXPECT_EQ(table->rules()[1]->pool(), 0u);
}

TEST(RoutingTable, ExpiredRulesListsEnabledRulesPastTheirDate) {
  RoutingSpec spec = BlueGreen(5000, 5000);
  spec.rules = {Rule("old", "green"), Rule("fresh", "green"), Rule("off", "green"),
                Rule("forever", "green")};
  spec.rules[0].expires_unix = 1000;
  spec.rules[1].expires_unix = 2000;
  spec.rules[2].expires_unix = 1000;
  spec.rules[2].enabled = false;
  std::string error;
  auto table = RoutingTable::Build(spec, 1, &error);
  ASSERT_NE(table, nullptr) << error;
  EXPECT_EQ(table->ExpiredRules(999), std::vector<std::string>{});
  EXPECT_EQ(table->ExpiredRules(1000), std::vector<std::string>{"old"});
  EXPECT_EQ(table->ExpiredRules(5000), (std::vector<std::string>{"old", "fresh"}));
}

TEST(RoutingTable, FailoverPoolPrefersTheBaseline) {
  RoutingSpec spec = BlueGreen(5000, 5000);
  spec.pools.insert(spec.pools.begin(), Pool("red", 0, 9003));
  std::string error;
  auto table = RoutingTable::Build(spec, 1, &error);
  ASSERT_NE(table, nullptr) << error;
  const bool all[] = {true, true, true};
  EXPECT_EQ(table->FailoverPool(2, all), 1);  // green -> blue (baseline), not red
  EXPECT_EQ(table->FailoverPool(1, all), 0);  // blue (baseline) -> first other: red
  const bool no_red[] = {false, true, true};
  EXPECT_EQ(table->FailoverPool(1, no_red), 2);
  const bool only_green[] = {false, false, true};
  EXPECT_EQ(table->FailoverPool(2, only_green), -1);
  EXPECT_EQ(table->FailoverPool(2, {}), 1);
  EXPECT_EQ(table->FailoverPool(7, all), -1);
}

TEST(RoutingTable, FailoverPoolHonoursThe503Policy) {
  RoutingSpec spec = BlueGreen(5000, 5000);
  spec.pools[1].failover = FailoverPolicy::kUnavailable;
  std::string error;
  auto table = RoutingTable::Build(spec, 1, &error);
  ASSERT_NE(table, nullptr) << error;
  const bool all[] = {true, true};
  EXPECT_EQ(table->FailoverPool(1, all), -1);
  EXPECT_EQ(table->FailoverPool(0, all), 1);
}

TEST(RoutingTable, DecideFollowsWeightsAcrossTheDrawRange) {
  std::string error;
  auto table = RoutingTable::Build(BlueGreen(9000, 1000), 1, &error);
  ASSERT_NE(table, nullptr);
  // Sweep the 64-bit draw range evenly: exactly 10 % of draws land on green.
  const uint64_t step = std::numeric_limits<uint64_t>::max() / 100000;
  int green = 0;
  for (int i = 0; i < 100000; ++i) {
    const Decision decision = table->Decide(step * static_cast<uint64_t>(i));
    EXPECT_EQ(decision.reason, RouteReason::kWeight);
    if (decision.pool == 1) ++green;
  }
  EXPECT_NEAR(green, 10000, 2);
}

}  // namespace
}  // namespace cutover::routing
