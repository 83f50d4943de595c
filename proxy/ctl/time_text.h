// How `cutover ctl` writes times and durations for people: durations in the config file's
// units ("45s", "2m", "1h30m"), so what an operator typed after --every reads back the same,
// and instants as UTC ("2026-11-25T20:20:20Z"), as the audit log writes them.
#pragma once

#include <cstdint>
#include <string>

namespace cutover::proxy::ctl {

// 250 -> "250ms", 45'000 -> "45s", 120'000 -> "2m", 90'000 -> "1m30s", 5'400'000 -> "1h30m",
// 93'600'000 -> "1d2h". Below a second in milliseconds; from there down to whole seconds
// (truncated), dropping seconds from an hour up and minutes from a day up, since a countdown
// or an age that long needs no finer grain. Negative counts as 0.
std::string FormatDuration(int64_t milliseconds);

// Unix milliseconds as "2026-11-25T20:20:20Z" (UTC, whole seconds).
std::string FormatUtc(int64_t unix_ms);

}  // namespace cutover::proxy::ctl
