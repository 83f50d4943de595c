#include "routing/affinity.h"

#include "routing/ip_address.h"
#include "routing/weighted_split.h"

namespace cutover::routing {
namespace {

// FNV-1a 64 (http://www.isthe.com/chongo/tech/comp/fnv/) parameters.
constexpr uint64_t kFnvOffsetBasis = 0xcbf29ce484222325ULL;
constexpr uint64_t kFnvPrime = 0x100000001b3ULL;
// The pin HMAC key must not be guessable: 16 bytes is 128 bits if it is random.
constexpr std::size_t kMinPinKeyBytes = 16;

constexpr uint64_t FnvAppend(uint64_t hash, std::string_view bytes) {
  for (const char c : bytes) {
    hash ^= static_cast<uint8_t>(c);
    hash *= kFnvPrime;
  }
  return hash;
}

// MurmurHash3's fmix64 finaliser: FNV-1a alone mixes its last bytes poorly into the high
// bits, and the bucket is taken from the high bits (BucketFromRandom), so keys differing only
// in their last character would cluster without it.
constexpr uint64_t Fmix64(uint64_t k) {
  k ^= k >> 33;
  k *= 0xff51afd7ed558ccdULL;
  k ^= k >> 33;
  k *= 0xc4ceb9fe1a85ec53ULL;
  k ^= k >> 33;
  return k;
}

// Attribute values end at ';' and must not smuggle another attribute or header line
// (RFC 6265 §4.1.1 path-value: any CHAR except CTLs or ';').
bool IsCookieAttributeValue(std::string_view text) {
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte == 0x7f || c == ';') return false;
  }
  return true;
}

bool Fail(std::string* error, std::string message) {
  *error = std::move(message);
  return false;
}

}  // namespace

bool ExtractAffinityKey(const AffinitySpec& spec, const RequestView& request, char* scratch,
                        std::string_view* key) {
  const CookieJar cookies(request);
  return ExtractAffinityKey(spec, request, cookies, scratch, key);
}

bool ExtractAffinityKey(const AffinitySpec& spec, const RequestView& request,
                        const CookieJar& cookies, char* scratch, std::string_view* key) {
  bool found = false;
  std::string_view value;
  switch (spec.source) {
    case AffinitySource::kCookie:
      value = cookies.Find(spec.source_name, &found);
      break;
    case AffinitySource::kHeader:
      value = FindHeader(request, spec.source_name, &found);
      break;
    case AffinitySource::kClientIp: {
      // A dual-stack listener reports IPv4 peers as ::ffff:a.b.c.d; unmapping keeps one
      // client's key (and so its pool) the same whichever listener it came through.
      const std::size_t length = FormatIpAddress(UnmapIpv4(request.client), scratch);
      value = std::string_view(scratch, length);
      found = length > 0;
      break;
    }
    case AffinitySource::kNone:
      break;
  }
  // An empty value would put every such request into one bucket; treat it as no key.
  if (found && !value.empty()) {
    *key = value;
    return true;
  }
  value = cookies.Find(spec.cookie, &found);
  if (found && !value.empty()) {
    *key = value;
    return true;
  }
  return false;
}

uint64_t AffinitySeed(std::string_view salt) {
  // One 0x00 byte between salt and key keeps ("ab", "c") and ("a", "bc") apart.
  return FnvAppend(FnvAppend(kFnvOffsetBasis, salt), std::string_view("\0", 1));
}

uint64_t AffinityHashSeeded(uint64_t seed, std::string_view key) {
  return Fmix64(FnvAppend(seed, key));
}

uint64_t AffinityHash(std::string_view salt, std::string_view key) {
  return AffinityHashSeeded(AffinitySeed(salt), key);
}

uint32_t AffinityBucket(std::string_view salt, std::string_view key) {
  return BucketFromRandom(AffinityHash(salt, key));
}

void FormatMintedKey(uint64_t random, char out[16]) {
  constexpr char kDigits[] = "0123456789abcdef";
  for (int i = 0; i < 16; ++i) out[i] = kDigits[random >> (60 - 4 * i) & 0xf];
}

bool ValidateAffinitySpec(const AffinitySpec& spec, std::string* error) {
  if (spec.mode == AffinityMode::kHash && spec.salt.empty()) {
    return Fail(error,
                "affinity.salt: required in hash mode (it keeps one deployment's split "
                "independent of another's)");
  }
  if (spec.source == AffinitySource::kCookie && !IsHttpToken(spec.source_name)) {
    return Fail(error,
                "affinity.source: a cookie source needs a cookie name (an HTTP token), got '" +
                    spec.source_name + "'");
  }
  if (spec.source == AffinitySource::kHeader && !IsHttpToken(spec.source_name)) {
    return Fail(error,
                "affinity.source: a header source needs a header name (an HTTP token), got '" +
                    spec.source_name + "'");
  }
  if (!IsHttpToken(spec.cookie)) {
    return Fail(
        error, "affinity.cookie: must be a cookie name (an HTTP token), got '" + spec.cookie + "'");
  }
  if (!spec.cookie_path.starts_with('/') || !IsCookieAttributeValue(spec.cookie_path)) {
    return Fail(error,
                "affinity.cookie_path: must start with '/' and contain no ';' or control "
                "characters");
  }
  if (spec.cookie_max_age_seconds <= 0) {
    return Fail(error, "affinity.cookie_max_age: must be positive");
  }
  if (spec.cookie_same_site != "Strict" && spec.cookie_same_site != "Lax" &&
      spec.cookie_same_site != "None") {
    return Fail(error, "affinity.cookie_same_site: must be Strict, Lax or None, got '" +
                           spec.cookie_same_site + "'");
  }
  // Browsers drop a SameSite=None cookie that is not Secure (RFC 6265bis §5.6.7.2), so the
  // key would be minted again on every request.
  if (spec.cookie_same_site == "None" && !spec.cookie_secure) {
    return Fail(error, "affinity.cookie_same_site: None requires cookie_secure = true");
  }
  if (spec.mode != AffinityMode::kPin) return true;
  if (!IsHttpToken(spec.pin_cookie)) {
    return Fail(error, "affinity.pin_cookie: must be a cookie name (an HTTP token), got '" +
                           spec.pin_cookie + "'");
  }
  if (spec.pin_cookie == spec.cookie) {
    return Fail(error, "affinity.pin_cookie: must differ from affinity.cookie");
  }
  if (spec.pin_max_age_seconds <= 0) {
    return Fail(error, "affinity.pin_max_age: must be positive");
  }
  if (spec.pin_key.size() < kMinPinKeyBytes) {
    return Fail(error, "affinity.pin_key: pin mode needs a signing key of at least " +
                           std::to_string(kMinPinKeyBytes) + " bytes");
  }
  return true;
}

}  // namespace cutover::routing
