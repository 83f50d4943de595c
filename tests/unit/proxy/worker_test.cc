// Workers and the ControlPlane across threads (issue 7, item 2): the admin and main threads
// publish routing snapshots while two worker threads serve requests, and readers (the scrape,
// `GET /v1/health`, `/v1/history`) look at what the workers share. Every assertion here also
// holds in the release build; the point is to run this under ThreadSanitizer (build-tsan, see
// docs/robustness.md), which reports any access to shared state that is not ordered.
#include "proxy/worker.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "metrics/exposition.h"
#include "proxy/admin/state_json.h"
#include "proxy/config_loader.h"
#include "proxy/control_plane.h"
#include "proxy/demo_backend.h"

namespace cutover::proxy {
namespace {

using nlohmann::json;

constexpr unsigned kWorkers = 2;
// Bounds every blocking client call, so a lost response fails the test instead of hanging it.
constexpr int kSocketTimeoutSeconds = 10;

// The listener address is not bound: the test opens the workers' sockets on a free port.
std::string ConfigText(uint16_t blue_port, uint16_t green_port) {
  return "[listener]\naddress = \"127.0.0.1:8080\"\nworkers = " + std::to_string(kWorkers) +
         "\n[pools.blue]\nendpoints = [\"127.0.0.1:" + std::to_string(blue_port) +
         "\"]\n[pools.green]\nendpoints = [\"127.0.0.1:" + std::to_string(green_port) +
         "\"]\n[routing]\nbaseline = \"blue\"\ncandidate = \"green\"\n"
         "weights = { blue = 50, green = 50 }\n";
}

// One GET with `Connection: close` on a fresh connection; the status code, or 0 on failure.
int GetOnce(uint16_t port, const std::string& target) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return 0;
  timeval timeout{.tv_sec = kSocketTimeoutSeconds, .tv_usec = 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string response;
  if (connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0) {
    const std::string request =
        "GET " + target + " HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n";
    if (send(fd, request.data(), request.size(), MSG_NOSIGNAL) ==
        static_cast<ssize_t>(request.size())) {
      char buffer[4096];
      for (ssize_t n; (n = recv(fd, buffer, sizeof buffer, 0)) > 0;) response.append(buffer, n);
    }
  }
  close(fd);
  if (response.size() < 12 || response.compare(0, 9, "HTTP/1.1 ") != 0) return 0;
  return std::atoi(response.substr(9, 3).c_str());
}

// What Server::GatherMetrics hands the scrape, from the same shared state.
metrics::ExpositionInput ScrapeInput(const Snapshot& snapshot,
                                     const std::vector<std::unique_ptr<Worker>>& workers) {
  metrics::ExpositionInput input;
  for (std::size_t p = 0; p < snapshot.endpoints.size(); ++p) {
    input.pools.push_back(snapshot.routing->pools()[p].name);
    input.weight_ratios.push_back(snapshot.routing->pools()[p].basis_points / 10000.0);
    for (const ResolvedEndpoint& endpoint : snapshot.endpoints[p]) {
      metrics::EndpointState state{
          p, endpoint.name, endpoint.health->healthy.load(std::memory_order_relaxed), {}};
      state.requests = endpoint.health->Requests();
      state.connections = endpoint.health->Connections();
      input.endpoints.push_back(std::move(state));
    }
  }
  input.routing_version = snapshot.routing->version();
  for (const auto& worker : workers) input.shards.push_back(&worker->counters());
  return input;
}

class WorkerThreadsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string error;
    backends_ = DemoBackends::Start({"blue", "green"}, "127.0.0.1", &error);
    ASSERT_NE(backends_, nullptr) << error;
    ConfigLoadResult loaded =
        LoadConfigString(ConfigText(backends_->port(0), backends_->port(1)), "test.toml");
    ASSERT_TRUE(loaded.config.has_value())
        << (loaded.errors.empty() ? "" : loaded.errors.front().ToString("test.toml"));
    config_ = *loaded.config;
    health_.SetWorkerCount(kWorkers);
    ASSERT_TRUE(control_.Start(config_, false, &error)) << error;
    uint16_t port = 0;
    std::vector<Worker*> attached;
    for (unsigned i = 0; i < kWorkers; ++i) {
      const int fd = OpenReusePortListener("127.0.0.1", port, &error);
      ASSERT_GE(fd, 0) << error;
      if (port == 0) {
        sockaddr_in bound{};
        socklen_t length = sizeof bound;
        getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &length);
        port = ntohs(bound.sin_port);
      }
      workers_.push_back(std::make_unique<Worker>(i, fd, control_.snapshot(), &switched_));
      attached.push_back(workers_.back().get());
    }
    port_ = port;
    control_.AttachWorkers(std::move(attached));
    for (auto& worker : workers_) worker->Start();
  }

  void TearDown() override {
    for (auto& worker : workers_) worker->Stop();
    for (auto& worker : workers_) worker->Join();
    control_.AttachWorkers({});
  }

  ControlAnswer SetWeights(int green) {
    const json weights = {{"blue", 100 - green}, {"green", green}};
    ChangeRequest request{"weights", {"uid:0", "unix"}, {}, "test", weights};
    return control_.Change(
        request, [&weights](const routing::RoutingSpec& current, routing::RoutingSpec* next,
                            admin::FieldError* error) {
          return admin::ApplyWeights(weights, current, next, error) ? 0 : 400;
        });
  }

  uint64_t RequestsCounted() const {
    uint64_t sum = 0;
    for (const auto& worker : workers_) {
      for (std::size_t pool = 0; pool < worker->counters().pool_count(); ++pool) {
        sum += worker->counters().Requests(pool);
      }
    }
    return sum;
  }

  std::unique_ptr<DemoBackends> backends_;
  Config config_;
  HealthRegistry health_;
  SwitchSignal switched_;
  ControlPlane control_{&health_, &switched_};
  std::vector<std::unique_ptr<Worker>> workers_;
  uint16_t port_ = 0;
};

TEST_F(WorkerThreadsTest, ChangesAndReloadsReachEveryWorkerWhileTheyServe) {
  constexpr int kClients = 2;
  constexpr int kRequestsPerClient = 60;
  constexpr int kChanges = 30;
  constexpr int kReloads = 10;
  std::atomic<int> served_ok{0};
  std::atomic<bool> writers_done{false};

  std::vector<std::thread> clients;
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&, c] {
      for (int i = 0; i < kRequestsPerClient; ++i) {
        if (GetOnce(port_, "/c" + std::to_string(c) + "/" + std::to_string(i)) == 200) {
          served_ok.fetch_add(1);
        }
      }
    });
  }
  // The admin thread's changes and the main thread's reloads, both publishing snapshots.
  std::thread admin([&] {
    for (int i = 0; i < kChanges; ++i) EXPECT_EQ(SetWeights(i % 2 == 0 ? 100 : 0).status, 200);
  });
  std::thread reloads([&] {
    for (int i = 0; i < kReloads; ++i) {
      Config next = config_;
      next.timeouts.idle = std::chrono::milliseconds(60'000 + i);
      std::string error;
      EXPECT_TRUE(control_.ApplyConfig(next, {"signal", "SIGHUP"}, &error)) << error;
    }
  });
  // Scrapes and admin reads while all that happens.
  std::thread reader([&] {
    int scrapes = 0;
    while (!writers_done.load() || scrapes == 0) {
      const std::shared_ptr<const Snapshot> snapshot = control_.snapshot();
      const std::string text =
          metrics::SerializeText(metrics::CollectFamilies(ScrapeInput(*snapshot, workers_)));
      EXPECT_NE(text.find("cutover_routing_version"), std::string::npos);
      EXPECT_TRUE(control_.Health().contains("pools"));
      EXPECT_FALSE(control_.History(5)["history"].empty());
      for (const auto& worker : workers_) EXPECT_GE(worker->routing_version(), 1u);
      ++scrapes;
    }
  });

  admin.join();
  reloads.join();
  for (std::thread& client : clients) client.join();
  writers_done.store(true);
  reader.join();

  EXPECT_EQ(served_ok.load(), kClients * kRequestsPerClient);
  EXPECT_EQ(control_.version(), 1u + kChanges + kReloads);
  for (const auto& worker : workers_) EXPECT_EQ(worker->routing_version(), control_.version());
  // Each exchange is counted by the worker that served it once its response is sent, which
  // the client may see first: poll (bounded) until the counts arrive.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (RequestsCounted() < static_cast<uint64_t>(kClients * kRequestsPerClient) &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));  // poll interval
  }
  EXPECT_EQ(RequestsCounted(), static_cast<uint64_t>(kClients * kRequestsPerClient));
}

// The drained worker's loop has closed its async handle, so the change (and the Stop() at
// teardown) must not wake it: libuv forbids uv_async_send on a closed handle.
TEST_F(WorkerThreadsTest, ChangeWhileAWorkerDrainsIsAnsweredByTheRunningOnes) {
  workers_[1]->Drain();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!workers_[1]->finished() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));  // poll interval
  }
  ASSERT_TRUE(workers_[1]->finished());
  const ControlAnswer answer = SetWeights(30);
  ASSERT_EQ(answer.status, 200) << answer.body.dump();
  EXPECT_EQ(answer.body["workers"], 1);
  EXPECT_EQ(workers_[0]->routing_version(), control_.version());
  EXPECT_EQ(GetOnce(port_, "/after-drain"), 200);  // the running worker still serves
}

}  // namespace
}  // namespace cutover::proxy
