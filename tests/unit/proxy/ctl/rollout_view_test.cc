#include "proxy/ctl/rollout_view.h"

#include <gtest/gtest.h>

namespace cutover::proxy::ctl {
namespace {

using nlohmann::json;

constexpr int64_t kNow = 1'764'102'020'000;  // 2025-11-25T20:20:20Z

// GET /v1/rollout as the API contract gives it: step 3 of 5, dwell running.
json Running() {
  return json::parse(R"({
    "state": "running", "baseline": "blue", "candidate": "green",
    "steps": [1, 5, 25, 50, 100], "step": 2, "weight": 25, "dwell_ms": 120000,
    "min_requests": 0, "step_started_unix_ms": 1764102000000, "dwell_left_ms": 45000,
    "step_requests": 1234, "waiting_for": "dwell", "paused_reason": "",
    "started_by": "token:alice", "started_unix_ms": 1764101700000, "finished_unix_ms": 0,
    "cutover": {"complete": false, "candidate_full_since_unix_ms": 0, "hold_ms": 600000,
                "next_step": ""}})");
}

TEST(ProgressBar, FillsInProportion) {
  EXPECT_EQ(ProgressBar(0, 5), "[----------]");
  EXPECT_EQ(ProgressBar(2, 5), "[####------]");
  EXPECT_EQ(ProgressBar(5, 5), "[##########]");
  EXPECT_EQ(ProgressBar(1, 3), "[###-------]");  // rounded down: full only when all are done
  EXPECT_EQ(ProgressBar(2, 3), "[######----]");
  EXPECT_EQ(ProgressBar(1, 4, 4), "[#---]");
}

TEST(ProgressBar, ClampsAndSurvivesNothing) {
  EXPECT_EQ(ProgressBar(7, 5), "[##########]");
  EXPECT_EQ(ProgressBar(0, 0), "[----------]");
  EXPECT_EQ(ProgressBar(3, 0, 3), "[---]");
}

TEST(RolloutView, RunningShowsTheStepTheDwellAndWhatItWaitsFor) {
  EXPECT_EQ(RolloutView(Running(), kNow),
            "rollout running: blue -> green, steps 1 5 [25] 50 100, 2m dwell each\n"
            "[####------] step 3/5: green 25 %, 45s of 2m dwell left, 1234 requests, "
            "waiting for: dwell\n"
            "started 2025-11-25T20:15:00Z by token:alice\n");
}

TEST(RolloutView, WaitingForInWords) {
  json rollout = Running();
  rollout["waiting_for"] = "healthy_verdict";
  rollout["dwell_left_ms"] = 0;
  EXPECT_EQ(RolloutProgressLine(rollout),
            "[####------] step 3/5: green 25 %, 2m dwell done, 1234 requests, "
            "waiting for: a healthy guardrail verdict");
  rollout["waiting_for"] = "min_requests";
  rollout["min_requests"] = 5000;
  EXPECT_EQ(RolloutProgressLine(rollout),
            "[####------] step 3/5: green 25 %, 2m dwell done, 1234 requests, "
            "waiting for: 5000 requests at this step");
  EXPECT_NE(RolloutView(rollout, kNow).find(", at least 5000 requests each\n"), std::string::npos);
  rollout["waiting_for"] = "";
  EXPECT_EQ(RolloutProgressLine(rollout),
            "[####------] step 3/5: green 25 %, 2m dwell done, 1234 requests");
  rollout["waiting_for"] = "something_new";  // a newer server's reason still shows
  EXPECT_NE(RolloutProgressLine(rollout).find("waiting for: something_new"), std::string::npos);
}

TEST(RolloutView, PausedShowsTheReasonAndHowToGoOn) {
  json rollout = Running();
  rollout["state"] = "paused";
  rollout["paused_reason"] = "guardrail breach: error_rate";
  EXPECT_EQ(RolloutView(rollout, kNow),
            "rollout paused: blue -> green, steps 1 5 [25] 50 100, 2m dwell each\n"
            "[####------] step 3/5: green 25 %, paused: guardrail breach: error_rate\n"
            "started 2025-11-25T20:15:00Z by token:alice\n"
            "`cutover ctl rollout resume` goes on from this step\n");
}

TEST(RolloutView, CompletedIsAFullBarWithTheCutoverHint) {
  json rollout = Running();
  rollout["state"] = "completed";
  rollout["step"] = 4;
  rollout["weight"] = 100;
  rollout["waiting_for"] = "";
  rollout["finished_unix_ms"] = 1'764'102'300'000;
  rollout["cutover"]["next_step"] =
      "green has held 100 % for 10m: retire blue, or `cutover ctl promote-baseline`";
  EXPECT_EQ(RolloutView(rollout, kNow),
            "rollout completed: blue -> green, steps 1 5 25 50 [100], 2m dwell each\n"
            "[##########] step 5/5: green 100 %, completed\n"
            "started 2025-11-25T20:15:00Z by token:alice, completed 2025-11-25T20:25:00Z\n"
            "next: green has held 100 % for 10m: retire blue, or `cutover ctl promote-baseline`\n");
}

TEST(RolloutView, AbortedKeepsTheStepItStoppedAt) {
  json rollout = Running();
  rollout["state"] = "aborted";
  EXPECT_EQ(RolloutProgressLine(rollout),
            "[####------] step 3/5: green 25 %, aborted (green rolled back)");
}

TEST(RolloutView, NoneSaysHowToStartAndStillGivesTheHint) {
  const json none = {
      {"state", "none"}, {"baseline", "blue"}, {"candidate", "green"}, {"steps", json::array()}};
  EXPECT_EQ(RolloutView(none, kNow),
            "no rollout (start one with `cutover ctl rollout start 1,5,25,50,100 --every 2m`)\n");
  EXPECT_EQ(RolloutProgressLine(none), "");
  json full = none;
  full["cutover"] = {{"complete", true},
                     {"candidate_full_since_unix_ms", kNow - 720'000},
                     {"hold_ms", 600'000},
                     {"next_step", ""}};
  // The server said "complete" but gave no text: ctl words it.
  EXPECT_EQ(CutoverHint(full, kNow),
            "green has held 100 % for 12m: retire blue, or `cutover ctl promote-baseline` to make "
            "green the baseline");
  EXPECT_NE(RolloutView(full, kNow).find("\nnext: green has held 100 % for 12m"),
            std::string::npos);
}

TEST(RolloutView, FractionalPercents) {
  json rollout = Running();
  rollout["steps"] = {0.5, 12.5, 100};
  rollout["step"] = 0;
  rollout["weight"] = 0.5;
  EXPECT_EQ(RolloutProgressLine(rollout).rfind("[----------] step 1/3: green 0.5 %, ", 0), 0u);
  EXPECT_NE(RolloutView(rollout, kNow).find("steps [0.5] 12.5 100,"), std::string::npos);
}

TEST(RolloutView, MissingOrMistypedFieldsAreSkippedAndControlsSanitised) {
  EXPECT_EQ(RolloutView(json(), kNow).rfind("no rollout", 0), 0u);
  EXPECT_EQ(RolloutView(json::array(), kNow).rfind("no rollout", 0), 0u);
  json odd = {{"state", "running"},
              {"steps", {1, "x"}},
              {"step", "two"},
              {"candidate", "gr\x1b[2Jeen"},
              {"weight", nullptr}};
  const std::string view = RolloutView(odd, kNow);
  EXPECT_EQ(view.find('\x1b'), std::string::npos) << view;
  EXPECT_NE(view.find("step ?/2: gr?[2Jeen ? %"), std::string::npos) << view;
  json paused = Running();
  paused["state"] = "paused";
  paused["paused_reason"] = "evil\rreason";
  EXPECT_NE(RolloutProgressLine(paused).find("paused: evil?reason"), std::string::npos);
}

}  // namespace
}  // namespace cutover::proxy::ctl
