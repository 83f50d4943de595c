#include "proxy/duration.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <string_view>

namespace cutover::proxy {
namespace {

using std::chrono::milliseconds;

TEST(ParseDuration, AcceptsEveryUnit) {
  EXPECT_EQ(ParseDuration("250ms"), milliseconds(250));
  EXPECT_EQ(ParseDuration("10s"), milliseconds(10'000));
  EXPECT_EQ(ParseDuration("5m"), milliseconds(300'000));
  EXPECT_EQ(ParseDuration("1h"), milliseconds(3'600'000));
}

TEST(ParseDuration, AcceptsZeroAndLeadingZeros) {
  // Zero is the caller's rule (timeouts reject it), not a syntax error.
  EXPECT_EQ(ParseDuration("0s"), milliseconds(0));
  EXPECT_EQ(ParseDuration("0ms"), milliseconds(0));
  EXPECT_EQ(ParseDuration("007s"), milliseconds(7'000));
}

TEST(ParseDuration, RejectsEmptyAndMissingParts) {
  for (std::string_view text : {"", "s", "ms", "10", "0"}) {
    EXPECT_EQ(ParseDuration(text), std::nullopt) << '"' << text << '"';
  }
}

TEST(ParseDuration, RejectsSignsFractionsAndSpaces) {
  for (std::string_view text : {"-5s", "+5s", "1.5s", ".5s", " 5s", "5s ", "5 s", "5_000ms"}) {
    EXPECT_EQ(ParseDuration(text), std::nullopt) << '"' << text << '"';
  }
}

TEST(ParseDuration, RejectsUnknownUnitsAndJunk) {
  for (std::string_view text :
       {"5x", "5S", "5MS", "5sec", "5min", "5d", "5us", "5ns", "5mss", "5s5", "1h30m", "ten s"}) {
    EXPECT_EQ(ParseDuration(text), std::nullopt) << '"' << text << '"';
  }
  EXPECT_EQ(ParseDuration(std::string_view("5s\0", 3)), std::nullopt);
}

TEST(ParseDuration, LargestValuesThatFit) {
  EXPECT_EQ(ParseDuration("9223372036854775807ms"), milliseconds(INT64_MAX));
  EXPECT_EQ(ParseDuration("2562047788015h"), milliseconds(2562047788015 * 3'600'000));
}

TEST(ParseDuration, RejectsOverflow) {
  EXPECT_EQ(ParseDuration("9223372036854775808ms"), std::nullopt);  // INT64_MAX + 1
  EXPECT_EQ(ParseDuration("99999999999999999999999999ms"), std::nullopt);
  EXPECT_EQ(ParseDuration("9223372036854776s"), std::nullopt);  // fits as a count, not as ms
  EXPECT_EQ(ParseDuration("2562047788016h"), std::nullopt);
}

}  // namespace
}  // namespace cutover::proxy
