#include "proxy/ctl/session.h"

#include <gtest/gtest.h>

namespace cutover::proxy::ctl {
namespace {

using nlohmann::json;

TEST(ErrorLine, StatusErrorAndField) {
  EXPECT_EQ(ErrorLine(400, json::parse(R"({"error": "unknown pool 'x'", "field": "x"})")),
            "cutover ctl: 400 unknown pool 'x' (field: x)");
  EXPECT_EQ(
      ErrorLine(409, json::parse(R"({"error": "stale If-Match", "field": "", "version": 8})")),
      "cutover ctl: 409 stale If-Match");
  EXPECT_EQ(ErrorLine(502, json()), "cutover ctl: 502 (no error message in the answer)");
  EXPECT_EQ(ErrorLine(404, json::parse("[1]")),
            "cutover ctl: 404 (no error message in the answer)");
}

TEST(PathSegment, EncodesAllButUnreserved) {
  EXPECT_EQ(PathSegment("beta-testers_2.x~"), "beta-testers_2.x~");
  EXPECT_EQ(PathSegment("a/b c?d#%"), "a%2Fb%20c%3Fd%23%25");
  EXPECT_EQ(PathSegment(".."), "..");  // the server refuses it as a name; nothing to hide
}

}  // namespace
}  // namespace cutover::proxy::ctl
