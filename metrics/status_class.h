// Status classes, the `code` label of the request metrics: 0 for "no status" (the client went
// away before an answer), 1..5 for 1xx..5xx.
#pragma once

#include <cstddef>
#include <cstdint>

namespace cutover::metrics {

inline constexpr std::size_t kStatusClassCount = 6;

constexpr std::size_t StatusClass(uint16_t status) {
  return status >= 100 && status < 600 ? status / 100 : 0;
}

}  // namespace cutover::metrics
