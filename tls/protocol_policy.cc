#include "tls/protocol_policy.h"

#include <openssl/ssl.h>

#include "tls/openssl_error.h"

namespace cutover::tls {

bool ParseTlsVersion(std::string_view text, TlsVersion* version) {
  if (text == "1.2") {
    *version = TlsVersion::k1_2;
    return true;
  }
  if (text == "1.3") {
    *version = TlsVersion::k1_3;
    return true;
  }
  return false;
}

bool ApplyProtocolPolicy(SSL_CTX* ctx, TlsVersion min_version, std::string* error) {
  ClearOpenSslErrors();
  const int min = min_version == TlsVersion::k1_3 ? TLS1_3_VERSION : TLS1_2_VERSION;
  if (SSL_CTX_set_min_proto_version(ctx, min) != 1 ||
      SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION) != 1) {
    *error = "protocol versions: " + TakeOpenSslError();
    return false;
  }
  // Level 2: RSA and DH keys of at least 2048 bits, no SHA-1 signatures, no TLS below 1.2 even
  // if a version setting were ever loosened.
  SSL_CTX_set_security_level(ctx, 2);
  SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
  SSL_CTX_clear_options(ctx, SSL_OP_NO_TICKET);
  SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
  // ECDH parameters are chosen automatically since OpenSSL 1.1.0 (SSL_CTX_set_ecdh_auto is a
  // no-op there); what is left to choose is the list of groups.
  if (SSL_CTX_set1_groups_list(ctx, kDefaultGroups) != 1) {
    *error = "key exchange groups: " + TakeOpenSslError();
    return false;
  }
  return true;
}

}  // namespace cutover::tls
