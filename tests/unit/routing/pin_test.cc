#include "routing/pin.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace cutover::routing {
namespace {

const std::string kSignature(64, 'a');

TEST(ParsePinCookie, SplitsAWellFormedValue) {
  const std::string value = "green.7.1700000000." + kSignature;
  PinClaim claim;
  ASSERT_TRUE(ParsePinCookie(value, &claim));
  EXPECT_EQ(claim.pool, "green");
  EXPECT_EQ(claim.epoch, 7u);
  EXPECT_EQ(claim.issued_unix, 1700000000);
  EXPECT_EQ(claim.signed_part, "green.7.1700000000");
  EXPECT_EQ(claim.signature, kSignature);
}

TEST(ParsePinCookie, PoolNamesMayContainDots) {
  const std::string value = "eu.blue.1.2." + kSignature;  // the claim views into it
  PinClaim claim;
  ASSERT_TRUE(ParsePinCookie(value, &claim));
  EXPECT_EQ(claim.pool, "eu.blue");
  EXPECT_EQ(claim.epoch, 1u);
  EXPECT_EQ(claim.issued_unix, 2);
  EXPECT_EQ(claim.signed_part, "eu.blue.1.2");
}

TEST(ParsePinCookie, RoundTripsWithFormatPinPayload) {
  std::string payload;
  FormatPinPayload("blue", 18446744073709551615ULL, 1735689600, &payload);
  EXPECT_EQ(payload, "blue.18446744073709551615.1735689600");
  const std::string value = payload + "." + kSignature;
  PinClaim claim;
  ASSERT_TRUE(ParsePinCookie(value, &claim));
  EXPECT_EQ(claim.pool, "blue");
  EXPECT_EQ(claim.epoch, 18446744073709551615ULL);
  EXPECT_EQ(claim.issued_unix, 1735689600);
  EXPECT_EQ(claim.signed_part, payload);
  FormatPinPayload("g", 1, -5, &payload);  // overwrites, does not append
  EXPECT_EQ(payload, "g.1.-5");
  ASSERT_TRUE(ParsePinCookie(payload + "." + kSignature, &claim));
  EXPECT_EQ(claim.issued_unix, -5);
}

TEST(ParsePinCookie, RejectsMalformedValues) {
  const std::string hex63(63, 'a');
  const std::string upper(64, 'A');
  PinClaim claim;
  for (const std::string& value : std::vector<std::string>{
           "",
           kSignature,                                   // one field
           "1.2." + kSignature,                          // three fields (no pool)
           ".1.2." + kSignature,                         // empty pool
           "blue..2." + kSignature,                      // empty epoch
           "blue.1.." + kSignature,                      // empty issued
           "blue.1.2." + hex63,                          // short signature
           "blue.1.2." + kSignature + "a",               // long signature
           "blue.1.2." + upper,                          // uppercase hex
           "blue.1.2." + std::string(63, 'a') + "g",     // not hex
           "blue.x.2." + kSignature,                     // non-numeric epoch
           "blue.-1.2." + kSignature,                    // negative epoch
           "blue.+1.2." + kSignature,                    // signed epoch
           "blue.1.+2." + kSignature,                    // signed issued
           "blue.1.2x." + kSignature,                    // trailing junk
           "blue. 1.2." + kSignature,                    // space
           "blue.18446744073709551616.2." + kSignature,  // epoch overflow
           "blue.1.9223372036854775808." + kSignature,   // issued overflow
           "blue.1.2.",                                  // empty signature
       }) {
    EXPECT_FALSE(ParsePinCookie(value, &claim)) << value;
  }
}

TEST(ParsePinCookie, LeavesClaimUntouchedOnFailure) {
  PinClaim claim;
  claim.epoch = 99;
  EXPECT_FALSE(ParsePinCookie("blue.1.2.zz", &claim));
  EXPECT_EQ(claim.epoch, 99u);
}

}  // namespace
}  // namespace cutover::routing
