// RoutingTable::Decide (routing/decide.cc, routing/failover.cc): the order of a decision,
// affinity, pins, failover, and the properties DESIGN §4 promises, checked over >= 100k keys.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <new>
#include <random>
#include <string>
#include <vector>

#include "routing/routing_table.h"
#include "routing/weighted_split.h"

// Counts heap allocations while `g_counting` is set, to prove Decide allocates nothing.
// Every non-aligned form is replaced, so that no allocation made by one allocator is freed
// by another (AddressSanitizer checks the pairing).
namespace {
std::atomic<bool> g_counting{false};
std::atomic<int> g_allocations{0};

void* CountedAlloc(std::size_t size) noexcept {
  if (g_counting.load(std::memory_order_relaxed)) g_allocations.fetch_add(1);
  return std::malloc(size == 0 ? 1 : size);
}
}  // namespace

void* operator new(std::size_t size) {
  if (void* p = CountedAlloc(size)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t size) {
  if (void* p = CountedAlloc(size)) return p;
  throw std::bad_alloc();
}
void* operator new(std::size_t size, const std::nothrow_t&) noexcept {
  return CountedAlloc(size);
}
void* operator new[](std::size_t size, const std::nothrow_t&) noexcept {
  return CountedAlloc(size);
}
// GCC pairs the `delete` in inlined callers with the malloc it sees above and warns; the
// pairing is right by construction here.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
void operator delete(void* p) noexcept {
  std::free(p);
}
void operator delete[](void* p) noexcept {
  std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
  std::free(p);
}
void operator delete[](void* p, std::size_t) noexcept {
  std::free(p);
}
void operator delete(void* p, const std::nothrow_t&) noexcept {
  std::free(p);
}
void operator delete[](void* p, const std::nothrow_t&) noexcept {
  std::free(p);
}
#pragma GCC diagnostic pop

namespace cutover::routing {
namespace {

constexpr uint32_t kBlue = 0;
constexpr uint32_t kGreen = 1;
constexpr int kKeyCount = 100'000;

PoolSpec Pool(std::string name, uint32_t basis_points) {
  PoolSpec pool;
  pool.name = std::move(name);
  pool.basis_points = basis_points;
  EndpointSpec endpoint;
  endpoint.host = "127.0.0.1";
  endpoint.port = 9000;
  pool.endpoints.push_back(endpoint);
  return pool;
}

RoutingSpec BlueGreen(uint32_t green, AffinityMode mode = AffinityMode::kNone) {
  RoutingSpec spec;
  spec.pools.push_back(Pool("blue", kBucketCount - green));
  spec.pools.push_back(Pool("green", green));
  spec.baseline = "blue";
  spec.candidate = "green";
  spec.affinity.mode = mode;
  spec.affinity.salt = "test-salt";
  spec.affinity.pin_key = "0123456789abcdef0123456789abcdef";
  return spec;
}

// Hash affinity keyed by the X-User-Id header.
RoutingSpec ByUser(uint32_t green, AffinityMode mode = AffinityMode::kHash) {
  RoutingSpec spec = BlueGreen(green, mode);
  spec.affinity.source = AffinitySource::kHeader;
  spec.affinity.source_name = "X-User-Id";
  return spec;
}

std::shared_ptr<const RoutingTable> Table(RoutingSpec spec) {
  std::string error;
  auto table = RoutingTable::Build(std::move(spec), 1, &error);
  EXPECT_NE(table, nullptr) << error;
  return table;
}

ConditionSpec Header(std::string name, std::string value) {
  ConditionSpec condition;
  condition.kind = ConditionSpec::Kind::kHeaderExact;
  condition.name = std::move(name);
  condition.values = {std::move(value)};
  return condition;
}

RuleSpec Rule(std::string name, std::string pool, std::vector<ConditionSpec> conditions) {
  RuleSpec rule;
  rule.name = std::move(name);
  rule.pool = std::move(pool);
  rule.conditions = std::move(conditions);
  return rule;
}

// A request owning its header storage.
struct Request {
  std::vector<HeaderView> headers;
  RequestView view;

  Request() : Request(std::initializer_list<HeaderView>{}) {}
  explicit Request(std::initializer_list<HeaderView> h) : headers(h) {
    view.method = "GET";
    view.path = "/";
    view.headers = headers;
  }
};

DecideInput Input(uint64_t random) {
  DecideInput input;
  input.random = random;
  return input;
}

DecideInput Pinned(uint32_t pool, uint64_t random = 0) {
  DecideInput input = Input(random);
  input.pin.present = true;
  input.pin.pool = pool;
  return input;
}

const std::vector<std::string>& Keys() {
  static const std::vector<std::string> keys = [] {
    std::mt19937_64 rng(20240601);
    std::vector<std::string> out;
    out.reserve(kKeyCount);
    for (int i = 0; i < kKeyCount; ++i) out.push_back("user-" + std::to_string(rng()));
    return out;
  }();
  return keys;
}

uint32_t PoolFor(const RoutingTable& table, std::string_view key) {
  const HeaderView header{"X-User-Id", key};
  RequestView view;
  view.headers = std::span<const HeaderView>(&header, 1);
  return table.Decide(view, Input(0)).pool;
}

std::vector<uint32_t> PoolsForAllKeys(const RoutingTable& table) {
  std::vector<uint32_t> pools;
  pools.reserve(Keys().size());
  for (const std::string& key : Keys()) pools.push_back(PoolFor(table, key));
  return pools;
}

TEST(RouteReasonName, NamesEveryReason) {
  EXPECT_EQ(RouteReasonName(RouteReason::kWeight), "weight");
  EXPECT_EQ(RouteReasonName(RouteReason::kRule), "rule");
  EXPECT_EQ(RouteReasonName(RouteReason::kPin), "pin");
  EXPECT_EQ(RouteReasonName(RouteReason::kFailover), "failover");
  EXPECT_EQ(RouteReasonName(RouteReason::kUnavailable), "unavailable");
}

TEST(Decide, WithoutAffinityEachRequestIsSplitByItsDraw) {
  auto table = Table(BlueGreen(5000));
  const Request request({{"Cookie", "cutover_id=ignored"}});
  for (const uint64_t random : {0ULL, 1ULL << 62, 1ULL << 63, ~0ULL}) {
    const Decision decision = table->Decide(request.view, Input(random));
    EXPECT_EQ(decision.bucket, BucketFromRandom(random));
    EXPECT_EQ(decision.pool, table->Decide(random).pool);
    EXPECT_EQ(decision.reason, RouteReason::kWeight);
    EXPECT_EQ(decision.rule, -1);
    EXPECT_FALSE(decision.mint_key);
    EXPECT_FALSE(decision.write_pin);
    EXPECT_FALSE(decision.unavailable);
  }
}

TEST(Decide, WeightsZeroAndHundredAreAbsolute) {
  auto all_blue = Table(ByUser(0));
  auto all_green = Table(ByUser(kBucketCount));
  for (int i = 0; i < 20000; ++i) {
    ASSERT_EQ(PoolFor(*all_blue, Keys()[static_cast<std::size_t>(i)]), kBlue);
    ASSERT_EQ(PoolFor(*all_green, Keys()[static_cast<std::size_t>(i)]), kGreen);
  }
  // Across the whole draw range too.
  auto per_request = Table(BlueGreen(0));
  EXPECT_EQ(per_request->Decide(~0ULL).pool, kBlue);
  auto per_request_green = Table(BlueGreen(kBucketCount));
  EXPECT_EQ(per_request_green->Decide(0).pool, kGreen);
}

TEST(Decide, OneBasisPointIsOneBucket) {
  // 0.01 %: exactly the last bucket is green.
  auto table = Table(BlueGreen(1));
  const uint64_t last_bucket_draw = ~0ULL;
  const uint64_t other_draw = ~0ULL - (~0ULL / kBucketCount) - 1;
  EXPECT_EQ(table->Decide(last_bucket_draw).pool, kGreen);
  EXPECT_EQ(table->Decide(other_draw).pool, kBlue);
  int green = 0;
  for (const uint32_t pool : PoolsForAllKeys(*Table(ByUser(1)))) green += pool == kGreen;
  EXPECT_LE(green, 30);  // 10 expected of 100k
}

TEST(Decide, RulesBeatWeights) {
  RoutingSpec spec = ByUser(0);
  spec.rules.push_back(Rule("beta", "green", {Header("X-Beta", "1")}));
  auto table = Table(spec);
  const Request beta({{"x-beta", "1"}, {"X-User-Id", "u1"}});
  const Decision decision = table->Decide(beta.view, Input(0));
  EXPECT_EQ(decision.pool, kGreen);
  EXPECT_EQ(decision.reason, RouteReason::kRule);
  EXPECT_EQ(decision.rule, 0);
  EXPECT_FALSE(decision.mint_key);
  EXPECT_FALSE(decision.write_pin);
  const Request other({{"X-Beta", "0"}, {"X-User-Id", "u1"}});
  EXPECT_EQ(table->Decide(other.view, Input(0)).pool, kBlue);
  EXPECT_EQ(table->Decide(other.view, Input(0)).reason, RouteReason::kWeight);
}

TEST(Decide, FirstEnabledMatchWinsAndDisabledRulesAreSkipped) {
  RoutingSpec spec = BlueGreen(5000);
  spec.pools.push_back(Pool("red", 0));
  spec.rules.push_back(Rule("off", "red", {Header("X-A", "1")}));
  spec.rules.back().enabled = false;
  spec.rules.push_back(Rule("first", "green", {Header("X-A", "1")}));
  spec.rules.push_back(Rule("second", "blue", {Header("X-A", "1")}));
  spec.rules.push_back(Rule("catch-all", "red", {}));
  auto table = Table(spec);
  const Request a({{"X-A", "1"}});
  Decision decision = table->Decide(a.view, Input(0));
  EXPECT_EQ(decision.pool, kGreen);
  EXPECT_EQ(decision.rule, 1);
  decision = table->Decide(Request().view, Input(0));
  EXPECT_EQ(decision.pool, 2u);
  EXPECT_EQ(decision.rule, 3);
  EXPECT_EQ(decision.reason, RouteReason::kRule);
}

TEST(Decide, ExpiredRulesKeepRouting) {
  RoutingSpec spec = BlueGreen(0);
  spec.rules.push_back(Rule("old-flag", "green", {Header("X-A", "1")}));
  spec.rules.back().expires_unix = 1;  // long gone
  auto table = Table(spec);
  const Request a({{"X-A", "1"}});
  EXPECT_EQ(table->Decide(a.view, Input(0)).pool, kGreen);
  EXPECT_EQ(table->ExpiredRules(2), std::vector<std::string>{"old-flag"});
}

TEST(Decide, AffinityKeyRulesSeeTheKeyEvenWithoutAffinityMode) {
  RoutingSpec spec = BlueGreen(0);
  ConditionSpec keys;
  keys.kind = ConditionSpec::Kind::kAffinityKeys;
  keys.values = {"tester-1", "tester-2"};
  spec.rules.push_back(Rule("testers", "green", {keys}));
  auto table = Table(spec);
  const Request tester({{"Cookie", "cutover_id=tester-2"}});
  EXPECT_EQ(table->Decide(tester.view, Input(0)).pool, kGreen);
  const Request other({{"Cookie", "cutover_id=someone"}});
  EXPECT_EQ(table->Decide(other.view, Input(0)).pool, kBlue);
  EXPECT_EQ(table->Decide(Request().view, Input(0)).pool, kBlue);
}

TEST(Decide, AffinityKeyRulesUseTheConfiguredSource) {
  RoutingSpec spec = ByUser(0);
  ConditionSpec keys;
  keys.kind = ConditionSpec::Kind::kAffinityKeys;
  keys.values = {"u-7"};
  spec.rules.push_back(Rule("testers", "green", {keys}));
  auto table = Table(spec);
  const Request tester({{"X-User-Id", "u-7"}, {"Cookie", "cutover_id=x"}});
  EXPECT_EQ(table->Decide(tester.view, Input(0)).pool, kGreen);
}

TEST(Decide, HashModeKeepsAKeyOnItsBucketWhateverTheDraw) {
  auto table = Table(ByUser(5000));
  const Request request({{"X-User-Id", "user-42"}});
  const Decision first = table->Decide(request.view, Input(1));
  EXPECT_EQ(first.bucket, AffinityBucket("test-salt", "user-42"));
  EXPECT_FALSE(first.mint_key);
  EXPECT_FALSE(first.write_pin);
  std::mt19937_64 rng(5);
  for (int i = 0; i < 1000; ++i) {
    const Decision again = table->Decide(request.view, Input(rng()));
    ASSERT_EQ(again.pool, first.pool);
    ASSERT_EQ(again.bucket, first.bucket);
  }
}

TEST(Decide, ConfiguredSourceComesBeforeTheOwnCookie) {
  auto table = Table(ByUser(5000));
  const Request both({{"Cookie", "cutover_id=minted"}, {"X-User-Id", "user-42"}});
  EXPECT_EQ(table->Decide(both.view, Input(0)).bucket, AffinityBucket("test-salt", "user-42"));
  const Request cookie_only({{"Cookie", "cutover_id=minted"}});
  const Decision decision = table->Decide(cookie_only.view, Input(0));
  EXPECT_EQ(decision.bucket, AffinityBucket("test-salt", "minted"));
  EXPECT_FALSE(decision.mint_key);
}

TEST(Decide, MintedKeysRouteAsTheSameKeyPresentedLater) {
  auto table = Table(ByUser(3000));
  std::mt19937_64 rng(99);
  for (int i = 0; i < 20000; ++i) {
    const uint64_t random = rng();
    const Decision minted = table->Decide(Request().view, Input(random));
    ASSERT_TRUE(minted.mint_key);
    ASSERT_EQ(minted.minted_key, random);
    char key[kMintedKeyLength];
    FormatMintedKey(random, key);
    const std::string cookie = "cutover_id=" + std::string(key, kMintedKeyLength);
    const Request later({{"Cookie", cookie}});
    const Decision next = table->Decide(later.view, Input(rng()));
    ASSERT_FALSE(next.mint_key);
    ASSERT_EQ(next.bucket, minted.bucket);
    ASSERT_EQ(next.pool, minted.pool);
  }
}

TEST(Decide, MintingFollowsTheWeights) {
  auto table = Table(ByUser(2500));
  std::mt19937_64 rng(1);
  int green = 0;
  for (int i = 0; i < kKeyCount; ++i)
    green += table->Decide(Request().view, Input(rng())).pool == kGreen;
  EXPECT_NEAR(green * 100.0 / kKeyCount, 25.0, 0.5);
}

TEST(Decide, PinModeWritesAPinForANewSession) {
  auto table = Table(ByUser(5000, AffinityMode::kPin));
  const Request with_key({{"X-User-Id", "user-42"}});
  Decision decision = table->Decide(with_key.view, Input(7));
  EXPECT_EQ(decision.reason, RouteReason::kWeight);
  EXPECT_TRUE(decision.write_pin);
  EXPECT_FALSE(decision.mint_key);  // pin mode keeps its state in the pin cookie
  EXPECT_EQ(decision.bucket, AffinityBucket("test-salt", "user-42"));
  decision = table->Decide(Request().view, Input(1ULL << 63));
  EXPECT_TRUE(decision.write_pin);
  EXPECT_EQ(decision.bucket, BucketFromRandom(1ULL << 63));
}

TEST(Decide, PinsHoldWhateverTheWeightsDo) {
  // "Send all new sessions to green, let existing blue sessions finish on blue".
  auto table = Table(BlueGreen(kBucketCount, AffinityMode::kPin));
  const Decision pinned = table->Decide(Request().view, Pinned(kBlue));
  EXPECT_EQ(pinned.pool, kBlue);
  EXPECT_EQ(pinned.reason, RouteReason::kPin);
  EXPECT_FALSE(pinned.write_pin);
  std::mt19937_64 rng(3);
  for (int i = 0; i < 1000; ++i) {
    const Decision fresh = table->Decide(Request().view, Input(rng()));
    ASSERT_EQ(fresh.pool, kGreen);
    ASSERT_TRUE(fresh.write_pin);
  }
}

TEST(Decide, RollbackOverridesPinsToTheCandidate) {
  auto rolled_back = Table(BlueGreen(0, AffinityMode::kPin));
  const Decision decision = rolled_back->Decide(Request().view, Pinned(kGreen));
  EXPECT_EQ(decision.pool, kBlue);
  EXPECT_EQ(decision.reason, RouteReason::kWeight);
  EXPECT_TRUE(decision.write_pin);  // re-pinned to where it now goes
  // A pin to the candidate holds while the candidate has any weight.
  auto canary = Table(BlueGreen(1, AffinityMode::kPin));
  EXPECT_EQ(canary->Decide(Request().view, Pinned(kGreen)).pool, kGreen);
  // A pin to a non-candidate pool at weight 0 holds: only the candidate is rolled back.
  auto green_only = Table(BlueGreen(kBucketCount, AffinityMode::kPin));
  EXPECT_EQ(green_only->Decide(Request().view, Pinned(kBlue)).pool, kBlue);
}

TEST(Decide, PinsAreIgnoredOutsidePinModeOrWhenInvalid) {
  auto hash = Table(ByUser(0));
  EXPECT_EQ(hash->Decide(Request().view, Pinned(kGreen)).pool, kBlue);
  auto pin = Table(BlueGreen(0, AffinityMode::kPin));
  const Decision decision = pin->Decide(Request().view, Pinned(9));  // no such pool
  EXPECT_EQ(decision.pool, kBlue);
  EXPECT_TRUE(decision.write_pin);
}

TEST(Decide, RulesBeatPins) {
  RoutingSpec spec = BlueGreen(5000, AffinityMode::kPin);
  spec.rules.push_back(Rule("beta", "green", {Header("X-Beta", "1")}));
  auto table = Table(spec);
  const Request beta({{"X-Beta", "1"}});
  const Decision decision = table->Decide(beta.view, Pinned(kBlue));
  EXPECT_EQ(decision.pool, kGreen);
  EXPECT_EQ(decision.reason, RouteReason::kRule);
  EXPECT_FALSE(decision.write_pin);
}

TEST(Decide, FailoverSendsToTheBaseline) {
  auto table = Table(ByUser(kBucketCount));
  const bool green_down[] = {true, false};
  DecideInput input = Input(5);
  input.pool_available = green_down;
  const Decision decision = table->Decide(Request().view, input);
  EXPECT_EQ(decision.pool, kBlue);
  EXPECT_EQ(decision.reason, RouteReason::kFailover);
  EXPECT_FALSE(decision.unavailable);
  EXPECT_TRUE(decision.mint_key);  // the key is still the client's: keep it
}

TEST(Decide, FailoverFromTheBaselineGoesToTheFirstAvailablePool) {
  RoutingSpec spec = BlueGreen(0);
  spec.pools.push_back(Pool("red", 0));
  auto table = Table(spec);
  const bool blue_down[] = {false, true, true};
  DecideInput input = Input(0);
  input.pool_available = blue_down;
  EXPECT_EQ(table->Decide(Request().view, input).pool, kGreen);
  const bool only_red[] = {false, false, true};
  input.pool_available = only_red;
  EXPECT_EQ(table->Decide(Request().view, input).pool, 2u);
}

TEST(Decide, UnavailableWhenNoPoolCanServeOrThePolicySays503) {
  auto table = Table(BlueGreen(kBucketCount));
  const bool none[] = {false, false};
  DecideInput input = Input(0);
  input.pool_available = none;
  Decision decision = table->Decide(Request().view, input);
  EXPECT_TRUE(decision.unavailable);
  EXPECT_EQ(decision.reason, RouteReason::kUnavailable);
  EXPECT_EQ(decision.pool, kGreen);  // the pool it was meant for, for metrics

  RoutingSpec spec = BlueGreen(kBucketCount);
  spec.pools[kGreen].failover = FailoverPolicy::kUnavailable;
  auto strict = Table(spec);
  const bool green_down[] = {true, false};
  input.pool_available = green_down;
  decision = strict->Decide(Request().view, input);
  EXPECT_TRUE(decision.unavailable);
  EXPECT_EQ(decision.reason, RouteReason::kUnavailable);
}

TEST(Decide, FailoverAppliesToRulesAndPinsAndNeverPins) {
  RoutingSpec spec = BlueGreen(kBucketCount, AffinityMode::kPin);
  spec.rules.push_back(Rule("beta", "green", {Header("X-Beta", "1")}));
  auto table = Table(spec);
  const bool green_down[] = {true, false};
  const Request beta({{"X-Beta", "1"}});
  DecideInput input = Input(0);
  input.pool_available = green_down;
  Decision decision = table->Decide(beta.view, input);
  EXPECT_EQ(decision.pool, kBlue);
  EXPECT_EQ(decision.reason, RouteReason::kFailover);
  EXPECT_EQ(decision.rule, -1);
  // A new session split to green while green is down is served by blue but not pinned there.
  decision = table->Decide(Request().view, input);
  EXPECT_EQ(decision.pool, kBlue);
  EXPECT_EQ(decision.reason, RouteReason::kFailover);
  EXPECT_FALSE(decision.write_pin);
  // A pinned session too.
  input.pin.present = true;
  input.pin.pool = kGreen;
  decision = table->Decide(Request().view, input);
  EXPECT_EQ(decision.pool, kBlue);
  EXPECT_EQ(decision.reason, RouteReason::kFailover);
  EXPECT_FALSE(decision.write_pin);
}

TEST(Decide, AllAvailableChangesNothing) {
  auto table = Table(ByUser(5000));
  const bool all[] = {true, true};
  DecideInput input = Input(0);
  input.pool_available = all;
  for (int i = 0; i < 1000; ++i) {
    const Request request({{"X-User-Id", Keys()[static_cast<std::size_t>(i)]}});
    ASSERT_EQ(table->Decide(request.view, input).pool, table->Decide(request.view, Input(0)).pool);
  }
}

TEST(Decide, DoesNotAllocate) {
  RoutingSpec spec = ByUser(kBucketCount);
  spec.affinity.source = AffinitySource::kClientIp;
  ConditionSpec cidr;
  cidr.kind = ConditionSpec::Kind::kClientCidr;
  cidr.values = {"10.0.0.0/8"};
  ConditionSpec cookie;
  cookie.kind = ConditionSpec::Kind::kCookie;
  cookie.name = "plan";
  cookie.values = {"pro"};
  ConditionSpec query;
  query.kind = ConditionSpec::Kind::kQuery;
  query.name = "beta";
  query.values = {"1"};
  spec.rules.push_back(Rule("a", "green", {Header("X-Beta", "1"), cidr}));
  spec.rules.push_back(Rule("b", "green", {cookie, query}));
  auto table = Table(spec);
  Request request({{"Cookie", "plan=free; cutover_id=abc"}, {"X-Beta", "0"}});
  request.view.query = "beta=0";
  request.view.client.family = 6;
  request.view.client.bytes[15] = 1;
  const bool green_down[] = {true, false};
  DecideInput input = Input(42);
  input.pool_available = green_down;
  g_allocations = 0;
  g_counting = true;
  Decision decision;
  for (int i = 0; i < 100; ++i) decision = table->Decide(request.view, input);
  g_counting = false;
  EXPECT_EQ(g_allocations.load(), 0);
  EXPECT_EQ(decision.reason, RouteReason::kFailover);
}

// --- Properties over 100k keys (DESIGN §4, issue 3) ---------------------------------------

TEST(DecideProperties, SplitLandsWithinHalfAPointOfTheWeights) {
  for (const uint32_t green : {1u, 100u, 1000u, 2500u, 3333u, 5000u, 9000u, 9999u}) {
    auto table = Table(ByUser(green));
    int on_green = 0;
    for (const uint32_t pool : PoolsForAllKeys(*table)) on_green += pool == kGreen;
    EXPECT_NEAR(on_green * 100.0 / kKeyCount, green / 100.0, 0.5) << "green=" << green;
  }
}

TEST(DecideProperties, PerRequestSplitLandsWithinHalfAPoint) {
  std::mt19937_64 rng(8);
  for (const uint32_t green : {1000u, 5000u}) {
    auto table = Table(BlueGreen(green));
    int on_green = 0;
    for (int i = 0; i < kKeyCount; ++i)
      on_green += table->Decide(Request().view, Input(rng())).pool == kGreen;
    EXPECT_NEAR(on_green * 100.0 / kKeyCount, green / 100.0, 0.5) << "green=" << green;
  }
}

TEST(DecideProperties, RaisingGreenNeverMovesAKeyBackToBlue) {
  // Pairs (before, after) of green weights: 0.01 % steps, big jumps, and the ends.
  const std::pair<uint32_t, uint32_t> ramps[] = {
      {0, 1},       {1, 2},        {100, 101},   {999, 1000},  {1000, 2000},
      {2000, 2001}, {2500, 5000},  {4999, 5000}, {5000, 5001}, {5000, 9000},
      {9998, 9999}, {9999, 10000}, {0, 10000},   {1, 9999},    {3333, 6667}};
  for (const auto& [before, after] : ramps) {
    const std::vector<uint32_t> old_pools = PoolsForAllKeys(*Table(ByUser(before)));
    const std::vector<uint32_t> new_pools = PoolsForAllKeys(*Table(ByUser(after)));
    int moved_to_green = 0;
    for (std::size_t i = 0; i < old_pools.size(); ++i) {
      ASSERT_FALSE(old_pools[i] == kGreen && new_pools[i] == kBlue)
          << Keys()[i] << " moved green->blue when green went " << before << "->" << after;
      moved_to_green += old_pools[i] == kBlue && new_pools[i] == kGreen;
    }
    // And roughly the expected number of keys moved (the ramp is not a no-op).
    EXPECT_NEAR(moved_to_green * 10000.0 / kKeyCount, after - before,
                50.0 + (after - before) * 0.05);
  }
}

TEST(DecideProperties, EveryZeroPointZeroOneStepIsMonotone) {
  // Every one of the 10000 steps of a full ramp, on a sample of keys.
  constexpr std::size_t kSample = 400;
  std::vector<uint32_t> previous(kSample, kBlue);
  for (uint32_t green = 1; green <= kBucketCount; ++green) {
    auto table = Table(ByUser(green));
    for (std::size_t i = 0; i < kSample; ++i) {
      const uint32_t pool = PoolFor(*table, Keys()[i]);
      ASSERT_FALSE(previous[i] == kGreen && pool == kBlue) << Keys()[i] << " at " << green;
      previous[i] = pool;
    }
  }
  for (const uint32_t pool : previous) EXPECT_EQ(pool, kGreen);
}

TEST(DecideProperties, IndependentTablesDecideIdentically) {
  for (const uint32_t green : {1u, 1234u, 5000u}) {
    auto a = Table(ByUser(green));
    auto b = Table(ByUser(green));
    ASSERT_NE(a.get(), b.get());
    const std::vector<uint32_t> pools_a = PoolsForAllKeys(*a);
    ASSERT_EQ(pools_a, PoolsForAllKeys(*b)) << "green=" << green;
  }
  // Minting and per-request draws are deterministic in the draw too.
  auto a = Table(ByUser(4200));
  auto b = Table(ByUser(4200));
  std::mt19937_64 rng(17);
  for (int i = 0; i < kKeyCount; ++i) {
    const uint64_t random = rng();
    const Decision da = a->Decide(Request().view, Input(random));
    const Decision db = b->Decide(Request().view, Input(random));
    ASSERT_EQ(da.pool, db.pool);
    ASSERT_EQ(da.bucket, db.bucket);
  }
}

TEST(DecideProperties, RollbackMovesEveryKeyToBlue) {
  for (const uint32_t pool : PoolsForAllKeys(*Table(ByUser(0)))) ASSERT_EQ(pool, kBlue);
  auto pin = Table(ByUser(0, AffinityMode::kPin));
  for (int i = 0; i < kKeyCount; i += 7) {
    const Request request({{"X-User-Id", Keys()[static_cast<std::size_t>(i)]}});
    ASSERT_EQ(pin->Decide(request.view, Pinned(kGreen)).pool, kBlue);
  }
}

TEST(DecideProperties, PoolsOwnContiguousRangesInConfiguredOrder) {
  RoutingSpec spec = ByUser(0);
  spec.pools[0].basis_points = 2000;
  spec.pools[1].basis_points = 3000;
  spec.pools.push_back(Pool("red", 5000));
  auto table = Table(spec);
  for (int i = 0; i < kKeyCount; i += 3) {
    const std::string& key = Keys()[static_cast<std::size_t>(i)];
    const uint32_t bucket = AffinityBucket("test-salt", key);
    const uint32_t expected = bucket < 2000 ? 0 : bucket < 5000 ? 1 : 2;
    ASSERT_EQ(PoolFor(*table, key), expected) << key;
  }
}

}  // namespace
}  // namespace cutover::routing
