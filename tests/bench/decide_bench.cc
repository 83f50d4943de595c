// Micro-benchmark of RoutingTable::Decide, the routing cost every request pays (issue 3:
// target < 200 ns for a 20-rule table). Build: ninja -C build tests/bench_decide; run:
// build/tests/bench_decide. Not a test: numbers depend on the machine.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "routing/ip_address.h"
#include "routing/routing_table.h"

namespace cutover::routing {
namespace {

using Kind = ConditionSpec::Kind;

ConditionSpec Condition(Kind kind, std::string name, std::vector<std::string> values) {
  ConditionSpec condition;
  condition.kind = kind;
  condition.name = std::move(name);
  condition.values = std::move(values);
  return condition;
}

RuleSpec Rule(std::string name, std::string pool, std::vector<ConditionSpec> conditions) {
  RuleSpec rule;
  rule.name = std::move(name);
  rule.pool = std::move(pool);
  rule.conditions = std::move(conditions);
  return rule;
}

RoutingSpec BaseSpec() {
  RoutingSpec spec;
  for (const char* name : {"blue", "green"}) {
    PoolSpec pool;
    pool.name = name;
    pool.basis_points = 5000;
    EndpointSpec endpoint;
    endpoint.host = "127.0.0.1";
    endpoint.port = 8080;
    pool.endpoints.push_back(endpoint);
    spec.pools.push_back(pool);
  }
  spec.baseline = "blue";
  spec.candidate = "green";
  spec.affinity.mode = AffinityMode::kHash;
  spec.affinity.source = AffinitySource::kCookie;
  spec.affinity.source_name = "session";
  spec.affinity.salt = "bench-salt";
  return spec;
}

// 19 rules a typical browser request does not match, in the shapes operators write: beta
// headers, tenant cookies, API prefixes, office networks, and mixes of them; then one beta
// header rule that the typical request also misses (so all 20 are evaluated and the split
// decides), but the "last rule matches" variant hits.
RoutingSpec TwentyRules() {
  RoutingSpec spec = BaseSpec();
  auto& rules = spec.rules;
  rules.push_back(Rule("beta-header", "green", {Condition(Kind::kHeaderExact, "X-Beta", {"1"})}));
  rules.push_back(
      Rule("canary-present", "green", {Condition(Kind::kHeaderPresent, "X-Canary", {})}));
  rules.push_back(
      Rule("tenant-cookie", "green", {Condition(Kind::kCookie, "tenant", {"acme", "globex"})}));
  rules.push_back(Rule("api-v2", "green", {Condition(Kind::kPathPrefix, "", {"/api/v2/"})}));
  rules.push_back(Rule("office-v4", "green",
                       {Condition(Kind::kClientCidr, "", {"10.0.0.0/8", "192.168.0.0/16"})}));
  rules.push_back(
      Rule("office-v6", "green", {Condition(Kind::kClientCidr, "", {"2001:db8::/32"})}));
  rules.push_back(Rule("writes-to-green", "green",
                       {Condition(Kind::kMethod, "", {"POST", "PUT", "PATCH"}),
                        Condition(Kind::kPathPrefix, "", {"/checkout"})}));
  rules.push_back(
      Rule("mobile-app", "green", {Condition(Kind::kHeaderPrefix, "User-Agent", {"MyApp/"})}));
  rules.push_back(Rule("debug-query", "green", {Condition(Kind::kQuery, "debug", {"green"})}));
  rules.push_back(Rule("internal-users", "green",
                       {Condition(Kind::kHeaderExact, "X-Internal", {"yes"}),
                        Condition(Kind::kClientCidr, "", {"172.16.0.0/12"})}));
  rules.push_back(Rule("plan-cookie", "green",
                       {Condition(Kind::kCookie, "plan", {"enterprise"}),
                        Condition(Kind::kPathPrefix, "", {"/reports"})}));
  rules.push_back(
      Rule("admin-path", "blue", {Condition(Kind::kPathPrefix, "", {"/admin", "/internal"})}));
  rules.push_back(Rule("region-eu", "green",
                       {Condition(Kind::kHeaderExact, "X-Region", {"eu-west-1", "eu-central-1"})}));
  rules.push_back(Rule("legacy-client", "blue",
                       {Condition(Kind::kHeaderPrefix, "X-Client-Version", {"1.", "2."})}));
  rules.push_back(Rule("delete-only", "blue", {Condition(Kind::kMethod, "", {"DELETE"})}));
  rules.push_back(Rule("partner-network", "green",
                       {Condition(Kind::kClientCidr, "", {"198.51.100.0/24", "203.0.113.128/25"}),
                        Condition(Kind::kHeaderPresent, "X-Partner", {})}));
  rules.push_back(
      Rule("feature-cookie", "green", {Condition(Kind::kCookie, "ff_new_cart", {"on"})}));
  rules.push_back(Rule("graphql", "green",
                       {Condition(Kind::kPathPrefix, "", {"/graphql"}),
                        Condition(Kind::kHeaderExact, "X-GraphQL-Client", {"web-next"})}));
  rules.push_back(Rule("no-cookie-bots", "blue",
                       {Condition(Kind::kHeaderAbsent, "Accept-Language", {}),
                        Condition(Kind::kHeaderPrefix, "User-Agent", {"curl/"})}));
  rules.push_back(
      Rule("last-beta", "green", {Condition(Kind::kHeaderExact, "X-Beta-Last", {"1"})}));
  return spec;
}

// A typical browser request: 10 headers, a session cookie among others, an IPv4 client.
struct TypicalRequest {
  std::vector<HeaderView> headers = {
      {"Host", "shop.example.com"},
      {"User-Agent", "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"},
      {"Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"},
      {"Accept-Language", "en-US,en;q=0.5"},
      {"Accept-Encoding", "gzip, deflate, br"},
      {"Referer", "https://shop.example.com/"},
      {"Cookie",
       "_ga=GA1.2.123456789.1700000000; session=8f14e45fceea167a5a36dedd4bea2543; theme=dark"},
      {"Connection", "keep-alive"},
      {"Upgrade-Insecure-Requests", "1"},
      {"X-Request-Id", "5b7c1f0e-8a2d-4f3b-9c6e-1d2a3b4c5d6e"},
  };
  RequestView view;

  explicit TypicalRequest(bool beta_last = false) {
    if (beta_last) headers.push_back({"X-Beta-Last", "1"});
    view.method = "GET";
    view.path = "/products/42";
    view.query = "ref=home&utm_source=newsletter";
    view.headers = headers;
    if (!ParseIpAddress("203.0.113.9", &view.client)) std::abort();
  }
};

std::shared_ptr<const RoutingTable> Build(RoutingSpec spec) {
  std::string error;
  auto table = RoutingTable::Build(std::move(spec), 1, &error);
  if (table == nullptr) {
    std::fprintf(stderr, "bench table: %s\n", error.c_str());
    std::abort();
  }
  return table;
}

void RunDecide(benchmark::State& state, const RoutingTable& table, const RequestView& view) {
  DecideInput input;
  uint64_t random = 0x9e3779b97f4a7c15ULL;
  for (auto _ : state) {
    input.random = random;
    random += 0x9e3779b97f4a7c15ULL;
    benchmark::DoNotOptimize(table.Decide(view, input));
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_Decide_20Rules_NoMatch_HashCookie(benchmark::State& state) {
  const auto table = Build(TwentyRules());
  const TypicalRequest request;
  if (table->Decide(request.view, DecideInput{}).reason != RouteReason::kWeight) std::abort();
  RunDecide(state, *table, request.view);
}
BENCHMARK(BM_Decide_20Rules_NoMatch_HashCookie);

void BM_Decide_20Rules_LastMatches(benchmark::State& state) {
  const auto table = Build(TwentyRules());
  const TypicalRequest request(true);
  if (table->Decide(request.view, DecideInput{}).rule != 19) std::abort();
  RunDecide(state, *table, request.view);
}
BENCHMARK(BM_Decide_20Rules_LastMatches);

void BM_Decide_NoRules_HashCookie(benchmark::State& state) {
  const auto table = Build(BaseSpec());
  const TypicalRequest request;
  RunDecide(state, *table, request.view);
}
BENCHMARK(BM_Decide_NoRules_HashCookie);

void BM_Decide_NoRules_HashMint(benchmark::State& state) {
  const auto table = Build(BaseSpec());
  TypicalRequest request;
  request.headers[6].value = "_ga=GA1.2.123456789.1700000000; theme=dark";  // no key: mint
  RunDecide(state, *table, request.view);
}
BENCHMARK(BM_Decide_NoRules_HashMint);

void BM_Decide_NoRules_PerRequest(benchmark::State& state) {
  RoutingSpec spec = BaseSpec();
  spec.affinity = AffinitySpec{};
  const auto table = Build(spec);
  const TypicalRequest request;
  RunDecide(state, *table, request.view);
}
BENCHMARK(BM_Decide_NoRules_PerRequest);

// What one evaluated header-regex condition costs (std::regex_match allocates per call).
void BM_Decide_OneRegexRule(benchmark::State& state) {
  RoutingSpec spec = BaseSpec();
  spec.rules.push_back(Rule("ua-regex", "green",
                            {Condition(Kind::kHeaderRegex, "User-Agent", {".*MyApp/[0-9]+.*"})}));
  const auto table = Build(spec);
  const TypicalRequest request;
  RunDecide(state, *table, request.view);
}
BENCHMARK(BM_Decide_OneRegexRule);

}  // namespace
}  // namespace cutover::routing

BENCHMARK_MAIN();
