#include "proxy/admin/state_json.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "proxy/config_loader.h"
#include "routing/weighted_split.h"

namespace cutover::proxy::admin {
namespace {

using nlohmann::json;
using routing::ConditionSpec;
using Kind = routing::ConditionSpec::Kind;
using ::testing::HasSubstr;

constexpr std::string_view kSalt = "salt-that-must-stay-secret";
constexpr std::string_view kPinKey = "pin-key-that-must-stay-secret-0123456789";

routing::PoolSpec Pool(std::string name, uint32_t basis_points, uint16_t port) {
  routing::PoolSpec pool;
  pool.name = std::move(name);
  pool.basis_points = basis_points;
  routing::EndpointSpec endpoint;
  endpoint.host = "127.0.0.1";
  endpoint.port = port;
  pool.endpoints.push_back(endpoint);
  return pool;
}

ConditionSpec Condition(Kind kind, std::string name, std::vector<std::string> values) {
  ConditionSpec condition;
  condition.kind = kind;
  condition.name = std::move(name);
  condition.values = std::move(values);
  return condition;
}

routing::RuleSpec Rule(std::string name, std::string pool) {
  routing::RuleSpec rule;
  rule.name = std::move(name);
  rule.pool = std::move(pool);
  return rule;
}

// blue 90 / green 10, plus "spare" (no endpoints, weight 0), pin affinity with both secrets,
// and three rules: two into the candidate, one into the baseline.
routing::RoutingSpec Spec() {
  routing::RoutingSpec spec;
  spec.pools.push_back(Pool("blue", 9000, 9001));
  spec.pools[0].endpoints.push_back(spec.pools[0].endpoints[0]);
  spec.pools[0].endpoints[1].host = "::1";
  spec.pools[0].endpoints[1].weight = 3;
  spec.pools.push_back(Pool("green", 1000, 9002));
  spec.pools[1].failover = routing::FailoverPolicy::kUnavailable;
  spec.pools[1].balance = routing::BalanceMode::kPowerOfTwo;
  routing::PoolSpec spare;
  spare.name = "spare";
  spec.pools.push_back(spare);
  spec.baseline = "blue";
  spec.candidate = "green";
  spec.affinity.mode = routing::AffinityMode::kPin;
  spec.affinity.source = routing::AffinitySource::kCookie;
  spec.affinity.source_name = "session";
  spec.affinity.salt = std::string(kSalt);
  spec.affinity.pin_key = std::string(kPinKey);
  spec.epoch = 4;

  routing::RuleSpec beta = Rule("beta-testers", "green");
  beta.kind = routing::FlagKind::kTargeted;
  beta.owner = "checkout-team";
  beta.expires_unix = 1801440000;  // 2027-02-01T00:00:00Z
  beta.conditions.push_back(Condition(Kind::kHeaderExact, "X-Beta", {"1", "yes"}));
  spec.rules.push_back(beta);
  routing::RuleSpec internal = Rule("internal", "green");
  internal.conditions.push_back(Condition(Kind::kClientCidr, "", {"10.0.0.0/8"}));
  spec.rules.push_back(internal);
  routing::RuleSpec legacy = Rule("legacy-api", "blue");
  legacy.kind = routing::FlagKind::kEnvironment;
  legacy.conditions.push_back(Condition(Kind::kPathPrefix, "", {"/v0/"}));
  spec.rules.push_back(legacy);
  return spec;
}

// Proves a next spec is one the router accepts, as the admin server will before publishing.
void ExpectBuilds(const routing::RoutingSpec& spec) {
  std::string error;
  EXPECT_NE(routing::RoutingTable::Build(spec, 2, &error), nullptr) << error;
}

// --- StateToJson --------------------------------------------------------------------------

TEST(StateToJsonTest, HasTheDesignShape) {
  const json state = StateToJson(Spec(), 7);
  EXPECT_EQ(state["version"], 7);
  EXPECT_EQ(state["weights"], json::parse(R"({"blue": 90, "green": 10, "spare": 0})"));
  EXPECT_EQ(state["baseline"], "blue");
  EXPECT_EQ(state["candidate"], "green");
  EXPECT_EQ(state["epoch"], 4);
  ASSERT_EQ(state["pools"].size(), 3u);
  EXPECT_EQ(state["pools"][0], json::parse(R"({"name": "blue", "endpoints": [
      {"address": "127.0.0.1:9001", "weight": 1}, {"address": "[::1]:9001", "weight": 3}],
      "failover": "other-pool", "balance": "round-robin"})"));
  EXPECT_EQ(state["pools"][1]["failover"], "503");
  EXPECT_EQ(state["pools"][1]["balance"], "power-of-two");
  EXPECT_EQ(state["pools"][2]["endpoints"], json::array());
  EXPECT_EQ(state["rules"][0], json::parse(R"({"name": "beta-testers", "enabled": true,
      "pool": "green", "kind": "targeted", "owner": "checkout-team",
      "expires": "2027-02-01T00:00:00Z", "match": {"header": {"X-Beta": ["1", "yes"]}}})"));
  EXPECT_EQ(state["rules"][1]["expires"], nullptr);
  EXPECT_EQ(state["rules"][1]["match"], json::parse(R"({"client_cidr": ["10.0.0.0/8"]})"));
  EXPECT_EQ(state["affinity"]["mode"], "pin");
  EXPECT_EQ(state["affinity"]["source"], "cookie:session");
  EXPECT_EQ(state["affinity"]["cookie"], "cutover_id");
  EXPECT_EQ(state["affinity"]["salt_set"], true);
  EXPECT_EQ(state["affinity"]["pin_key_set"], true);
}

TEST(StateToJsonTest, NeverContainsSecrets) {
  const std::string text = StateToJson(Spec(), 1).dump();
  EXPECT_EQ(text.find(kSalt), std::string::npos);
  EXPECT_EQ(text.find(kPinKey), std::string::npos);
  EXPECT_THAT(text, Not(HasSubstr("\"salt\"")));
  EXPECT_THAT(text, Not(HasSubstr("\"pin_key\"")));
}

TEST(StateToJsonTest, UnsetSecretsAndRolesAreSaidSo) {
  routing::RoutingSpec spec;
  spec.pools.push_back(Pool("only", 10000, 9001));
  const json state = StateToJson(spec, 1);
  EXPECT_EQ(state["baseline"], nullptr);
  EXPECT_EQ(state["candidate"], nullptr);
  EXPECT_EQ(state["rules"], json::array());
  EXPECT_EQ(state["affinity"]["mode"], "none");
  EXPECT_EQ(state["affinity"]["source"], nullptr);
  EXPECT_EQ(state["affinity"]["salt_set"], false);
  EXPECT_EQ(state["affinity"]["pin_key_set"], false);
}

TEST(StateToJsonTest, WeightsArePercentWithTwoDecimals) {
  routing::RoutingSpec spec;
  spec.pools.push_back(Pool("blue", 9999, 9001));
  spec.pools.push_back(Pool("green", 1, 9002));
  const json state = StateToJson(spec, 1);
  EXPECT_EQ(state["weights"].dump(), R"({"blue":99.99,"green":0.01})");
  spec.pools[0].basis_points = 7525;
  spec.pools[1].basis_points = 2475;
  EXPECT_EQ(StateToJson(spec, 1)["weights"].dump(), R"({"blue":75.25,"green":24.75})");
}

TEST(StateToJsonTest, WritesEveryMatchKey) {
  routing::RuleSpec rule = Rule("all", "green");
  rule.conditions = {
      Condition(Kind::kHeaderExact, "X-A", {"1"}),
      Condition(Kind::kHeaderPrefix, "User-Agent", {"Mozilla/"}),
      Condition(Kind::kHeaderPresent, "X-P", {}),
      Condition(Kind::kHeaderPresent, "X-Q", {}),
      Condition(Kind::kHeaderAbsent, "X-Z", {}),
      Condition(Kind::kHeaderRegex, "X-R", {"^a+$"}),
      Condition(Kind::kCookie, "beta", {"on"}),
      Condition(Kind::kQuery, "canary", {"1", ""}),
      Condition(Kind::kPathPrefix, "", {"/api/", "/v2/"}),
      Condition(Kind::kMethod, "", {"GET", "HEAD"}),
      Condition(Kind::kClientCidr, "", {"10.0.0.0/8", "2001:db8::/32"}),
      Condition(Kind::kAffinityKeys, "", {"user-1"}),
  };
  routing::RoutingSpec spec = Spec();
  spec.rules = {rule};
  EXPECT_EQ(StateToJson(spec, 1)["rules"][0]["match"], json::parse(R"({
      "header": {"X-A": ["1"]}, "header_prefix": {"User-Agent": ["Mozilla/"]},
      "header_present": ["X-P", "X-Q"], "header_absent": ["X-Z"], "header_regex": {"X-R": "^a+$"},
      "cookie": {"beta": ["on"]}, "query": {"canary": ["1", ""]}, "path_prefix": ["/api/", "/v2/"],
      "method": ["GET", "HEAD"], "client_cidr": ["10.0.0.0/8", "2001:db8::/32"],
      "affinity_keys": ["user-1"]})"));
}

// --- ApplyRuleJson: round trips -----------------------------------------------------------

void ExpectSameRule(const routing::RuleSpec& a, const routing::RuleSpec& b) {
  EXPECT_EQ(a.name, b.name);
  EXPECT_EQ(a.enabled, b.enabled);
  EXPECT_EQ(a.pool, b.pool);
  EXPECT_EQ(a.kind, b.kind);
  EXPECT_EQ(a.owner, b.owner);
  EXPECT_EQ(a.expires_unix, b.expires_unix);
  ASSERT_EQ(a.conditions.size(), b.conditions.size()) << a.name;
  for (std::size_t i = 0; i < a.conditions.size(); ++i) {
    EXPECT_EQ(a.conditions[i].kind, b.conditions[i].kind) << a.name << " condition " << i;
    EXPECT_EQ(a.conditions[i].name, b.conditions[i].name) << a.name << " condition " << i;
    EXPECT_EQ(a.conditions[i].values, b.conditions[i].values) << a.name << " condition " << i;
  }
}

// Spec -> JSON -> text -> JSON -> RuleSpec gives back every rule, and the rebuilt spec builds.
void ExpectRoundTrip(const routing::RoutingSpec& spec) {
  const json state = json::parse(StateToJson(spec, 3).dump());
  ASSERT_EQ(state["rules"].size(), spec.rules.size());
  routing::RoutingSpec rebuilt = spec;
  for (std::size_t i = 0; i < spec.rules.size(); ++i) {
    FieldError error;
    ASSERT_TRUE(ApplyRuleJson(state["rules"][i], spec, &rebuilt.rules[i], &error))
        << error.field << ": " << error.message;
    ExpectSameRule(rebuilt.rules[i], spec.rules[i]);
  }
  ExpectBuilds(rebuilt);
}

TEST(ApplyRuleJsonTest, RoundTripsTheSpecsRules) {
  ExpectRoundTrip(Spec());
}

TEST(ApplyRuleJsonTest, RoundTripsEveryMatchKey) {
  routing::RuleSpec rule = Rule("all", "green");
  rule.enabled = false;
  rule.kind = routing::FlagKind::kEnvironment;
  rule.expires_unix = 1801483200;  // 2027-02-01T12:00:00Z
  // In the order ApplyRuleJson produces: match keys in config order, names sorted.
  rule.conditions = {
      Condition(Kind::kHeaderExact, "X-A", {"1"}),
      Condition(Kind::kHeaderExact, "X-B", {"", "2"}),
      Condition(Kind::kHeaderPrefix, "User-Agent", {"Mozilla/"}),
      Condition(Kind::kHeaderPresent, "X-P", {}),
      Condition(Kind::kHeaderAbsent, "X-Z", {}),
      Condition(Kind::kHeaderRegex, "X-R", {"^(a|b)+$"}),
      Condition(Kind::kCookie, "beta", {"on"}),
      Condition(Kind::kQuery, "canary", {"1"}),
      Condition(Kind::kPathPrefix, "", {"/api/", "/v2/"}),
      Condition(Kind::kMethod, "", {"GET", "HEAD"}),
      Condition(Kind::kClientCidr, "", {"10.0.0.0/8", "2001:db8::/32", "192.0.2.1"}),
      Condition(Kind::kAffinityKeys, "", {"user-1", "user-2"}),
  };
  routing::RoutingSpec spec = Spec();
  spec.rules.push_back(rule);
  ExpectRoundTrip(spec);
}

// The API and the TOML config describe rules alike: every rule of a loaded config comes back
// from its JSON as the loader built it.
TEST(ApplyRuleJsonTest, RoundTripsRulesOfALoadedConfig) {
  const ConfigLoadResult loaded = LoadConfigString(R"(
[pools.blue]
endpoints = ["127.0.0.1:9001"]
[pools.green]
endpoints = ["127.0.0.1:9002"]
[routing]
baseline = "blue"
candidate = "green"
weights = { blue = 99.5, green = 0.5 }
[[routing.rules]]
name = "beta-testers"
pool = "green"
kind = "targeted"
owner = "checkout-team"
expires = 2027-01-31
match = { header = { "X-Beta" = "1", "X-Tier" = ["gold", "silver"] }, method = "GET" }
[[routing.rules]]
name = "office"
pool = "blue"
enabled = false
expires = 2027-01-31T18:00:00+01:00
match = { client_cidr = ["10.0.0.0/8"], header_present = ["X-A", "X-B"], query = { q = "" } }
[[routing.rules]]
name = "regex"
pool = "green"
[routing.rules.match]
header_regex = { "User-Agent" = "^curl/.*" }
cookie = { beta = "on" }
path_prefix = "/api/"
affinity_keys = ["k1"]
header_absent = "X-No"
header_prefix = { "X-Pre" = "ab" }
)",
                                                   "test.toml");
  ASSERT_TRUE(loaded.config.has_value())
      << (loaded.errors.empty() ? "" : loaded.errors[0].ToString("test.toml"));
  const routing::RoutingSpec& spec = loaded.config->routing;
  ASSERT_EQ(spec.rules.size(), 3u);
  EXPECT_EQ(StateToJson(spec, 1)["weights"].dump(), R"({"blue":99.5,"green":0.5})");
  EXPECT_EQ(StateToJson(spec, 1)["rules"][0]["expires"], "2027-02-01T00:00:00Z");
  EXPECT_EQ(StateToJson(spec, 1)["rules"][1]["expires"], "2027-01-31T17:00:00Z");
  ExpectRoundTrip(spec);
}

TEST(ApplyRuleJsonTest, AppliesDefaultsAndShortForms) {
  routing::RuleSpec rule;
  FieldError error;
  ASSERT_TRUE(ApplyRuleJson(json::parse(R"({"name": "n", "pool": "green",
      "match": {"path_prefix": "/a", "header_present": "X-A", "header": {"X-B": "1"}}})"),
                            Spec(), &rule, &error))
      << error.message;
  EXPECT_TRUE(rule.enabled);
  EXPECT_EQ(rule.kind, routing::FlagKind::kTemporary);
  EXPECT_EQ(rule.owner, "");
  EXPECT_FALSE(rule.expires_unix.has_value());
  ASSERT_EQ(rule.conditions.size(), 3u);
  EXPECT_EQ(rule.conditions[0].kind, Kind::kHeaderExact);
  EXPECT_EQ(rule.conditions[0].values, std::vector<std::string>{"1"});
  EXPECT_EQ(rule.conditions[1].kind, Kind::kHeaderPresent);
  EXPECT_EQ(rule.conditions[2].values, std::vector<std::string>{"/a"});
}

TEST(ApplyRuleJsonTest, ReadsExpiresLikeTheConfig) {
  const auto expires = [](std::string_view text) {
    routing::RuleSpec rule;
    FieldError error;
    json body = {{"name", "n"}, {"pool", "green"}, {"expires", text}};
    EXPECT_TRUE(ApplyRuleJson(body, Spec(), &rule, &error)) << text << ": " << error.message;
    return rule.expires_unix.value_or(-1);
  };
  EXPECT_EQ(expires("2027-01-31"), 1801440000);  // through that day, UTC
  EXPECT_EQ(expires("2027-02-01T00:00:00Z"), 1801440000);
  EXPECT_EQ(expires("2027-02-01T01:30:00+01:30"), 1801440000);
  EXPECT_EQ(expires("2027-01-31T22:00:00-02:00"), 1801440000);
  routing::RuleSpec rule;
  FieldError error;
  EXPECT_TRUE(ApplyRuleJson(json::parse(R"({"name": "n", "pool": "green", "expires": null})"),
                            Spec(), &rule, &error));
  EXPECT_FALSE(rule.expires_unix.has_value());
}

TEST(ApplyRuleJsonTest, DisabledRuleMayNameAPoolWithoutEndpoints) {
  routing::RuleSpec rule;
  FieldError error;
  ASSERT_TRUE(ApplyRuleJson(json::parse(R"({"name": "later", "pool": "spare", "enabled": false})"),
                            Spec(), &rule, &error))
      << error.message;
  routing::RoutingSpec next = Spec();
  next.rules.push_back(rule);
  ExpectBuilds(next);
}

// --- ApplyRuleJson: rejections ------------------------------------------------------------

// Expects `body` to be refused with `field`, *out untouched; returns the message.
std::string RuleError(std::string_view body, std::string_view field) {
  routing::RuleSpec out = Rule("untouched", "blue");
  FieldError error;
  EXPECT_FALSE(ApplyRuleJson(json::parse(body), Spec(), &out, &error)) << body;
  EXPECT_EQ(error.field, field) << body << " -> " << error.message;
  EXPECT_FALSE(error.message.empty());
  EXPECT_EQ(out.name, "untouched");
  EXPECT_TRUE(out.conditions.empty());
  return error.message;
}

TEST(ApplyRuleJsonTest, RejectsWhatIsNotAnObject) {
  EXPECT_EQ(RuleError("[]", ""), "expected a JSON object");
  EXPECT_EQ(RuleError("\"rule\"", ""), "expected a JSON object");
  EXPECT_EQ(RuleError("null", ""), "expected a JSON object");
}

TEST(ApplyRuleJsonTest, RejectsUnknownFields) {
  EXPECT_EQ(RuleError(R"({"name": "n", "pool": "green", "weight": 5})", "weight"), "unknown field");
  EXPECT_EQ(
      RuleError(R"({"name": "n", "pool": "green", "match": {"headers": {}}})", "match.headers"),
      "unknown match key");
}

TEST(ApplyRuleJsonTest, RejectsMissingAndMistypedFields) {
  RuleError(R"({"pool": "green"})", "name");
  RuleError(R"({"name": "n"})", "pool");
  RuleError(R"({"name": 5, "pool": "green"})", "name");
  RuleError(R"({"name": "n", "pool": ["green"]})", "pool");
  RuleError(R"({"name": "n", "pool": "green", "enabled": "yes"})", "enabled");
  RuleError(R"({"name": "n", "pool": "green", "enabled": 1})", "enabled");
  RuleError(R"({"name": "n", "pool": "green", "kind": 1})", "kind");
  RuleError(R"({"name": "n", "pool": "green", "owner": null})", "owner");
  RuleError(R"({"name": "n", "pool": "green", "expires": 1801440000})", "expires");
  RuleError(R"({"name": "n", "pool": "green", "match": []})", "match");
  RuleError(R"({"name": "n", "pool": "green", "match": {"header": ["X-A"]}})", "match.header");
  RuleError(R"({"name": "n", "pool": "green", "match": {"header": {"X-A": 1}}})",
            "match.header.X-A");
  RuleError(R"({"name": "n", "pool": "green", "match": {"header": {"X-A": [1]}}})",
            "match.header.X-A");
  RuleError(R"({"name": "n", "pool": "green", "match": {"header_regex": {"X-A": ["a"]}}})",
            "match.header_regex.X-A");
  RuleError(R"({"name": "n", "pool": "green", "match": {"method": {"GET": 1}}})", "match.method");
  RuleError(R"({"name": "n", "pool": "green", "match": {"path_prefix": []}})", "match.path_prefix");
}

TEST(ApplyRuleJsonTest, RejectsBadNamesPoolsAndFlags) {
  RuleError(R"({"name": "", "pool": "green"})", "name");
  RuleError(R"({"name": "has space", "pool": "green"})", "name");
  RuleError(R"({"name": "a/b", "pool": "green"})", "name");
  RuleError(R"({"name": ")" + std::string(65, 'a') + R"(", "pool": "green"})", "name");
  EXPECT_THAT(RuleError(R"({"name": "n", "pool": "purple"})", "pool"), HasSubstr("unknown pool"));
  EXPECT_THAT(RuleError(R"({"name": "n", "pool": "spare"})", "pool"), HasSubstr("no endpoints"));
  RuleError(R"({"name": "n", "pool": "green", "kind": "permanent"})", "kind");
  for (const char* bad : {"2027-13-01", "2027-02-30", "2027-01-31T18:00:00", "2027-01-31 18:00:00Z",
                          "2027-01-31T24:00:00Z", "2027-01-31T18:00:00+1", "27-01-31", "soon"}) {
    RuleError(R"({"name": "n", "pool": "green", "expires": ")" + std::string(bad) + "\"}",
              "expires");
  }
}

TEST(ApplyRuleJsonTest, RejectsWhatTheConfigLoaderRejects) {
  const auto match = [](std::string_view m) {
    return R"({"name": "n", "pool": "green", "match": )" + std::string(m) + "}";
  };
  RuleError(match(R"({"header": {"X A": "1"}})"), "match.header.X A");
  RuleError(match(R"({"header_prefix": {"X-A": ""}})"), "match.header_prefix.X-A");
  RuleError(match(R"({"header_present": ["X-A", "bad name"]})"), "match.header_present");
  RuleError(match(R"({"header_absent": [""]})"), "match.header_absent");
  EXPECT_THAT(
      RuleError(match(R"({"header_regex": {"X-A": "(unclosed"}})"), "match.header_regex.X-A"),
      Not(HasSubstr("rule 'check'")));
  RuleError(match(R"({"header_regex": {"X-A": ""}})"), "match.header_regex.X-A");
  RuleError(match(R"({"cookie": {"a;b": "1"}})"), "match.cookie.a;b");
  RuleError(match(R"({"query": {"a=b": "1"}})"), "match.query.a=b");
  RuleError(match(R"({"query": {"a#b": "1"}})"), "match.query.a#b");
  RuleError(match(R"({"query": {"a b": "1"}})"), "match.query.a b");
  RuleError(match(R"({"path_prefix": "api/"})"), "match.path_prefix");
  RuleError(match(R"({"path_prefix": [""]})"), "match.path_prefix");
  RuleError(match(R"({"method": "get"})"), "match.method");
  RuleError(match(R"({"method": ["GET", ""]})"), "match.method");
  RuleError(match(R"({"client_cidr": "10.0.0.0/33"})"), "match.client_cidr");
  RuleError(match(R"({"client_cidr": "010.0.0.0/8"})"), "match.client_cidr");
  RuleError(match(R"({"client_cidr": "example.com"})"), "match.client_cidr");
  RuleError(match(R"({"affinity_keys": [""]})"), "match.affinity_keys");
}

// --- ApplyWeights -------------------------------------------------------------------------

TEST(ApplyWeightsTest, SetsTheGivenSplitAndZeroesTheRest) {
  routing::RoutingSpec current = Spec();
  current.pools[2].endpoints = Spec().pools[0].endpoints;
  current.pools[0].basis_points = 5000;
  current.pools[2].basis_points = 4000;
  routing::RoutingSpec next;
  FieldError error;
  ASSERT_TRUE(ApplyWeights(json::parse(R"({"blue": 80, "green": 20})"), current, &next, &error))
      << error.message;
  EXPECT_EQ(next.pools[0].basis_points, 8000u);
  EXPECT_EQ(next.pools[1].basis_points, 2000u);
  EXPECT_EQ(next.pools[2].basis_points, 0u);
  EXPECT_EQ(next.rules.size(), current.rules.size());
  EXPECT_EQ(next.affinity.salt, current.affinity.salt);
  ExpectBuilds(next);
}

TEST(ApplyWeightsTest, AcceptsTwoDecimals) {
  routing::RoutingSpec next;
  FieldError error;
  ASSERT_TRUE(ApplyWeights(json::parse(R"({"blue": 99.71, "green": 0.29})"), Spec(), &next, &error))
      << error.message;
  EXPECT_EQ(next.pools[0].basis_points, 9971u);
  EXPECT_EQ(next.pools[1].basis_points, 29u);
  ExpectBuilds(next);
  ASSERT_TRUE(ApplyWeights(json::parse(R"({"blue": 0, "green": 100.0})"), Spec(), &next, &error));
  EXPECT_EQ(next.pools[1].basis_points, 10000u);
  ExpectBuilds(next);
}

// Every split with two decimals is accepted exactly (no float drift into a refusal).
TEST(ApplyWeightsTest, EveryBasisPointSplitRoundTrips) {
  for (uint32_t green = 0; green <= routing::kBucketCount; ++green) {
    routing::RoutingSpec spec = Spec();
    spec.pools[0].basis_points = routing::kBucketCount - green;
    spec.pools[1].basis_points = green;
    const json weights = json::parse(StateToJson(spec, 1)["weights"].dump());
    routing::RoutingSpec next;
    FieldError error;
    ASSERT_TRUE(ApplyWeights(weights, Spec(), &next, &error)) << weights << ": " << error.message;
    ASSERT_EQ(next.pools[1].basis_points, green);
  }
}

std::string WeightsError(std::string_view body, std::string_view field) {
  routing::RoutingSpec next;
  next.epoch = 99;
  FieldError error;
  EXPECT_FALSE(ApplyWeights(json::parse(body), Spec(), &next, &error)) << body;
  EXPECT_EQ(error.field, field) << body << " -> " << error.message;
  EXPECT_FALSE(error.message.empty());
  EXPECT_EQ(next.epoch, 99u) << "next must be untouched";
  EXPECT_TRUE(next.pools.empty());
  return error.message;
}

TEST(ApplyWeightsTest, RejectsBadBodies) {
  EXPECT_EQ(WeightsError("[80, 20]", ""), "expected a JSON object");
  EXPECT_EQ(WeightsError("80", ""), "expected a JSON object");
  EXPECT_EQ(WeightsError("null", ""), "expected a JSON object");
  EXPECT_THAT(WeightsError(R"({"blue": 80, "purple": 20})", "purple"), HasSubstr("unknown pool"));
  EXPECT_THAT(WeightsError(R"({"blue": "80", "green": 20})", "blue"), HasSubstr("number"));
  EXPECT_THAT(WeightsError(R"({"blue": true, "green": 20})", "blue"), HasSubstr("number"));
  EXPECT_THAT(WeightsError(R"({"blue": null, "green": 20})", "blue"), HasSubstr("number"));
  EXPECT_THAT(WeightsError(R"({"blue": 110, "green": -10})", "blue"), HasSubstr("between 0"));
  EXPECT_THAT(WeightsError(R"({"blue": 100.5, "green": -0.5})", "blue"), HasSubstr("between 0"));
  EXPECT_THAT(WeightsError(R"({"blue": 80, "green": -0.01})", "green"), HasSubstr("between 0"));
  EXPECT_THAT(WeightsError(R"({"blue": 99.995, "green": 0.005})", "blue"),
              HasSubstr("two decimals"));
  EXPECT_THAT(WeightsError(R"({"green": 0.001, "blue": 99})", "green"), HasSubstr("two decimals"));
  EXPECT_THAT(WeightsError(R"({"blue": 80, "green": 10})", "weights"), HasSubstr("sum to 90"));
  EXPECT_THAT(WeightsError(R"({"blue": 80.5, "green": 20})", "weights"), HasSubstr("sum to 100.5"));
  EXPECT_THAT(WeightsError(R"({"blue": 80})", "weights"), HasSubstr("pools not given get 0"));
  WeightsError("{}", "weights");
  EXPECT_THAT(WeightsError(R"({"blue": 90, "spare": 10})", "spare"), HasSubstr("no endpoints"));
}

TEST(ApplyWeightsTest, ZeroForAPoolWithoutEndpointsIsFine) {
  routing::RoutingSpec next;
  FieldError error;
  ASSERT_TRUE(
      ApplyWeights(json::parse(R"({"blue": 100, "green": 0, "spare": 0})"), Spec(), &next, &error))
      << error.message;
  ExpectBuilds(next);
}

// --- Rollback -----------------------------------------------------------------------------

TEST(RollbackTest, MovesTheCandidatesShareToTheBaselineAndDisablesItsRules) {
  routing::RoutingSpec current = Spec();
  current.pools[0].basis_points = 7525;
  current.pools[1].basis_points = 2475;
  const routing::RoutingSpec next = Rollback(current);
  EXPECT_EQ(next.pools[0].basis_points, 10000u);
  EXPECT_EQ(next.pools[1].basis_points, 0u);
  EXPECT_EQ(next.pools[2].basis_points, 0u);
  ASSERT_EQ(next.rules.size(), 3u);
  EXPECT_FALSE(next.rules[0].enabled);  // beta-testers -> green
  EXPECT_FALSE(next.rules[1].enabled);  // internal -> green
  EXPECT_TRUE(next.rules[2].enabled);   // legacy-api -> blue: untouched
  ExpectSameRule(next.rules[2], current.rules[2]);
  EXPECT_EQ(next.rules[0].conditions.size(), current.rules[0].conditions.size());
  EXPECT_EQ(next.epoch, current.epoch);
  EXPECT_EQ(next.baseline, "blue");
  EXPECT_EQ(next.candidate, "green");
  ExpectBuilds(next);
}

TEST(RollbackTest, LeavesOtherPoolsWeightsAlone) {
  routing::RoutingSpec current = Spec();
  current.pools[2].endpoints = current.pools[0].endpoints;
  current.pools[0].basis_points = 5000;
  current.pools[1].basis_points = 3000;
  current.pools[2].basis_points = 2000;
  const routing::RoutingSpec next = Rollback(current);
  EXPECT_EQ(next.pools[0].basis_points, 8000u);
  EXPECT_EQ(next.pools[1].basis_points, 0u);
  EXPECT_EQ(next.pools[2].basis_points, 2000u);
  ExpectBuilds(next);
}

TEST(RollbackTest, WithoutABaselineTheFirstOtherServingPoolTakesTheShare) {
  routing::RoutingSpec current = Spec();
  current.baseline.clear();
  std::swap(current.pools[0], current.pools[2]);  // spare (no endpoints) first, then green, blue
  const routing::RoutingSpec next = Rollback(current);
  EXPECT_EQ(next.pools[0].basis_points, 0u);      // spare: no endpoints, skipped
  EXPECT_EQ(next.pools[1].basis_points, 0u);      // green
  EXPECT_EQ(next.pools[2].basis_points, 10000u);  // blue
  ExpectBuilds(next);
}

TEST(RollbackTest, WithoutACandidateNothingChanges) {
  routing::RoutingSpec current = Spec();
  current.candidate.clear();
  const routing::RoutingSpec next = Rollback(current);
  EXPECT_EQ(StateToJson(next, 1), StateToJson(current, 1));
  EXPECT_EQ(next.affinity.salt, current.affinity.salt);
}

TEST(RollbackTest, IsIdempotent) {
  const routing::RoutingSpec once = Rollback(Spec());
  EXPECT_EQ(StateToJson(Rollback(once), 1), StateToJson(once, 1));
}

}  // namespace
}  // namespace cutover::proxy::admin
