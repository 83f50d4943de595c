// The JSON of `GET /v1/compare` and `GET /v1/series` (docs/admin-api.md): blue and green side
// by side over a window, and slot by slot for the dashboard's lines. Pure shaping: the caller
// has already merged the workers' sliding windows.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "metrics/sliding_window.h"

namespace cutover::proxy::admin {

struct PoolWindow {
  std::string name;
  nlohmann::json weight;                        // as GET /v1/state says it
  metrics::WindowSnapshot total;                // the whole window (compare)
  std::vector<metrics::WindowSnapshot> series;  // slot by slot, oldest first (series)
};

struct WindowReport {
  uint64_t version = 0;
  std::string baseline;   // "" when none
  std::string candidate;  // "" when none
  int64_t window_ms = 0;
  int64_t slot_ms = 0;
  std::vector<PoolWindow> pools;
};

// Per pool figures over the window and the candidate-minus-baseline deltas.
nlohmann::json CompareJson(const WindowReport& report);

// One point per slot; "t" is the slot's start in seconds relative to now (negative).
nlohmann::json SeriesJson(const WindowReport& report);

}  // namespace cutover::proxy::admin
