#include "proxy/affinity_cookies.h"

#include <string_view>

#include "routing/pin.h"
#include "tls/hmac.h"

namespace cutover::proxy {
namespace {

// A pin issued "in the future" by more than this is not ours (or the clock jumped).
constexpr int64_t kClockSkewSeconds = 300;

// RFC 6265 §4.1: the attributes shared by both cookies.
void AppendCookieAttributes(const routing::AffinitySpec& spec, int64_t max_age, std::string* out) {
  out->append("; Path=").append(spec.cookie_path);
  out->append("; Max-Age=").append(std::to_string(max_age));
  if (spec.cookie_secure) out->append("; Secure");
  if (spec.cookie_http_only) out->append("; HttpOnly");
  if (!spec.cookie_same_site.empty()) out->append("; SameSite=").append(spec.cookie_same_site);
  out->append("\r\n");
}

}  // namespace

routing::PinView VerifyPinCookie(const routing::RoutingTable& table,
                                 const routing::RequestView& request, int64_t now_unix) {
  routing::PinView pin;
  const routing::AffinitySpec& spec = table.affinity();
  if (spec.mode != routing::AffinityMode::kPin) return pin;
  bool found = false;
  const std::string_view value = routing::FindCookie(request, spec.pin_cookie, &found);
  routing::PinClaim claim;
  if (!found || !routing::ParsePinCookie(value, &claim)) return pin;
  if (claim.epoch != table.spec().epoch) return pin;
  if (claim.issued_unix > now_unix + kClockSkewSeconds ||
      claim.issued_unix + spec.pin_max_age_seconds <= now_unix) {
    return pin;
  }
  const int pool = table.PoolIndex(claim.pool);
  if (pool < 0) return pin;
  char expected[64];
  tls::HmacSha256Hex(spec.pin_key, claim.signed_part, expected);
  if (!tls::ConstantTimeEquals(std::string_view(expected, 64), claim.signature)) return pin;
  pin.present = true;
  pin.pool = static_cast<uint32_t>(pool);
  return pin;
}

void AppendAffinityCookies(const routing::RoutingTable& table, const routing::Decision& decision,
                           int64_t now_unix, std::string* out) {
  const routing::AffinitySpec& spec = table.affinity();
  if (decision.mint_key) {
    char key[16];
    routing::FormatMintedKey(decision.minted_key, key);
    out->append("Set-Cookie: ").append(spec.cookie).append("=").append(key, sizeof key);
    AppendCookieAttributes(spec, spec.cookie_max_age_seconds, out);
  }
  if (decision.write_pin && decision.pool < table.pools().size()) {
    std::string payload;
    routing::FormatPinPayload(table.pools()[decision.pool].name, table.spec().epoch, now_unix,
                              &payload);
    char signature[64];
    tls::HmacSha256Hex(spec.pin_key, payload, signature);
    out->append("Set-Cookie: ").append(spec.pin_cookie).append("=").append(payload);
    out->append(".").append(signature, sizeof signature);
    AppendCookieAttributes(spec, spec.pin_max_age_seconds, out);
  }
}

}  // namespace cutover::proxy
