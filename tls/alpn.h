// ALPN protocol lists (RFC 7301) in their wire form: each name preceded by its length in one
// byte (§3.1). Pure functions, any thread.
#pragma once

#include <string>
#include <vector>

namespace cutover::tls {

// Encodes `names` into `wire`; false with `error` if a name is empty or longer than 255 bytes.
bool EncodeAlpnProtocols(const std::vector<std::string>& names, std::string* wire,
                         std::string* error);

}  // namespace cutover::tls
