#include "tls/random.h"

#include <openssl/rand.h>

#include <climits>

namespace cutover::tls {

bool RandomBytes(unsigned char* out, std::size_t size) {
  if (size > static_cast<std::size_t>(INT_MAX)) return false;
  return RAND_bytes(out, static_cast<int>(size)) == 1;
}

}  // namespace cutover::tls
