// The pin cookie of affinity mode `pin`: "<pool>.<epoch>.<issued_unix>.<signature>", where
// signature = hex(HMAC-SHA256(key, "<pool>.<epoch>.<issued_unix>")). routing/ builds and
// parses the text; the HMAC itself is computed by the caller (tls/ owns the crypto), so this
// stays pure.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace cutover::routing {

struct PinClaim {
  std::string_view pool;
  uint64_t epoch = 0;
  int64_t issued_unix = 0;
  std::string_view signed_part;  // what the signature covers
  std::string_view signature;    // 64 lowercase hex digits
};

// Splits a cookie value (the claim views into it); false if malformed (wrong field count,
// non-numeric, bad length). Fields are taken from the right, so pool names may contain dots.
bool ParsePinCookie(std::string_view value, PinClaim* claim);
// Writes "<pool>.<epoch>.<issued_unix>" (the part to sign) into *out.
void FormatPinPayload(std::string_view pool, uint64_t epoch, int64_t issued_unix, std::string* out);

}  // namespace cutover::routing
