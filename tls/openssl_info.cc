#include "tls/openssl_info.h"

#include <openssl/crypto.h>

namespace cutover::tls {

std::string OpenSslVersion() {
  return OpenSSL_version(OPENSSL_VERSION);
}

}  // namespace cutover::tls
