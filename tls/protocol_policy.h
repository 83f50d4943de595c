// What every SSL_CTX cutover makes enforces, server and client alike (DESIGN §7): TLS 1.2 or
// 1.3 only, no compression (CRIME), no renegotiation (RFC 5746 attacks, and a client-driven
// CPU cost on the server), tickets allowed, OpenSSL's buffers released while a connection is
// idle (DESIGN §8), security level 2 whatever the distribution's openssl.cnf says. Called
// while a context is built, on whichever thread loads the config.
#pragma once

#include <openssl/types.h>

#include <string>
#include <string_view>

namespace cutover::tls {

// The lowest protocol version a context accepts; the highest is always TLS 1.3.
enum class TlsVersion { k1_2, k1_3 };

// "1.2" or "1.3" (the config's min_version); false for anything else.
bool ParseTlsVersion(std::string_view text, TlsVersion* version);

// Key exchange groups offered and accepted, most preferred first (Mozilla "intermediate").
inline constexpr const char* kDefaultGroups = "X25519:P-256:P-384";

// Applies the policy above to `ctx`; false with `error` set if OpenSSL refuses a setting.
bool ApplyProtocolPolicy(SSL_CTX* ctx, TlsVersion min_version, std::string* error);

}  // namespace cutover::tls
