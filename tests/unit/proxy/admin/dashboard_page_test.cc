#include "proxy/admin/dashboard_page.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

namespace cutover::proxy::admin {
namespace {

std::string SourcePage() {
  const std::filesystem::path path =
      std::filesystem::path(CUTOVER_SOURCE_DIR) / "proxy/admin/dashboard.html";
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in) << path;
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

TEST(DashboardHtml, IsTheSourceFileByteForByte) {
  const std::string source = SourcePage();
  ASSERT_FALSE(source.empty());
  EXPECT_EQ(DashboardHtml(), source);
}

TEST(DashboardHtml, IsOneHtmlDocument) {
  const std::string_view page = DashboardHtml();
  EXPECT_TRUE(page.starts_with("<!doctype html>")) << page.substr(0, 40);
  EXPECT_NE(page.find("</html>"), std::string_view::npos);
  EXPECT_EQ(page.find('\0'), std::string_view::npos);
}

// The Content-Security-Policy would block them anyway; the page must not even try.
TEST(DashboardHtml, NamesNoOtherSite) {
  const std::string_view page = DashboardHtml();
  for (std::string_view url : {"http://", "https://", "src=\"//", "href=\"//", "@import"}) {
    EXPECT_EQ(page.find(url), std::string_view::npos) << url;
  }
}

}  // namespace
}  // namespace cutover::proxy::admin
