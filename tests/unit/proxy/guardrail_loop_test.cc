// The guardrail loop with a ControlPlane and no workers: the pools' windows come from the
// test, and time is a parameter, so breach actions, the latch and a whole rollout run in
// microseconds and deterministically.
#include "proxy/guardrail_loop.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <string>

#include "proxy/admin/state_json.h"
#include "proxy/config_loader.h"
#include "tests/unit/support/temp_dir.h"

namespace cutover::proxy {
namespace {

using cutover::testing::TempDir;
using nlohmann::json;

std::string ConfigText(const std::string& dir, const std::string& action) {
  return "[admin]\nsocket = \"" + dir + "/admin.sock\"\nstate_file = \"" + dir +
         "/state.json\"\naudit_log = \"" + dir +
         "/audit.log\"\n[pools.blue]\nendpoints = [\"127.0.0.1:1\"]\n[pools.green]\nendpoints = "
         "[\"127.0.0.1:2\"]\n[routing]\nbaseline = \"blue\"\ncandidate = \"green\"\nweights = "
         "{ blue = 90, green = 10 }\n[guardrails]\nmin_requests = 20\naction = \"" +
         action + "\"\n";
}

// A pool's traffic over the window: `requests` answered in the 2.5-5 ms bucket, `errors` 5xx.
PoolObservation Traffic(uint64_t requests, uint64_t errors, uint64_t total) {
  PoolObservation pool;
  pool.window.requests_by_class[2] = requests - errors;
  pool.window.requests_by_class[5] = errors;
  pool.window.latency.Add(3, requests);
  pool.requests_total = total;
  return pool;
}

class GuardrailLoopTest : public ::testing::Test {
 protected:
  GuardrailLoop& Started(const std::string& action = "rollback") {
    ConfigLoadResult result = LoadConfigString(ConfigText(dir_.path(), action), "test.toml");
    EXPECT_TRUE(result.config.has_value())
        << (result.errors.empty() ? "" : result.errors.front().ToString("test.toml"));
    control_ = std::make_unique<ControlPlane>(&health_, &switched_);
    std::string error;
    EXPECT_TRUE(control_->Start(*result.config, false, &error)) << error;
    loop_ = std::make_unique<GuardrailLoop>(
        control_.get(), [this](const std::string& pool, int64_t, PoolObservation* out) {
          *out = pools_[pool];
          return true;
        });
    loop_->Restore(now_);
    return *loop_;
  }
  json Weights() const {
    return admin::StateToJson(control_->snapshot()->routing->spec(), 0)["weights"];
  }
  // Healthy traffic for both pools, growing with time.
  void Healthy() {
    pools_["blue"] = Traffic(900, 0, 900 * (1 + now_ / 1000));
    pools_["green"] = Traffic(100, 0, 100 * (1 + now_ / 1000));
  }
  void Tick(int64_t advance_ms = 1'000) {
    now_ += advance_ms;
    loop_->Tick(now_);
  }
  std::vector<std::string> AuditActions() const {
    std::vector<std::string> actions;
    std::ifstream in(dir_.path() + "/audit.log");
    for (std::string line; std::getline(in, line);) {
      actions.push_back(json::parse(line).at("action").get<std::string>());
    }
    return actions;
  }

  TempDir dir_;
  HealthRegistry health_;
  SwitchSignal switched_;
  std::unique_ptr<ControlPlane> control_;
  std::unique_ptr<GuardrailLoop> loop_;
  std::map<std::string, PoolObservation> pools_;
  int64_t now_ = 1'000'000;
};

TEST_F(GuardrailLoopTest, ABreachRollsBackOnceAndLatchesUntilAcknowledged) {
  GuardrailLoop& loop = Started();
  Healthy();
  Tick();
  EXPECT_EQ(loop.VerdictJson()["kind"], "healthy");
  pools_["green"] = Traffic(100, 40, 200);
  Tick();
  EXPECT_EQ(Weights(), json({{"blue", 100}, {"green", 0}}));
  const json state = loop.GuardrailsJson();
  EXPECT_EQ(state["breach"]["rule"], "error_rate");
  EXPECT_EQ(state["breach"]["acknowledged"], false);
  EXPECT_EQ(state["breaches_total"]["error_rate"], 1);
  // Still breaching on the same counts: nothing acts a second time.
  const uint64_t version = control_->version();
  Tick();
  EXPECT_EQ(control_->version(), version);
  EXPECT_EQ(loop.Metrics().breaches[0], 1u);
  EXPECT_EQ(loop.Acknowledge({"uid:0", "unix"}, "seen", false, now_).status, 200);
  EXPECT_EQ(loop.Acknowledge({"uid:0", "unix"}, "again", false, now_).status, 409);
  EXPECT_EQ(AuditActions(), (std::vector<std::string>{"guardrail.rollback", "guardrail.ack"}));
}

TEST_F(GuardrailLoopTest, PauseKeepsTheWeightsAndStopsTheRollout) {
  GuardrailLoop& loop = Started("pause");
  Healthy();
  const routing::RolloutPlan plan{.steps_bp = {1000, 5000, 10000}, .dwell_ms = 10'000};
  ASSERT_EQ(loop.StartRollout({"uid:0", "unix"}, plan, "", now_).status, 200);
  pools_["green"] = Traffic(100, 40, 200);
  Tick();
  EXPECT_EQ(Weights(), json({{"blue", 90}, {"green", 10}}));
  EXPECT_EQ(loop.RolloutJson(now_)["state"], "paused");
  EXPECT_EQ(loop.CommandRollout(GuardrailLoop::RolloutCommand::kResume, {"uid:0", "unix"}, "", now_)
                .status,
            409);
  Healthy();
  ASSERT_EQ(loop.Acknowledge({"uid:0", "unix"}, "fixed", true, now_).status, 200);
  EXPECT_EQ(loop.RolloutJson(now_)["state"], "running");
}

TEST_F(GuardrailLoopTest, ARolloutClimbsOnlyAfterEachDwellAndResumesAfterARestart) {
  GuardrailLoop& loop = Started();
  Healthy();
  const routing::RolloutPlan plan{.steps_bp = {1000, 5000, 10000}, .dwell_ms = 10'000};
  ASSERT_EQ(loop.StartRollout({"uid:0", "unix"}, plan, "go", now_).status, 200);
  for (int second = 0; second < 9; ++second) Tick();
  EXPECT_EQ(Weights()["green"], 10);
  Tick();
  Tick();
  EXPECT_EQ(Weights()["green"], 50);
  EXPECT_EQ(loop.RolloutJson(now_)["step"], 1);
  // A restart: a new loop over a new control plane on the same state file.
  loop_.reset();
  control_.reset();
  now_ += 60'000;
  GuardrailLoop& again = Started();
  EXPECT_EQ(Weights()["green"], 50);
  const json rollout = again.RolloutJson(now_);
  EXPECT_EQ(rollout["state"], "running");
  EXPECT_EQ(rollout["step"], 1);
  EXPECT_EQ(rollout["dwell_left_ms"], 10'000);  // restarted
  Healthy();
  for (int second = 0; second < 12; ++second) Tick();
  // At 100 % the baseline has nothing left to compare: the last dwell completes the rollout.
  pools_["blue"] = Traffic(0, 0, 0);
  for (int second = 0; second < 12; ++second) Tick();
  EXPECT_EQ(Weights(), json({{"blue", 0}, {"green", 100}}));
  EXPECT_EQ(again.RolloutJson(now_)["state"], "completed");
  const std::vector<std::string> actions = AuditActions();
  EXPECT_EQ(std::count(actions.begin(), actions.end(), "rollout.step"), 2);
  EXPECT_EQ(actions.back(), "rollout.complete");
}

TEST_F(GuardrailLoopTest, InsufficientDataHoldsAStep) {
  GuardrailLoop& loop = Started();
  pools_["blue"] = Traffic(900, 0, 900);
  pools_["green"] = Traffic(5, 0, 5);
  const routing::RolloutPlan plan{.steps_bp = {1000, 10000}, .dwell_ms = 2'000};
  ASSERT_EQ(loop.StartRollout({"uid:0", "unix"}, plan, "", now_).status, 200);
  for (int second = 0; second < 30; ++second) Tick();
  EXPECT_EQ(Weights()["green"], 10);
  EXPECT_EQ(loop.RolloutJson(now_)["waiting_for"], "healthy_verdict");
}

}  // namespace
}  // namespace cutover::proxy
