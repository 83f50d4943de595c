#include "proxy/ctl/exit_code.h"

#include <gtest/gtest.h>

#include <string>

namespace cutover::proxy::ctl {
namespace {

TEST(ExitCodeForStatus, FollowsTheDocumentedTable) {
  EXPECT_EQ(ExitCodeForStatus(200), ExitCode::kOk);
  EXPECT_EQ(ExitCodeForStatus(201), ExitCode::kOk);
  for (int status : {400, 404, 405, 413, 422}) {
    EXPECT_EQ(ExitCodeForStatus(status), ExitCode::kRefused) << status;
  }
  EXPECT_EQ(ExitCodeForStatus(409), ExitCode::kConflict);
  EXPECT_EQ(ExitCodeForStatus(401), ExitCode::kUnauthorised);
  EXPECT_EQ(ExitCodeForStatus(403), ExitCode::kUnauthorised);
  EXPECT_EQ(ExitCodeForStatus(500), ExitCode::kServerError);
  EXPECT_EQ(ExitCodeForStatus(503), ExitCode::kServerError);
  for (int status : {0, 100, 101, 301, 304, 600}) {
    EXPECT_EQ(ExitCodeForStatus(status), ExitCode::kUnreachable) << status;
  }
}

TEST(ExitCodeHelp, ListsEveryCode) {
  const std::string help(ExitCodeHelp());
  for (int code = 0; code <= 6; ++code) {
    EXPECT_NE(help.find("  " + std::to_string(code) + "  "), std::string::npos) << code;
  }
}

}  // namespace
}  // namespace cutover::proxy::ctl
