#include "routing/endpoint_balancer.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

namespace cutover::routing {
namespace {

EndpointLoad Load(uint32_t weight, uint32_t in_flight = 0, bool available = true) {
  EndpointLoad load;
  load.weight = weight;
  load.in_flight = in_flight;
  load.available = available;
  return load;
}

std::string Sequence(WeightedRoundRobin* wrr, const std::vector<EndpointLoad>& endpoints, int n) {
  std::string picks;
  for (int i = 0; i < n; ++i) {
    const int pick = wrr->Pick(endpoints);
    picks += pick < 0 ? '-' : static_cast<char>('a' + pick);
  }
  return picks;
}

TEST(WeightedRoundRobin, SmoothSequenceAsNginx) {
  // nginx's documented example: weights 5, 1, 1 give "a a b a c a a", not "a a a a a b c".
  WeightedRoundRobin wrr;
  const std::vector<EndpointLoad> endpoints = {Load(5), Load(1), Load(1)};
  EXPECT_EQ(Sequence(&wrr, endpoints, 14), "aabacaaaabacaa");
}

TEST(WeightedRoundRobin, EqualWeightsRotate) {
  WeightedRoundRobin wrr;
  EXPECT_EQ(Sequence(&wrr, {Load(1), Load(1), Load(1)}, 6), "abcabc");
}

TEST(WeightedRoundRobin, ProportionalOverAPeriod) {
  WeightedRoundRobin wrr;
  const std::vector<EndpointLoad> endpoints = {Load(3), Load(7), Load(0), Load(10)};
  std::vector<int> counts(endpoints.size(), 0);
  for (int i = 0; i < 2000; ++i) counts[static_cast<std::size_t>(wrr.Pick(endpoints))]++;
  EXPECT_EQ(counts[0], 300);
  EXPECT_EQ(counts[1], 700);
  EXPECT_EQ(counts[2], 0);  // weight 0 is never chosen
  EXPECT_EQ(counts[3], 1000);
}

TEST(WeightedRoundRobin, SkipsUnavailableAndReportsNone) {
  WeightedRoundRobin wrr;
  EXPECT_EQ(Sequence(&wrr, {Load(1), Load(1, 0, false), Load(1)}, 4), "acac");
  EXPECT_EQ(Sequence(&wrr, {Load(1, 0, false), Load(0)}, 2), "--");
  EXPECT_EQ(wrr.Pick({}), -1);
}

TEST(WeightedRoundRobin, AdaptsWhenThePoolChangesSize) {
  WeightedRoundRobin wrr;
  EXPECT_EQ(Sequence(&wrr, {Load(1), Load(1)}, 3), "aba");
  EXPECT_EQ(Sequence(&wrr, {Load(1), Load(1), Load(1)}, 3), "abc");
}

TEST(WeightedRoundRobin, RecoveredEndpointRejoinsEvenly) {
  WeightedRoundRobin wrr;
  std::vector<EndpointLoad> endpoints = {Load(1), Load(1)};
  Sequence(&wrr, endpoints, 3);
  endpoints[1].available = false;
  EXPECT_EQ(Sequence(&wrr, endpoints, 3), "aaa");
  endpoints[1].available = true;
  const std::string picks = Sequence(&wrr, endpoints, 100);
  EXPECT_EQ(std::count(picks.begin(), picks.end(), 'a'), 50);
}

TEST(PickPowerOfTwo, NoneOrOne) {
  EXPECT_EQ(PickPowerOfTwo({}, 123), -1);
  const std::vector<EndpointLoad> none = {Load(1, 0, false), Load(0)};
  EXPECT_EQ(PickPowerOfTwo(none, 123), -1);
  const std::vector<EndpointLoad> one = {Load(1, 0, false), Load(0), Load(2, 99)};
  for (uint64_t r : {0ULL, 1ULL, ~0ULL, 0x8000000080000000ULL})
    EXPECT_EQ(PickPowerOfTwo(one, r), 2);
}

TEST(PickPowerOfTwo, LessLoadedOfTwoDistinctWins) {
  // With two endpoints both are always drawn, so the less loaded one always wins.
  const std::vector<EndpointLoad> endpoints = {Load(1, 5), Load(1, 2)};
  std::mt19937_64 rng(7);
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(PickPowerOfTwo(endpoints, rng()), 1);
}

TEST(PickPowerOfTwo, LoadIsRelativeToWeight) {
  // 6 in flight on weight 3 (2 per unit) beats 3 in flight on weight 1.
  const std::vector<EndpointLoad> endpoints = {Load(3, 6), Load(1, 3)};
  std::mt19937_64 rng(7);
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(PickPowerOfTwo(endpoints, rng()), 0);
}

TEST(PickPowerOfTwo, TheMostLoadedIsNeverChosenAmongMany) {
  std::vector<EndpointLoad> endpoints = {Load(1, 1), Load(1, 1), Load(1, 9), Load(1, 1),
                                         Load(1, 1, false)};
  std::mt19937_64 rng(11);
  std::vector<int> counts(endpoints.size(), 0);
  for (int i = 0; i < 20000; ++i)
    counts[static_cast<std::size_t>(PickPowerOfTwo(endpoints, rng()))]++;
  EXPECT_EQ(counts[2], 0);
  EXPECT_EQ(counts[4], 0);
  for (const int i : {0, 1, 3}) EXPECT_NEAR(counts[static_cast<std::size_t>(i)], 6667, 400);
}

TEST(PickPowerOfTwo, IdleEndpointsAreChosenByWeight) {
  const std::vector<EndpointLoad> endpoints = {Load(1), Load(3), Load(0)};
  std::mt19937_64 rng(3);
  std::vector<int> counts(endpoints.size(), 0);
  // With equal load the first draw (weighted) wins: shares follow the weights.
  for (int i = 0; i < 40000; ++i)
    counts[static_cast<std::size_t>(PickPowerOfTwo(endpoints, rng()))]++;
  EXPECT_NEAR(counts[0], 10000, 500);
  EXPECT_NEAR(counts[1], 30000, 500);
  EXPECT_EQ(counts[2], 0);
}

TEST(PickPowerOfTwo, ExtremeDrawsStayInRange) {
  const std::vector<EndpointLoad> endpoints = {Load(4'000'000'000u), Load(4'000'000'000u), Load(1)};
  for (uint64_t r : {0ULL, ~0ULL, 0xffffffffULL, 0xffffffff00000000ULL}) {
    const int pick = PickPowerOfTwo(endpoints, r);
    EXPECT_GE(pick, 0);
    EXPECT_LT(pick, 3);
  }
}

}  // namespace
}  // namespace cutover::routing
