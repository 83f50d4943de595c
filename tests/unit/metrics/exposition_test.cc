#include "metrics/exposition.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace cutover::metrics {
namespace {

using ::testing::HasSubstr;

TEST(Exposition, SumsTheShardsOfEveryWorker) {
  WorkerCounters first(2), second(2);
  RequestRecord ok{.pool = 1,
                   .status = 200,
                   .bytes_in = 10,
                   .bytes_out = 100,
                   .upstream_error = false,
                   .duration_us = 700,
                   .upstream_us = 600,
                   .now_ms = 1000};
  RequestRecord failed{.pool = 1,
                       .status = 502,
                       .bytes_in = 0,
                       .bytes_out = 0,
                       .upstream_error = true,
                       .duration_us = 20'000,
                       .now_ms = 1000};
  first.Record(ok);
  second.Record(ok);
  second.Record(failed);
  first.RecordDecision(1, 0);
  second.RecordDecision(1, 1);
  second.RecordRetry(1);
  first.SetDownstreamConnections(3);
  second.SetDownstreamConnections(4);

  ExpositionInput input;
  input.pools = {"blue", "green"};
  input.weight_ratios = {0.9, 0.1};
  input.route_reasons = {"weight", "rule"};
  input.endpoints = {{0, "127.0.0.1:1", true, {0, 0}, 5, 2},
                     {1, "127.0.0.1:2", false, {4, 1}, 3, 1},
                     {1, "127.0.0.1:3", true, {0, 0}, 0, 4}};
  input.error_kinds = {"connect_refused", "reset"};
  input.routing_version = 7;
  input.changes_applied = 3;
  input.changes_rejected = 2;
  input.expired_rules = {"old-flag"};
  input.version = "0.1.0";
  input.shards = {&first, &second};
  const ShardCollector collector([&input] { return input; });
  const std::string text = SerializeText(collector.Collect());

  EXPECT_THAT(text, HasSubstr("# TYPE cutover_requests_total counter"));
  EXPECT_THAT(text, HasSubstr("cutover_requests_total{pool=\"green\",code=\"2xx\"} 2\n"));
  EXPECT_THAT(text, HasSubstr("cutover_requests_total{pool=\"green\",code=\"5xx\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("cutover_requests_total{pool=\"blue\",code=\"2xx\"} 0\n"));
  EXPECT_THAT(text,
              HasSubstr("cutover_route_decisions_total{pool=\"green\",reason=\"weight\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("cutover_route_decisions_total{pool=\"green\",reason=\"rule\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("cutover_retries_total{pool=\"green\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("cutover_bytes_total{pool=\"green\",direction=\"out\"} 200\n"));
  EXPECT_THAT(text, HasSubstr("cutover_pool_weight_ratio{pool=\"blue\"} 0.9\n"));
  EXPECT_THAT(text,
              HasSubstr("cutover_endpoint_healthy{pool=\"green\",endpoint=\"127.0.0.1:2\"} 0\n"));
  EXPECT_THAT(text, HasSubstr("cutover_routing_version 7\n"));
  EXPECT_THAT(
      text,
      HasSubstr("cutover_endpoint_requests_total{pool=\"green\",endpoint=\"127.0.0.1:2\"} 3\n"));
  EXPECT_THAT(text, HasSubstr("cutover_upstream_connections_active{pool=\"blue\"} 2\n"));
  EXPECT_THAT(text, HasSubstr("cutover_upstream_connections_active{pool=\"green\"} 5\n"));
  EXPECT_THAT(text, HasSubstr("cutover_downstream_connections_active 7\n"));
  EXPECT_THAT(text, HasSubstr("cutover_build_info{version=\"0.1.0\"} 1\n"));
  const std::string errors =
      "cutover_upstream_errors_total{pool=\"green\",endpoint=\"127.0.0.1:2\",";
  EXPECT_THAT(text, HasSubstr(errors + "kind=\"connect_refused\"} 4\n"));
  EXPECT_THAT(text, HasSubstr(errors + "kind=\"reset\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("cutover_config_changes_total{result=\"applied\"} 3\n"));
  EXPECT_THAT(text, HasSubstr("cutover_config_changes_total{result=\"rejected\"} 2\n"));
  EXPECT_THAT(text, HasSubstr("cutover_flag_expired{rule=\"old-flag\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("# TYPE cutover_request_duration_seconds histogram"));
  // Only the two answers with an upstream head count here (the 502 had none).
  EXPECT_THAT(text, HasSubstr("cutover_upstream_duration_seconds_count{pool=\"green\"} 2\n"));
  EXPECT_THAT(
      text, HasSubstr("cutover_upstream_duration_seconds_bucket{pool=\"green\",le=\"0.001\"} 2\n"));
  // 700 us twice (le 0.001) and 20 ms once (le 0.025), cumulative.
  const std::string bucket = "cutover_request_duration_seconds_bucket{pool=\"green\",le=";
  EXPECT_THAT(text, HasSubstr(bucket + "\"0.0005\"} 0\n"));
  EXPECT_THAT(text, HasSubstr(bucket + "\"0.001\"} 2\n"));
  EXPECT_THAT(text, HasSubstr(bucket + "\"0.01\"} 2\n"));
  EXPECT_THAT(text, HasSubstr(bucket + "\"0.025\"} 3\n"));
  EXPECT_THAT(text, HasSubstr(bucket + "\"+Inf\"} 3\n"));
  EXPECT_THAT(text, HasSubstr("cutover_request_duration_seconds_count{pool=\"green\"} 3\n"));
  EXPECT_THAT(text, HasSubstr("cutover_request_duration_seconds_sum{pool=\"green\"} 0.0214\n"));
}

// Workers record on their own shards while a scrape merges them (issue 7, item 2): the counts
// a scrape sees only grow, and once the writers stop it sees every request. Run under
// ThreadSanitizer (build-tsan), this also proves the shards need no lock between the two.
TEST(Exposition, ScrapeWhileWorkersRecordSeesCountsOnlyGrow) {
  constexpr int kWorkers = 2;
  constexpr uint64_t kRecordsPerWorker = 20'000;
  std::vector<std::unique_ptr<WorkerCounters>> shards;
  for (int w = 0; w < kWorkers; ++w) shards.push_back(std::make_unique<WorkerCounters>(2));
  std::atomic<int> writers_running{kWorkers};
  std::vector<std::thread> writers;
  for (int w = 0; w < kWorkers; ++w) {
    writers.emplace_back([&, w] {
      WorkerCounters& own = *shards[static_cast<std::size_t>(w)];
      for (uint64_t i = 0; i < kRecordsPerWorker; ++i) {
        // The loop clock crosses a 10 s slot every 2000 records, so sliding-window slots are
        // reused (and cleared) while the scrape reads them.
        own.Record({.pool = static_cast<uint32_t>(i % 2),
                    .status = static_cast<uint16_t>(i % 10 == 0 ? 503 : 200),
                    .bytes_in = 1,
                    .bytes_out = 2,
                    .upstream_error = false,
                    .duration_us = i % 5000,
                    .upstream_us = i % 4000,
                    .now_ms = static_cast<int64_t>(i * 5)});
        own.RecordDecision(i % 2, i % kRouteReasonCount);
        own.SetDownstreamConnections(i % 7);
      }
      writers_running.fetch_sub(1);
    });
  }
  ExpositionInput input;
  input.pools = {"blue", "green"};
  input.weight_ratios = {0.5, 0.5};
  input.route_reasons = {"weight", "rule", "pin", "failover", "unavailable"};
  for (const auto& shard : shards) input.shards.push_back(shard.get());
  const ShardCollector collector([&input] { return input; });
  uint64_t last_total = 0;
  bool grew_only = true;
  int scrapes = 0;
  while (writers_running.load() > 0 || scrapes == 0) {
    EXPECT_THAT(SerializeText(collector.Collect()), HasSubstr("cutover_requests_total"));
    uint64_t total = 0;
    for (const auto& shard : shards) {
      total += shard->Requests(0) + shard->Requests(1);
      const WindowSnapshot recent = shard->Recent(1, 100'000, 600'000);
      grew_only = grew_only && recent.Requests() <= kRecordsPerWorker;
    }
    grew_only = grew_only && total >= last_total;
    last_total = total;
    ++scrapes;
  }
  for (std::thread& writer : writers) writer.join();
  EXPECT_TRUE(grew_only);
  const std::string text = SerializeText(collector.Collect());
  // Every tenth record (an even i, so blue) is a 503: green's are all 2xx.
  const uint64_t green_2xx = kWorkers * kRecordsPerWorker / 2;
  EXPECT_THAT(text, HasSubstr("cutover_requests_total{pool=\"green\",code=\"2xx\"} " +
                              std::to_string(green_2xx) + "\n"));
  EXPECT_THAT(text, HasSubstr("cutover_bytes_total{pool=\"blue\",direction=\"out\"} " +
                              std::to_string(kWorkers * kRecordsPerWorker) + "\n"));
}

}  // namespace
}  // namespace cutover::metrics
