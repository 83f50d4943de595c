// EndpointHealth shared across threads (issue 7, item 2): each worker bumps its own shard and
// records failures and ejections, the health checker flips `healthy`, and the scrape and
// `GET /v1/health` read it all, with no lock. Run under ThreadSanitizer (build-tsan), this
// shows those accesses are all ordered atomics; here it checks that nothing is lost.
#include "proxy/endpoint_health.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <thread>
#include <vector>

#include "metrics/single_writer.h"

namespace cutover::proxy {
namespace {

constexpr std::size_t kWorkers = 3;
constexpr int kExchangesPerWorker = 20'000;

TEST(EndpointHealth, WorkersHealthCheckAndReadersShareItWithoutLosingCounts) {
  HealthRegistry registry;
  registry.SetWorkerCount(kWorkers);
  const std::shared_ptr<EndpointHealth> health = registry.Get("127.0.0.1:1");
  std::atomic<std::size_t> workers_running{kWorkers};
  std::vector<int> healthy_seen(kWorkers, 0);  // each worker writes only its own entry

  std::vector<std::thread> threads;
  for (std::size_t w = 0; w < kWorkers; ++w) {
    threads.emplace_back([&, w] {
      // Each worker finds the same object through the registry, as snapshots do.
      const std::shared_ptr<EndpointHealth> mine = registry.Get("127.0.0.1:1");
      EndpointShard& shard = mine->shards[w];
      for (int i = 0; i < kExchangesPerWorker; ++i) {
        // A request reads the health (UpstreamEndpoint::Available), then counts on its shard.
        healthy_seen[w] += mine->healthy.load(std::memory_order_relaxed) ? 1 : 0;
        metrics::Bump(shard.connections, 1);
        metrics::Bump(shard.requests, 1);
        if (i % 100 == 0) mine->errors[i % EndpointHealth::kErrorKinds].fetch_add(1);
        if (i % 1000 == 0) mine->RecordEjection(static_cast<int64_t>(w) * 1000 + i);
        metrics::Bump(shard.connections, -1);
      }
      workers_running.fetch_sub(1);
    });
  }
  // The health checker, on the main loop: flips the state while the workers read it.
  threads.emplace_back([&] {
    for (bool healthy = false; workers_running.load() > 0; healthy = !healthy) {
      health->healthy.store(healthy);
    }
    health->healthy.store(true);
  });
  // A scrape and `GET /v1/health`: sums that only grow.
  uint64_t last_requests = 0;
  bool grew_only = true;
  while (workers_running.load() > 0) {
    const uint64_t requests = health->Requests();
    const int64_t connections = health->Connections();
    grew_only = grew_only && requests >= last_requests && connections >= 0 &&
                connections <= static_cast<int64_t>(kWorkers);
    last_requests = requests;
    (void)health->ejected_until_unix_ms.load(std::memory_order_relaxed);
  }
  for (std::thread& thread : threads) thread.join();

  EXPECT_TRUE(grew_only);
  EXPECT_EQ(health->Requests(), kWorkers * kExchangesPerWorker);
  EXPECT_EQ(health->Connections(), 0);
  EXPECT_EQ(health->ejections.load(), kWorkers * (kExchangesPerWorker / 1000));
  uint64_t errors = 0;
  for (const auto& count : health->errors) errors += count.load();
  EXPECT_EQ(errors, kWorkers * (kExchangesPerWorker / 100));
  EXPECT_TRUE(health->healthy.load());
  for (int seen : healthy_seen) EXPECT_LE(seen, kExchangesPerWorker);
}

TEST(EndpointHealth, LatestEjectionDeadlineWinsWhicheverWorkerRecordsIt) {
  EndpointHealth health(2);
  std::thread shorter([&] {
    for (int i = 0; i < 1000; ++i) health.RecordEjection(1'000);
  });
  std::thread longer([&] {
    for (int i = 0; i < 1000; ++i) health.RecordEjection(3'600'000);
  });
  shorter.join();
  longer.join();
  const int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count();
  EXPECT_GT(health.ejected_until_unix_ms.load(), now_ms + 3'000'000);
  EXPECT_EQ(health.ejections.load(), 2000u);
}

}  // namespace
}  // namespace cutover::proxy
