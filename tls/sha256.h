// SHA-256 for the admin side (state-file checksums, hashed admin tokens). tls/ is the only
// place that includes OpenSSL, so proxy/admin/ hashes through this.
#pragma once

#include <string_view>

namespace cutover::tls {

// Writes the 64 lowercase hex digits of SHA-256(data) into `out` (not NUL-terminated).
void Sha256Hex(std::string_view data, char out[64]);

}  // namespace cutover::tls
