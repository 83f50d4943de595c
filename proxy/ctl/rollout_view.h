// `GET /v1/rollout` (also the answer to every rollout change) for people: where a server-side
// rollout stands, as a progress bar over its steps and the one thing it waits for, e.g.
//
//   rollout running: blue -> green, steps 1 5 [25] 50 100, 2m dwell each
//   [####------] step 3/5: green 25 %, 45s of 2m dwell left, 1234 requests, waiting for: dwell
//   started 2026-11-25T20:20:20Z by token:alice
//
// Pure functions of the JSON, like response_views.h: a field the server left out or mistyped is
// skipped, never fatal. Strings from the server (a pause reason, an actor) are sanitised.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

namespace cutover::proxy::ctl {

// "[####------]": `done` of `total` parts filled, `width` cells between the brackets; done is
// clamped to total, and a total of 0 is an empty bar.
std::string ProgressBar(std::size_t done, std::size_t total, std::size_t width = 10);

// The whole `ctl rollout status` view, "no rollout..." when state is "none"; ends with the
// cutover hint (CutoverHint) when there is one. `now_unix_ms` is the caller's clock.
std::string RolloutView(const nlohmann::json& rollout, int64_t now_unix_ms);

// The progress line alone ("[####------] step 3/5: green 25 %, ..."), as `ctl status` shows it
// after "rollout: "; "" when there is no rollout (state "none" or an answer without steps).
std::string RolloutProgressLine(const nlohmann::json& rollout);

// What to do once the candidate holds all the traffic: the server's "cutover.next_step", or,
// when it says "complete" without one, "green has held 100 % for 10m: retire blue, or ...".
// "" when there is nothing to do yet.
std::string CutoverHint(const nlohmann::json& rollout, int64_t now_unix_ms);

}  // namespace cutover::proxy::ctl
