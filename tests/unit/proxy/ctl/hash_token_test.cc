#include "proxy/ctl/hash_token.h"

#include <gtest/gtest.h>

namespace cutover::proxy::ctl {
namespace {

TEST(TokenHash, IsSha256Hex) {
  // FIPS 180-2 test vector, and the example in docs/admin-api.md ("test").
  EXPECT_EQ(TokenHash("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(TokenHash("test"), "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08");
}

TEST(GenerateToken, SixtyFourHexDigitsEachTimeDifferent) {
  const auto first = GenerateToken();
  const auto second = GenerateToken();
  ASSERT_TRUE(first && second);
  EXPECT_EQ(first->size(), 64u);
  EXPECT_EQ(first->find_first_not_of("0123456789abcdef"), std::string::npos) << *first;
  EXPECT_NE(*first, *second);
}

TEST(TokenStanza, ReadyToPaste) {
  EXPECT_EQ(TokenStanza("ci-bot", "operator", "abcd"),
            "[[token]]\nname = \"ci-bot\"\nrole = \"operator\"\nsha256 = \"abcd\"\n");
  EXPECT_EQ(TokenStanza("a\"b\\c\nd", "viewer", "x"),
            "[[token]]\nname = \"a\\\"b\\\\c\\u000ad\"\nrole = \"viewer\"\nsha256 = \"x\"\n");
}

TEST(FirstLine, DropsTheLineEnding) {
  EXPECT_EQ(FirstLine("tok\n"), "tok");
  EXPECT_EQ(FirstLine("tok\r\nmore\n"), "tok");
  EXPECT_EQ(FirstLine("tok"), "tok");
  EXPECT_EQ(FirstLine(""), "");
  EXPECT_EQ(FirstLine("\nsecond"), "");
}

}  // namespace
}  // namespace cutover::proxy::ctl
