#include "tls/sha256.h"

#include <openssl/evp.h>

namespace cutover::tls {

void Sha256Hex(std::string_view data, char out[64]) {
  static constexpr char kHex[] = "0123456789abcdef";
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  // EVP_Digest is the one-shot interface; SHA256() is deprecated in OpenSSL 3.
  EVP_Digest(data.data(), data.size(), digest, &length, EVP_sha256(), nullptr);
  for (unsigned int i = 0; i < 32; ++i) {
    out[2 * i] = kHex[digest[i] >> 4];
    out[2 * i + 1] = kHex[digest[i] & 0xf];
  }
}

}  // namespace cutover::tls
