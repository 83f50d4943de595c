#include "tls/sha256.h"

#include <gtest/gtest.h>

#include <string>

namespace cutover::tls {
namespace {

std::string Hex(std::string_view data) {
  char out[64];
  Sha256Hex(data, out);
  return std::string(out, 64);
}

// FIPS 180-2 / NIST CSRC example vectors.
TEST(Sha256, MatchesNistVectors) {
  EXPECT_EQ(Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(Hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  EXPECT_EQ(Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(Sha256, MillionAs) {
  EXPECT_EQ(Hex(std::string(1000000, 'a')),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(Sha256, HashesEmbeddedNulBytes) {
  EXPECT_NE(Hex(std::string_view("a\0b", 3)), Hex("ab"));
}

}  // namespace
}  // namespace cutover::tls
