// Durations as written in the config file (DESIGN §10): an integer and a unit, "250ms", "10s",
// "5m", "1h". Deliberately narrower than Go's or systemd's syntax: one number, one unit, no
// fractions, no sign, no spaces, so a typo is an error instead of a surprising value.
#pragma once

#include <chrono>
#include <optional>
#include <string_view>

namespace cutover::proxy {

// Returns the duration, or nullopt when `text` is empty, negative, fractional, has no or an
// unknown unit ("ms", "s", "m", "h"; lower case only), has any other character, or does not
// fit in std::chrono::milliseconds. "0s" parses; whether zero is allowed is the caller's rule.
std::optional<std::chrono::milliseconds> ParseDuration(std::string_view text);

}  // namespace cutover::proxy
