#include "tls/hmac.h"

#include <gtest/gtest.h>

#include <string>

namespace cutover::tls {
namespace {

// RFC 4231 test case 2.
TEST(Hmac, MatchesRfc4231Vector) {
  char out[64];
  HmacSha256Hex("Jefe", "what do ya want for nothing?", out);
  EXPECT_EQ(std::string(out, 64),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(Hmac, ConstantTimeEqualsComparesWholeValue) {
  EXPECT_TRUE(ConstantTimeEquals("abc", "abc"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "abd"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "abcd"));
  EXPECT_TRUE(ConstantTimeEquals("", ""));
}

}  // namespace
}  // namespace cutover::tls
