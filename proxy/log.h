// Error and event logging to stderr: one line each, with a UTC timestamp, a level, and the
// connection it concerns. Cheap when the level is off (one relaxed load).
#pragma once

#include <atomic>
#include <cstdarg>
#include <string_view>

namespace cutover::proxy {

enum class LogLevel : int { kError = 0, kWarn = 1, kInfo = 2, kDebug = 3 };

// Parses "error" | "warn" | "info" | "debug"; false if unknown.
bool ParseLogLevel(std::string_view name, LogLevel* level);
void SetLogLevel(LogLevel level);
bool LogEnabled(LogLevel level);

// printf-style; a newline is added.
void Log(LogLevel level, const char* format, ...) __attribute__((format(printf, 2, 3)));

}  // namespace cutover::proxy
