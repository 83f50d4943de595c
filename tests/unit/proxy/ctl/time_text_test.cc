#include "proxy/ctl/time_text.h"

#include <gtest/gtest.h>

namespace cutover::proxy::ctl {
namespace {

TEST(FormatDuration, ConfigUnitsFromMillisecondsToDays) {
  EXPECT_EQ(FormatDuration(0), "0ms");
  EXPECT_EQ(FormatDuration(250), "250ms");
  EXPECT_EQ(FormatDuration(1'000), "1s");
  EXPECT_EQ(FormatDuration(45'000), "45s");
  EXPECT_EQ(FormatDuration(45'999), "45s");  // truncated: a countdown never shows more than is left
  EXPECT_EQ(FormatDuration(120'000), "2m");
  EXPECT_EQ(FormatDuration(90'000), "1m30s");
  EXPECT_EQ(FormatDuration(3'600'000), "1h");
  EXPECT_EQ(FormatDuration(5'400'000), "1h30m");
  EXPECT_EQ(FormatDuration(5'430'000), "1h30m");     // no seconds from an hour up
  EXPECT_EQ(FormatDuration(24 * 3'600'000), "24h");  // the longest dwell, as it is typed
  EXPECT_EQ(FormatDuration(26 * 3'600'000), "1d2h");
  EXPECT_EQ(FormatDuration(48 * 3'600'000), "2d");
}

TEST(FormatDuration, NegativeIsZero) {
  // A clock a little behind the server's must not print "-3s left".
  EXPECT_EQ(FormatDuration(-3'000), "0ms");
}

TEST(FormatUtc, WholeSecondsInUtc) {
  EXPECT_EQ(FormatUtc(1'764'102'020'999), "2025-11-25T20:20:20Z");
  EXPECT_EQ(FormatUtc(0), "1970-01-01T00:00:00Z");
}

}  // namespace
}  // namespace cutover::proxy::ctl
