// What TLS library the binary runs with, for `cutover version` and startup logs. TLS
// termination itself arrives with the TLS issue; tls/ is the only place including OpenSSL.
#pragma once

#include <string>

namespace cutover::tls {

// The runtime OpenSSL version string, e.g. "OpenSSL 3.0.17 1 Jul 2025".
std::string OpenSslVersion();

}  // namespace cutover::tls
