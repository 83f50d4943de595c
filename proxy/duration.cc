#include "proxy/duration.h"

#include <cstdint>
#include <limits>

namespace cutover::proxy {
namespace {

// Milliseconds per unit, or 0 for a unit we do not accept.
int64_t UnitMillis(std::string_view unit) {
  if (unit == "ms") return 1;
  if (unit == "s") return 1'000;
  if (unit == "m") return 60'000;
  if (unit == "h") return 3'600'000;
  return 0;
}

}  // namespace

std::optional<std::chrono::milliseconds> ParseDuration(std::string_view text) {
  constexpr int64_t kMax = std::numeric_limits<std::chrono::milliseconds::rep>::max();
  std::size_t digits = 0;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') ++digits;
  if (digits == 0) return std::nullopt;  // empty, signed ("-5s", "+5s") or no number at all
  const int64_t per_unit = UnitMillis(text.substr(digits));
  if (per_unit == 0) return std::nullopt;
  int64_t count = 0;
  for (std::size_t i = 0; i < digits; ++i) {
    const int digit = text[i] - '0';
    if (count > (kMax - digit) / 10) return std::nullopt;
    count = count * 10 + digit;
  }
  if (count > kMax / per_unit) return std::nullopt;
  return std::chrono::milliseconds(count * per_unit);
}

}  // namespace cutover::proxy
