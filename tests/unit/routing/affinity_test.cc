#include "routing/affinity.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "routing/ip_address.h"
#include "routing/weighted_split.h"

namespace cutover::routing {
namespace {

// These values are a contract: every proxy in a fleet, across releases, must put a key in
// the same bucket. They were computed independently (a Python FNV-1a + fmix64). If this test
// fails, the change would reshuffle every user on upgrade: do not update the numbers.
TEST(AffinityHash, PinnedKnownValues) {
  EXPECT_EQ(AffinityHash("", ""), 0xb9034ad37056f5fbULL);
  EXPECT_EQ(AffinityHash("change-me", "user-42"), 0x618f16b38a119064ULL);
  EXPECT_EQ(AffinityHash("salt", "0123456789abcdef"), 0x769b6afc0d0da83fULL);
  EXPECT_EQ(AffinityBucket("", ""), 7227u);
  EXPECT_EQ(AffinityBucket("change-me", "user-42"), 3810u);
  EXPECT_EQ(AffinityBucket("salt", "0123456789abcdef"), 4633u);
}

TEST(AffinityHash, SeparatorKeepsSaltAndKeyApart) {
  EXPECT_EQ(AffinityHash("ab", "c"), 0xc87d91e7dc16f99dULL);
  EXPECT_EQ(AffinityHash("a", "bc"), 0xdf52f2b01fb62dc7ULL);
}

TEST(AffinityHash, SeededFormIsTheSameHash) {
  for (const char* salt : {"", "s", "change-me"}) {
    for (const char* key : {"", "k", "user-42", "0123456789abcdef"}) {
      EXPECT_EQ(AffinityHashSeeded(AffinitySeed(salt), key), AffinityHash(salt, key));
    }
  }
}

TEST(AffinityHash, SaltChangesTheBucket) {
  int same = 0;
  for (int i = 0; i < 1000; ++i) {
    const std::string key = "user-" + std::to_string(i);
    if (AffinityBucket("salt-a", key) == AffinityBucket("salt-b", key)) ++same;
  }
  EXPECT_LT(same, 5);  // ~0.1 expected by chance
}

TEST(AffinityHash, KeysDifferingInLastByteSpreadOverTheRange) {
  // Without the finaliser FNV-1a's last byte barely reaches the high bits the bucket uses.
  std::vector<int> per_decile(10, 0);
  for (char c = 'a'; c <= 'z'; ++c) {
    for (char d = '0'; d <= '9'; ++d) {
      per_decile[AffinityBucket("s", std::string("user-") + c + d) / 1000]++;
    }
  }
  for (const int count : per_decile) EXPECT_GT(count, 10);  // 26 expected per decile
}

TEST(FormatMintedKey, SixteenLowercaseHexDigits) {
  char key[16];
  FormatMintedKey(0x0123456789abcdefULL, key);
  EXPECT_EQ(std::string(key, 16), "0123456789abcdef");
  FormatMintedKey(0, key);
  EXPECT_EQ(std::string(key, 16), "0000000000000000");
  FormatMintedKey(~0ULL, key);
  EXPECT_EQ(std::string(key, 16), "ffffffffffffffff");
}

class ExtractAffinityKeyTest : public ::testing::Test {
 protected:
  bool Extract(const std::vector<HeaderView>& headers, std::string_view* key,
               ClientAddress client = ClientAddress{}) {
    request_.headers = headers;
    request_.client = client;
    return ExtractAffinityKey(spec_, request_, scratch_, key);
  }

  AffinitySpec spec_;
  RequestView request_;
  char scratch_[kMaxIpAddressText + 1];
};

TEST_F(ExtractAffinityKeyTest, CookieSourceThenOwnCookie) {
  spec_.source = AffinitySource::kCookie;
  spec_.source_name = "session";
  std::string_view key;
  ASSERT_TRUE(Extract({{"Cookie", "cutover_id=minted; session=s1"}}, &key));
  EXPECT_EQ(key, "s1");
  ASSERT_TRUE(Extract({{"Cookie", "cutover_id=minted"}}, &key));
  EXPECT_EQ(key, "minted");
  EXPECT_FALSE(Extract({{"Cookie", "other=1"}}, &key));
  EXPECT_FALSE(Extract({}, &key));
}

TEST_F(ExtractAffinityKeyTest, EmptyValuesAreNoKey) {
  spec_.source = AffinitySource::kCookie;
  spec_.source_name = "session";
  std::string_view key;
  EXPECT_FALSE(Extract({{"Cookie", "session=; cutover_id="}}, &key));
  ASSERT_TRUE(Extract({{"Cookie", "session=; cutover_id=k"}}, &key));
  EXPECT_EQ(key, "k");
}

TEST_F(ExtractAffinityKeyTest, HeaderSourceIsCaseInsensitive) {
  spec_.source = AffinitySource::kHeader;
  spec_.source_name = "X-User-Id";
  std::string_view key;
  ASSERT_TRUE(Extract({{"x-user-id", "u7"}, {"Cookie", "cutover_id=m"}}, &key));
  EXPECT_EQ(key, "u7");
  ASSERT_TRUE(Extract({{"x-user-id", ""}, {"Cookie", "cutover_id=m"}}, &key));
  EXPECT_EQ(key, "m");
}

TEST_F(ExtractAffinityKeyTest, ClientIpSourceUsesCanonicalText) {
  spec_.source = AffinitySource::kClientIp;
  ClientAddress v6;
  ASSERT_TRUE(ParseIpAddress("2001:DB8:0::1", &v6));
  std::string_view key;
  ASSERT_TRUE(Extract({}, &key, v6));
  EXPECT_EQ(key, "2001:db8::1");
  // The same IPv4 client through a dual-stack listener gets the same key.
  ClientAddress mapped;
  ASSERT_TRUE(ParseIpAddress("::ffff:10.0.0.7", &mapped));
  ASSERT_TRUE(Extract({}, &key, mapped));
  EXPECT_EQ(key, "10.0.0.7");
  // Unknown address: the proxy's own cookie, else nothing.
  EXPECT_FALSE(Extract({}, &key));
  ASSERT_TRUE(Extract({{"Cookie", "cutover_id=m"}}, &key));
  EXPECT_EQ(key, "m");
}

TEST_F(ExtractAffinityKeyTest, NoSourceUsesOwnCookieOnly) {
  std::string_view key;
  ASSERT_TRUE(Extract({{"Cookie", "cutover_id=abc"}}, &key));
  EXPECT_EQ(key, "abc");
  spec_.cookie = "mine";
  EXPECT_FALSE(Extract({{"Cookie", "cutover_id=abc"}}, &key));
}

AffinitySpec ValidHash() {
  AffinitySpec spec;
  spec.mode = AffinityMode::kHash;
  spec.salt = "s";
  return spec;
}

std::string ValidationError(const AffinitySpec& spec) {
  std::string error;
  return ValidateAffinitySpec(spec, &error) ? "" : error;
}

TEST(ValidateAffinitySpec, AcceptsDefaultsAndValidModes) {
  EXPECT_EQ(ValidationError(AffinitySpec{}), "");
  EXPECT_EQ(ValidationError(ValidHash()), "");
  AffinitySpec pin;
  pin.mode = AffinityMode::kPin;
  pin.pin_key = "0123456789abcdef";
  EXPECT_EQ(ValidationError(pin), "");
}

TEST(ValidateAffinitySpec, RejectsEachBadField) {
  AffinitySpec spec = ValidHash();
  spec.salt.clear();
  EXPECT_EQ(ValidationError(spec).rfind("affinity.salt:", 0), 0u);

  spec = ValidHash();
  spec.source = AffinitySource::kCookie;
  EXPECT_EQ(ValidationError(spec).rfind("affinity.source:", 0), 0u);
  spec.source = AffinitySource::kHeader;
  spec.source_name = "X User";
  EXPECT_EQ(ValidationError(spec).rfind("affinity.source:", 0), 0u);
  spec.source_name = "X-User";
  EXPECT_EQ(ValidationError(spec), "");

  spec = ValidHash();
  spec.cookie = "";
  EXPECT_EQ(ValidationError(spec).rfind("affinity.cookie:", 0), 0u);
  spec = ValidHash();
  spec.cookie_path = "app";
  EXPECT_EQ(ValidationError(spec).rfind("affinity.cookie_path:", 0), 0u);
  spec.cookie_path = "/a; Domain=evil";
  EXPECT_EQ(ValidationError(spec).rfind("affinity.cookie_path:", 0), 0u);
  spec = ValidHash();
  spec.cookie_max_age_seconds = 0;
  EXPECT_EQ(ValidationError(spec).rfind("affinity.cookie_max_age:", 0), 0u);

  spec = ValidHash();
  spec.cookie_same_site = "lax";
  EXPECT_EQ(ValidationError(spec),
            "affinity.cookie_same_site: must be Strict, Lax or None, got 'lax'");
  spec.cookie_same_site = "None";
  EXPECT_EQ(ValidationError(spec), "affinity.cookie_same_site: None requires cookie_secure = true");
  spec.cookie_secure = true;
  EXPECT_EQ(ValidationError(spec), "");
  spec.cookie_same_site = "Strict";
  EXPECT_EQ(ValidationError(spec), "");
}

TEST(ValidateAffinitySpec, PinModeNeedsAStrongKeyAndItsOwnCookie) {
  AffinitySpec spec;
  spec.mode = AffinityMode::kPin;
  spec.pin_key = "0123456789abcde";  // 15 bytes
  EXPECT_EQ(ValidationError(spec),
            "affinity.pin_key: pin mode needs a signing key of at least 16 bytes");
  spec.pin_key = "0123456789abcdef";
  spec.pin_cookie = spec.cookie;
  EXPECT_EQ(ValidationError(spec), "affinity.pin_cookie: must differ from affinity.cookie");
  spec.pin_cookie = "bad name";
  EXPECT_EQ(ValidationError(spec).rfind("affinity.pin_cookie:", 0), 0u);
  spec.pin_cookie = "cutover_pin";
  spec.pin_max_age_seconds = 0;
  EXPECT_EQ(ValidationError(spec).rfind("affinity.pin_max_age:", 0), 0u);
  // Pin mode needs no salt (the bucket of a first decision may be unsalted).
  spec.pin_max_age_seconds = 60;
  EXPECT_EQ(ValidationError(spec), "");
}

}  // namespace
}  // namespace cutover::routing
