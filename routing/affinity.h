// Sticky affinity (DESIGN §4). Mode `hash`: the affinity key is hashed with a salt into a
// bucket in [0, 10000); pools own contiguous bucket ranges, so the same key lands on the
// same pool in every process with the same salt and weights, a ramp only moves keys into
// the growing pool, and weight 0 empties a pool. Mode `pin`: the first decision is written
// into a signed cookie and followed afterwards whatever the weights do.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "routing/request_view.h"

namespace cutover::routing {

enum class AffinityMode : uint8_t { kNone, kHash, kPin };
enum class AffinitySource : uint8_t { kNone, kCookie, kHeader, kClientIp };

struct AffinitySpec {
  AffinityMode mode = AffinityMode::kNone;  // kNone: a fresh random split per request
  AffinitySource source = AffinitySource::kNone;
  std::string source_name;            // cookie or header name for kCookie / kHeader
  std::string cookie = "cutover_id";  // the proxy's own key cookie, minted when needed
  std::string cookie_path = "/";
  int64_t cookie_max_age_seconds = 30 * 24 * 3600;
  bool cookie_secure = false;
  bool cookie_http_only = true;
  std::string cookie_same_site = "Lax";  // "Strict" | "Lax" | "None"
  std::string salt;
  // Pin mode: the signed pin cookie, its lifetime, and the HMAC key (never logged).
  std::string pin_cookie = "cutover_pin";
  int64_t pin_max_age_seconds = 24 * 3600;
  std::string pin_key;
};

// The key a request carries: the configured source first, then the proxy's own cookie.
// Returns false when it carries none (the caller then mints one). For kClientIp the key is
// the address text, written into `scratch` (at least 46 bytes).
bool ExtractAffinityKey(const AffinitySpec& spec, const RequestView& request, char* scratch,
                        std::string_view* key);
// The same, looking cookies up in a jar shared with the rules of the same decision.
bool ExtractAffinityKey(const AffinitySpec& spec, const RequestView& request,
                        const CookieJar& cookies, char* scratch, std::string_view* key);

// Deterministic across processes and platforms: FNV-1a over salt, a separator and key,
// finished with a 64-bit mixer; then mapped onto [0, 10000).
uint64_t AffinityHash(std::string_view salt, std::string_view key);
uint32_t AffinityBucket(std::string_view salt, std::string_view key);
// The same hash in two steps, so a table hashes its salt once, not per request:
// AffinityHashSeeded(AffinitySeed(salt), key) == AffinityHash(salt, key).
uint64_t AffinitySeed(std::string_view salt);
uint64_t AffinityHashSeeded(uint64_t seed, std::string_view key);

// Minted keys are 16 lowercase hex digits of a random 64-bit value.
inline constexpr std::size_t kMintedKeyLength = 16;
void FormatMintedKey(uint64_t random, char out[16]);

// Checks `spec` completely (salt, source name, cookie attributes, pin key); on failure
// returns false and names the offending field ("affinity.salt: ...") in *error.
bool ValidateAffinitySpec(const AffinitySpec& spec, std::string* error);

}  // namespace cutover::routing
