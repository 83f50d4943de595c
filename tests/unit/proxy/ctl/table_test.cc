#include "proxy/ctl/table.h"

#include <gtest/gtest.h>

namespace cutover::proxy::ctl {
namespace {

TEST(Table, PadsColumnsToTheWidestCellWithoutTrailingSpaces) {
  Table table({"POOL", "WEIGHT", "ENDPOINTS"});
  table.AddRow({"blue", "87.5", "3"});
  table.AddRow({"green-canary", "12.5", ""});
  EXPECT_EQ(table.Render(),
            "POOL          WEIGHT  ENDPOINTS\n"
            "blue          87.5    3\n"
            "green-canary  12.5\n");
}

TEST(Table, ShortRowsArePaddedAndLongRowsCut) {
  Table table({"A", "B"});
  table.AddRow({"x"});
  table.AddRow({"1", "2", "3"});
  EXPECT_EQ(table.Render(), "A  B\nx\n1  2\n");
}

TEST(Table, EmptyTableIsJustTheHeadings) {
  Table table({"VERSION", "TIME"});
  EXPECT_TRUE(table.empty());
  EXPECT_EQ(table.Render(), "VERSION  TIME\n");
}

TEST(Table, MultiByteCharactersCountAsOneColumn) {
  Table table({"REASON", "X"});
  table.AddRow({"déploiement", "1"});
  table.AddRow({"p99", "2"});
  EXPECT_EQ(table.Render(),
            "REASON       X\n"
            "déploiement  1\n"
            "p99          2\n");
}

TEST(Table, ControlCharactersCannotReachTheTerminal) {
  Table table({"REASON"});
  table.AddRow({"a\x1b[2Jb\nc\r\x7f"});
  EXPECT_EQ(table.Render(), "REASON\na?[2Jb?c??\n");
}

TEST(SanitizeCell, ReplacesC0AndC1Controls) {
  EXPECT_EQ(SanitizeCell("ok é"), "ok é");
  EXPECT_EQ(SanitizeCell("tab\there"), "tab?here");
  EXPECT_EQ(SanitizeCell("csi\xc2\x9b"
                         "31m"),
            "csi?31m");                             // U+009B, the 8-bit CSI
  EXPECT_EQ(SanitizeCell("\xc2\xa0"), "\xc2\xa0");  // U+00A0 is printable
}

TEST(DisplayWidth, CountsCodePoints) {
  EXPECT_EQ(DisplayWidth(""), 0u);
  EXPECT_EQ(DisplayWidth("abc"), 3u);
  EXPECT_EQ(DisplayWidth("é"), 1u);
  EXPECT_EQ(DisplayWidth("Ωμέγα"), 5u);
}

}  // namespace
}  // namespace cutover::proxy::ctl
