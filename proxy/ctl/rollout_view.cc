#include "proxy/ctl/rollout_view.h"

#include <cmath>
#include <optional>
#include <vector>

#include "proxy/ctl/json_fields.h"
#include "proxy/ctl/table.h"
#include "proxy/ctl/time_text.h"
#include "routing/weighted_split.h"

namespace cutover::proxy::ctl {
namespace {

using nlohmann::json;

std::optional<int64_t> Integer(const json& object, const char* key) {
  const json& value = Member(object, key);
  if (!value.is_number()) return std::nullopt;
  return static_cast<int64_t>(value.get<double>());
}

// 25 -> "25", 12.5 -> "12.5": the server's percents, without float noise.
std::string Percent(const json& value) {
  if (!value.is_number()) return "?";
  const double basis_points = std::round(value.get<double>() * 100.0);
  if (basis_points < 0 || basis_points > 10'000) return value.dump();
  return routing::FormatPercent(static_cast<uint32_t>(basis_points));
}

// "1 5 [25] 50 100": every step, the one applied now in brackets.
std::string StepsText(const json& steps, std::optional<int64_t> current) {
  std::string text;
  for (std::size_t i = 0; i < steps.size(); ++i) {
    if (!text.empty()) text += ' ';
    const bool here = current && *current == static_cast<int64_t>(i);
    text += here ? "[" + Percent(steps[i]) + "]" : Percent(steps[i]);
  }
  return text;
}

// ", waiting for: ..." in words, "" when the server waits for nothing.
std::string WaitingFor(const json& rollout) {
  const std::string what = Text(rollout, "waiting_for");
  if (what.empty()) return "";
  std::string words = what;
  if (what == "healthy_verdict") words = "a healthy guardrail verdict";
  if (what == "min_requests") {
    const auto wanted = Integer(rollout, "min_requests");
    words = (wanted ? std::to_string(*wanted) : std::string("enough")) + " requests at this step";
  }
  return ", waiting for: " + words;
}

// ", 45s of 2m dwell left" while the step's dwell runs, ", 2m dwell done" after.
std::string DwellText(const json& rollout) {
  const auto dwell = Integer(rollout, "dwell_ms");
  const auto left = Integer(rollout, "dwell_left_ms");
  if (!dwell || !left) return "";
  if (*left <= 0) return ", " + FormatDuration(*dwell) + " dwell done";
  return ", " + FormatDuration(*left) + " of " + FormatDuration(*dwell) + " dwell left";
}

}  // namespace

std::string ProgressBar(std::size_t done, std::size_t total, std::size_t width) {
  if (done > total) done = total;
  const std::size_t filled = total == 0 ? 0 : done * width / total;
  return "[" + std::string(filled, '#') + std::string(width - filled, '-') + "]";
}

std::string RolloutProgressLine(const json& rollout) {
  const std::string state = Text(rollout, "state");
  const json& steps = Member(rollout, "steps");
  if (state.empty() || state == "none" || !steps.is_array() || steps.empty()) return "";
  const std::size_t total = steps.size();
  const auto step = Integer(rollout, "step");
  // The bar counts the steps whose dwell is over: none at the first step, all once completed.
  const std::size_t done =
      state == "completed" ? total : static_cast<std::size_t>(step && *step > 0 ? *step : 0);
  std::string line = ProgressBar(done, total) + " step " +
                     (step ? std::to_string(*step + 1) : std::string("?")) + "/" +
                     std::to_string(total) + ": " + Text(rollout, "candidate") + " " +
                     Percent(Member(rollout, "weight")) + " %";
  if (state == "running") {
    line += DwellText(rollout);
    const auto requests = Integer(rollout, "step_requests");
    if (requests) line += ", " + std::to_string(*requests) + " requests";
    return line + WaitingFor(rollout);
  }
  line += ", " + state;
  // "weight" stays the step's; an abort took the candidate back to 0, and says so.
  if (state == "aborted") line += " (" + Text(rollout, "candidate") + " rolled back)";
  const std::string reason = Text(rollout, "paused_reason");
  if (state == "paused" && !reason.empty()) line += ": " + reason;
  return line;
}

std::string CutoverHint(const json& rollout, int64_t now_unix_ms) {
  const json& cutover = Member(rollout, "cutover");
  const std::string next = Text(cutover, "next_step");
  if (!next.empty()) return next;
  const json& complete = Member(cutover, "complete");
  if (!complete.is_boolean() || !complete.get<bool>()) return "";
  const auto since = Integer(cutover, "candidate_full_since_unix_ms");
  const std::string held =
      since && *since > 0 ? " for " + FormatDuration(now_unix_ms - *since) : "";
  return Text(rollout, "candidate") + " has held 100 %" + held + ": retire " +
         Text(rollout, "baseline") + ", or `cutover ctl promote-baseline` to make " +
         Text(rollout, "candidate") + " the baseline";
}

std::string RolloutView(const json& rollout, int64_t now_unix_ms) {
  const std::string state = Text(rollout, "state");
  const std::string progress = RolloutProgressLine(rollout);
  std::string out;
  if (progress.empty()) {
    out = "no rollout (start one with `cutover ctl rollout start 1,5,25,50,100 --every 2m`)\n";
  } else {
    out = "rollout " + state + ": " + Text(rollout, "baseline") + " -> " +
          Text(rollout, "candidate") + ", steps " +
          StepsText(Member(rollout, "steps"), Integer(rollout, "step"));
    const auto dwell = Integer(rollout, "dwell_ms");
    if (dwell) out += ", " + FormatDuration(*dwell) + " dwell each";
    const auto min_requests = Integer(rollout, "min_requests");
    if (min_requests && *min_requests > 0) {
      out += ", at least " + std::to_string(*min_requests) + " requests each";
    }
    out += "\n" + progress + "\n";
    const auto started = Integer(rollout, "started_unix_ms");
    if (started && *started > 0) {
      out += "started " + FormatUtc(*started);
      const std::string by = Text(rollout, "started_by");
      if (!by.empty()) out += " by " + by;
      const auto finished = Integer(rollout, "finished_unix_ms");
      if (finished && *finished > 0) out += ", " + state + " " + FormatUtc(*finished);
      out += "\n";
    }
    if (state == "paused") out += "`cutover ctl rollout resume` goes on from this step\n";
  }
  const std::string hint = CutoverHint(rollout, now_unix_ms);
  if (!hint.empty()) out += "next: " + hint + "\n";
  return out;
}

}  // namespace cutover::proxy::ctl
