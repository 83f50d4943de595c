#include "proxy/admin/timestamp.h"

#include <chrono>
#include <cstdio>

namespace cutover::proxy::admin {

std::string FormatRfc3339Millis(int64_t unix_ms) {
  using namespace std::chrono;
  // floor, not truncation: -1 ms is 1969-12-31T23:59:59.999Z, not 1970-01-01T00:00:00.-01.
  const sys_time<milliseconds> time{milliseconds(unix_ms)};
  const sys_days day = floor<days>(time);
  const year_month_day date{day};
  const hh_mm_ss<milliseconds> clock{time - day};
  char out[40];
  std::snprintf(
      out, sizeof(out), "%04d-%02u-%02uT%02d:%02d:%02d.%03dZ", static_cast<int>(date.year()),
      static_cast<unsigned>(date.month()), static_cast<unsigned>(date.day()),
      static_cast<int>(clock.hours().count()), static_cast<int>(clock.minutes().count()),
      static_cast<int>(clock.seconds().count()), static_cast<int>(clock.subseconds().count()));
  return out;
}

int64_t UnixMillisNow() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

}  // namespace cutover::proxy::admin
