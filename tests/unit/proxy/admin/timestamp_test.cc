#include "proxy/admin/timestamp.h"

#include <gtest/gtest.h>

namespace cutover::proxy::admin {
namespace {

TEST(Timestamp, FormatsEpochAndMillis) {
  EXPECT_EQ(FormatRfc3339Millis(0), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(FormatRfc3339Millis(1), "1970-01-01T00:00:00.001Z");
  // 2024-02-29T23:59:59.123Z: a leap day, checked against `date -u -d @1709251199`.
  EXPECT_EQ(FormatRfc3339Millis(1709251199123), "2024-02-29T23:59:59.123Z");
  EXPECT_EQ(FormatRfc3339Millis(1709251200000), "2024-03-01T00:00:00.000Z");
}

TEST(Timestamp, BeforeEpochRoundsTowardsThePast) {
  EXPECT_EQ(FormatRfc3339Millis(-1), "1969-12-31T23:59:59.999Z");
}

TEST(Timestamp, NowIsAfter2020) {
  EXPECT_GT(UnixMillisNow(), 1577836800000);
}

}  // namespace
}  // namespace cutover::proxy::admin
