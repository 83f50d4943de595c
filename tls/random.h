// Cryptographically secure random bytes (OpenSSL's RAND_bytes, seeded from the kernel) for
// secrets such as admin tokens made by `cutover ctl hash-token`. tls/ is the only place that
// includes OpenSSL.
#pragma once

#include <cstddef>

namespace cutover::tls {

// Fills `out[0..size)`; false if the generator could not (it never returns weak bytes).
bool RandomBytes(unsigned char* out, std::size_t size);

}  // namespace cutover::tls
