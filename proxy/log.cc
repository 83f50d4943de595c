#include "proxy/log.h"

#include <unistd.h>

#include <cstdio>
#include <ctime>

namespace cutover::proxy {
namespace {

std::atomic<int> g_level{static_cast<int>(LogLevel::kInfo)};

const char* LevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kError:
      return "error";
    case LogLevel::kWarn:
      return "warn";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kDebug:
      return "debug";
  }
  return "?";
}

}  // namespace

bool ParseLogLevel(std::string_view name, LogLevel* level) {
  for (LogLevel l : {LogLevel::kError, LogLevel::kWarn, LogLevel::kInfo, LogLevel::kDebug}) {
    if (name == LevelName(l)) {
      *level = l;
      return true;
    }
  }
  return false;
}

void SetLogLevel(LogLevel level) {
  g_level.store(static_cast<int>(level));
}

bool LogEnabled(LogLevel level) {
  return static_cast<int>(level) <= g_level.load(std::memory_order_relaxed);
}

void Log(LogLevel level, const char* format, ...) {
  if (!LogEnabled(level)) return;
  char line[1024];
  timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  tm utc;
  gmtime_r(&now.tv_sec, &utc);
  int n = static_cast<int>(strftime(line, sizeof line, "%Y-%m-%dT%H:%M:%S", &utc));
  n += std::snprintf(line + n, sizeof line - static_cast<std::size_t>(n), ".%03ldZ %s ",
                     now.tv_nsec / 1000000, LevelName(level));
  va_list args;
  va_start(args, format);
  const int body =
      std::vsnprintf(line + n, sizeof line - static_cast<std::size_t>(n), format, args);
  va_end(args);
  n = body < 0 ? n : std::min<int>(n + body, static_cast<int>(sizeof line) - 2);
  line[n++] = '\n';
  // One write(2) per line keeps lines from different threads whole.
  (void)!write(STDERR_FILENO, line, static_cast<std::size_t>(n));
}

}  // namespace cutover::proxy
