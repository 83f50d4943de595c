// RFC 3339 UTC timestamps with milliseconds for the state file and the audit log. The time is
// a parameter (never read here) so entries are reproducible in tests. Pure; any thread.
#pragma once

#include <cstdint>
#include <string>

namespace cutover::proxy::admin {

// "2024-02-29T23:59:59.123Z" (RFC 3339 §5.6, always UTC, always three fraction digits, so the
// strings sort in time order). Times before 1970 round towards the past.
std::string FormatRfc3339Millis(int64_t unix_ms);

// Milliseconds since the Unix epoch from the system clock, for callers that record "now".
int64_t UnixMillisNow();

}  // namespace cutover::proxy::admin
