// HMAC-SHA256 for signed cookies (affinity pins). tls/ is the only place that includes
// OpenSSL; routing/ builds and parses the cookie text and stays pure.
#pragma once

#include <string_view>

namespace cutover::tls {

// Writes the 64 lowercase hex digits of HMAC-SHA256(key, data) into `out`.
void HmacSha256Hex(std::string_view key, std::string_view data, char out[64]);

// Compares in time independent of where the inputs differ (no early exit), so a forged
// signature cannot be guessed byte by byte from response timing.
bool ConstantTimeEquals(std::string_view a, std::string_view b);

}  // namespace cutover::tls
