#include "proxy/ctl/time_text.h"

#include <ctime>

namespace cutover::proxy::ctl {
namespace {

// "1h30m", or "1h" when the smaller unit is 0.
std::string TwoUnits(int64_t big, const char* big_unit, int64_t small, const char* small_unit) {
  std::string text = std::to_string(big) + big_unit;
  if (small != 0) text += std::to_string(small) + small_unit;
  return text;
}

}  // namespace

std::string FormatDuration(int64_t milliseconds) {
  constexpr int64_t kSecond = 1000;
  constexpr int64_t kMinute = 60 * kSecond;
  constexpr int64_t kHour = 60 * kMinute;
  constexpr int64_t kDay = 24 * kHour;
  const int64_t ms = milliseconds < 0 ? 0 : milliseconds;
  if (ms < kSecond) return std::to_string(ms) + "ms";
  if (ms < kMinute) return std::to_string(ms / kSecond) + "s";
  if (ms < kHour) return TwoUnits(ms / kMinute, "m", ms % kMinute / kSecond, "s");
  // 24h, not 1d: the largest dwell the API takes is written "24h".
  if (ms <= kDay) return TwoUnits(ms / kHour, "h", ms % kHour / kMinute, "m");
  return TwoUnits(ms / kDay, "d", ms % kDay / kHour, "h");
}

std::string FormatUtc(int64_t unix_ms) {
  const time_t when = static_cast<time_t>(unix_ms / 1000);
  tm utc{};
  char text[32] = "?";
  if (gmtime_r(&when, &utc) != nullptr)
    std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return text;
}

}  // namespace cutover::proxy::ctl
