// The ControlPlane without workers: persistence, restore, rejection and failure paths that the
// integration tests cannot reach (a full disk for the audit log, a vanished state directory).
#include "proxy/control_plane.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "proxy/admin/state_json.h"
#include "proxy/config_loader.h"
#include "tests/unit/support/temp_dir.h"

namespace cutover::proxy {
namespace {

using cutover::testing::ReadWholeFile;
using cutover::testing::TempDir;
using nlohmann::json;

std::string ConfigText(const std::string& state_file, const std::string& audit_log,
                       const std::string& weights = "{ blue = 90, green = 10 }",
                       const std::string& idle = "60s") {
  return "[admin]\nsocket = \"\"\naddress = \"127.0.0.1:9\"\ntokens_file = \"unused\"\n"
         "state_file = \"" +
         state_file + "\"\naudit_log = \"" + audit_log +
         "\"\n[pools.blue]\nendpoints = [\"127.0.0.1:1\"]\n[pools.green]\nendpoints = "
         "[\"127.0.0.1:2\"]\n[routing]\nbaseline = \"blue\"\ncandidate = \"green\"\nweights = " +
         weights + "\n[timeouts]\nidle = \"" + idle + "\"\n";
}

Config Load(const std::string& text) {
  ConfigLoadResult result = LoadConfigString(text, "test.toml");
  EXPECT_TRUE(result.config.has_value())
      << (result.errors.empty() ? "" : result.errors.front().ToString("test.toml"));
  return result.config.value_or(Config{});
}

Mutation SetWeights(json weights) {
  return [weights](const routing::RoutingSpec& current, routing::RoutingSpec* next,
                   admin::FieldError* error) {
    return admin::ApplyWeights(weights, current, next, error) ? 0 : 400;
  };
}

ChangeRequest Request(std::string action = "weights") {
  return ChangeRequest{std::move(action), {"uid:0", "unix"}, {}, "test", nullptr};
}

json Weights(const ControlPlane& control) {
  return admin::StateToJson(control.snapshot()->routing->spec(), 0)["weights"];
}

class ControlPlaneTest : public ::testing::Test {
 protected:
  ControlPlane& Started(const std::string& text, bool discard = false) {
    control_ = std::make_unique<ControlPlane>(&health_, &switched_);
    std::string error;
    EXPECT_TRUE(control_->Start(Load(text), discard, &error)) << error;
    return *control_;
  }

  TempDir dir_;
  std::string state_ = dir_.File("state.json");
  std::string audit_ = dir_.File("audit.log");
  HealthRegistry health_;
  SwitchSignal switched_;
  std::unique_ptr<ControlPlane> control_;
};

TEST_F(ControlPlaneTest, FreshStartWritesTheStateFileAtVersionOne) {
  ControlPlane& control = Started(ConfigText(state_, audit_));
  EXPECT_EQ(control.version(), 1u);
  EXPECT_TRUE(std::filesystem::exists(state_));
  const json history = control.History(10)["history"];
  ASSERT_EQ(history.size(), 1u);
  EXPECT_EQ(history[0]["action"], "start");
}

TEST_F(ControlPlaneTest, AcceptedChangeSurvivesARestart) {
  ControlPlane& control = Started(ConfigText(state_, audit_));
  const ControlAnswer answer = control.Change(Request(), SetWeights({{"blue", 40}, {"green", 60}}));
  ASSERT_EQ(answer.status, 200) << answer.body.dump();
  EXPECT_EQ(answer.body["version"], 2);
  EXPECT_EQ(answer.body["workers"], 0);

  ControlPlane& restarted = Started(ConfigText(state_, audit_));
  EXPECT_EQ(restarted.version(), 2u);
  EXPECT_EQ(Weights(restarted), json({{"blue", 40}, {"green", 60}}));
  EXPECT_NE(ReadWholeFile(audit_).find("\"result\":\"ok\""), std::string::npos);
}

TEST_F(ControlPlaneTest, EditedRoutingSectionWinsOverTheStateFile) {
  ControlPlane& control = Started(ConfigText(state_, audit_));
  ASSERT_EQ(control.Change(Request(), SetWeights({{"blue", 40}, {"green", 60}})).status, 200);

  ControlPlane& restarted = Started(ConfigText(state_, audit_, "{ blue = 70, green = 30 }"));
  EXPECT_EQ(restarted.version(), 3u) << "the config's routing is a new version, not a step back";
  EXPECT_EQ(Weights(restarted), json({{"blue", 70}, {"green", 30}}));
}

TEST_F(ControlPlaneTest, OtherConfigEditsKeepTheLiveWeights) {
  ControlPlane& control = Started(ConfigText(state_, audit_));
  ASSERT_EQ(control.Change(Request(), SetWeights({{"blue", 40}, {"green", 60}})).status, 200);

  ControlPlane& restarted = Started(ConfigText(state_, audit_, "{ blue = 90, green = 10 }", "30s"));
  EXPECT_EQ(Weights(restarted), json({{"blue", 40}, {"green", 60}}));
  EXPECT_EQ(restarted.snapshot()->config.timeouts.idle, Millis(30'000));
}

TEST_F(ControlPlaneTest, StaleIfMatchAndBadBodiesChangeNothingButAreAudited) {
  ControlPlane& control = Started(ConfigText(state_, audit_));
  const std::string before = ReadWholeFile(state_);

  ChangeRequest stale = Request();
  stale.if_match = 7;
  const ControlAnswer conflict = control.Change(stale, SetWeights({{"blue", 0}, {"green", 100}}));
  EXPECT_EQ(conflict.status, 409);
  EXPECT_EQ(conflict.body["version"], 1);

  const ControlAnswer bad = control.Change(Request(), SetWeights({{"blue", 10}, {"green", 10}}));
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(bad.body["field"], "weights");

  EXPECT_EQ(control.version(), 1u);
  EXPECT_EQ(ReadWholeFile(state_), before);
  const std::string audit = ReadWholeFile(audit_);
  EXPECT_NE(audit.find("\"result\":\"409: "), std::string::npos) << audit;
  EXPECT_NE(audit.find("\"result\":\"400: "), std::string::npos) << audit;
}

TEST_F(ControlPlaneTest, AuditFailureUndoesTheStateFileAndChangesNothing) {
  // /dev/full opens for appending but every write fails with ENOSPC.
  ControlPlane& control = Started(ConfigText(state_, "/dev/full"));
  const std::string before = ReadWholeFile(state_);
  const ControlAnswer answer = control.Change(Request(), SetWeights({{"blue", 0}, {"green", 100}}));
  EXPECT_EQ(answer.status, 500);
  EXPECT_EQ(control.version(), 1u);
  EXPECT_EQ(Weights(control), json({{"blue", 90}, {"green", 10}}));
  EXPECT_EQ(ReadWholeFile(state_), before) << "the exact bytes of the last acknowledged state";
}

TEST_F(ControlPlaneTest, StateFileFailureRefusesTheChange) {
  const std::string sub = dir_.File("gone");
  std::filesystem::create_directory(sub);
  ControlPlane& control = Started(ConfigText(sub + "/state.json", audit_));
  std::filesystem::remove_all(sub);
  const ControlAnswer answer = control.Change(Request(), SetWeights({{"blue", 0}, {"green", 100}}));
  EXPECT_EQ(answer.status, 500);
  EXPECT_EQ(control.version(), 1u);
  EXPECT_EQ(Weights(control), json({{"blue", 90}, {"green", 10}}));
}

TEST_F(ControlPlaneTest, CorruptStateFileStopsTheStartUnlessDiscarded) {
  { Started(ConfigText(state_, audit_)); }
  std::string text = ReadWholeFile(state_);
  text[text.size() / 2] ^= 0x01;
  {
    std::ofstream out(state_, std::ios::binary | std::ios::trunc);
    out << text;
  }
  ControlPlane refused(&health_, &switched_);
  std::string error;
  EXPECT_FALSE(refused.Start(Load(ConfigText(state_, audit_)), false, &error));
  EXPECT_NE(error.find("--discard-state"), std::string::npos) << error;

  ControlPlane& control = Started(ConfigText(state_, audit_), /*discard=*/true);
  EXPECT_EQ(control.version(), 1u);
  bool kept_aside = false;
  for (const auto& entry : std::filesystem::directory_iterator(dir_.path())) {
    kept_aside |= entry.path().filename().string().rfind("state.json.discarded.", 0) == 0;
  }
  EXPECT_TRUE(kept_aside);
}

TEST_F(ControlPlaneTest, DiscardStateStartsFromTheConfigButKeepsVersionAndHistory) {
  ControlPlane& control = Started(ConfigText(state_, audit_));
  ASSERT_EQ(control.Change(Request(), SetWeights({{"blue", 40}, {"green", 60}})).status, 200);

  ControlPlane& restarted = Started(ConfigText(state_, audit_), /*discard=*/true);
  EXPECT_EQ(Weights(restarted), json({{"blue", 90}, {"green", 10}}));
  EXPECT_EQ(restarted.version(), 3u);
  EXPECT_EQ(restarted.History(10)["history"].size(), 3u);
}

TEST_F(ControlPlaneTest, RevertRestoresAnEarlierVersionAsANewOne) {
  ControlPlane& control = Started(ConfigText(state_, audit_));
  ASSERT_EQ(control.Change(Request(), SetWeights({{"blue", 50}, {"green", 50}})).status, 200);
  ASSERT_EQ(control.Change(Request(), SetWeights({{"blue", 0}, {"green", 100}})).status, 200);
  const ControlAnswer answer = control.Revert(Request("revert"), 1);
  ASSERT_EQ(answer.status, 200) << answer.body.dump();
  EXPECT_EQ(answer.body["version"], 4);
  EXPECT_EQ(Weights(control), json({{"blue", 90}, {"green", 10}}));
  EXPECT_EQ(control.Revert(Request("revert"), 99).status, 404);
  EXPECT_EQ(control.History(2)["history"][0]["action"], "revert");
}

TEST_F(ControlPlaneTest, ReloadKeepsLiveWeightsUnlessRoutingChanged) {
  ControlPlane& control = Started(ConfigText(state_, audit_));
  ASSERT_EQ(control.Change(Request(), SetWeights({{"blue", 40}, {"green", 60}})).status, 200);
  std::string error;
  const Caller signal{"signal", "SIGHUP"};
  ASSERT_TRUE(control.ApplyConfig(
      Load(ConfigText(state_, audit_, "{ blue = 90, green = 10 }", "5s")), signal, &error))
      << error;
  EXPECT_EQ(Weights(control), json({{"blue", 40}, {"green", 60}}));
  EXPECT_EQ(control.snapshot()->config.timeouts.idle, Millis(5'000));
  ASSERT_TRUE(control.ApplyConfig(Load(ConfigText(state_, audit_, "{ blue = 100, green = 0 }")),
                                  signal, &error))
      << error;
  EXPECT_EQ(Weights(control), json({{"blue", 100}, {"green", 0}}));
  EXPECT_EQ(control.version(), 4u);
}

}  // namespace
}  // namespace cutover::proxy
