#include "routing/routing_table.h"

#include <gtest/gtest.h>

#include <limits>

namespace cutover::routing {
namespace {

RoutingSpec BlueGreen(uint32_t blue, uint32_t green) {
  RoutingSpec spec;
  spec.pools.push_back({"blue", {{"127.0.0.1", 9001, 1}}, blue});
  spec.pools.push_back({"green", {{"127.0.0.1", 9002, 1}}, green});
  spec.baseline = "blue";
  spec.candidate = "green";
  return spec;
}

TEST(RoutingTable, BuildsValidSpec) {
  std::string error;
  auto table = RoutingTable::Build(BlueGreen(9000, 1000), 7, &error);
  ASSERT_NE(table, nullptr) << error;
  EXPECT_EQ(table->version(), 7u);
  EXPECT_EQ(table->PoolIndex("green"), 1);
  EXPECT_EQ(table->PoolIndex("red"), -1);
}

TEST(RoutingTable, RejectsWeightsNotSummingToHundred) {
  std::string error;
  EXPECT_EQ(RoutingTable::Build(BlueGreen(9000, 999), 1, &error), nullptr);
  EXPECT_EQ(error, "weights must sum to 100 (they sum to 99.99)");
}

TEST(RoutingTable, RejectsUnknownBaselineAndDuplicatePools) {
  std::string error;
  RoutingSpec spec = BlueGreen(10000, 0);
  spec.baseline = "red";
  EXPECT_EQ(RoutingTable::Build(spec, 1, &error), nullptr);
  EXPECT_EQ(error, "baseline 'red' is not a pool");
  spec = BlueGreen(10000, 0);
  spec.pools[1].name = "blue";
  EXPECT_EQ(RoutingTable::Build(spec, 1, &error), nullptr);
  EXPECT_EQ(error, "pool 'blue' is defined twice");
}

TEST(RoutingTable, RejectsWeightedPoolWithoutEndpoints) {
  std::string error;
  RoutingSpec spec = BlueGreen(5000, 5000);
  spec.pools[1].endpoints.clear();
  EXPECT_EQ(RoutingTable::Build(spec, 1, &error), nullptr);
  EXPECT_EQ(error, "pool 'green' has weight but no endpoints");
}

TEST(RoutingTable, DecideFollowsWeightsAcrossTheDrawRange) {
  std::string error;
  auto table = RoutingTable::Build(BlueGreen(9000, 1000), 1, &error);
  ASSERT_NE(table, nullptr);
  // Sweep the 64-bit draw range evenly: exactly 10 % of draws land on green.
  const uint64_t step = std::numeric_limits<uint64_t>::max() / 100000;
  int green = 0;
  for (int i = 0; i < 100000; ++i) {
    if (table->Decide(step * static_cast<uint64_t>(i)).pool == 1) ++green;
  }
  EXPECT_NEAR(green, 10000, 2);
}

}  // namespace
}  // namespace cutover::routing
