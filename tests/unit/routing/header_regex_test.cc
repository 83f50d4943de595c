#include "routing/header_regex.h"

#include <gtest/gtest.h>

#include <string>

namespace cutover::routing {
namespace {

std::unique_ptr<HeaderRegex> Compile(std::string_view pattern) {
  std::string error;
  auto regex = HeaderRegex::Compile(pattern, &error);
  EXPECT_NE(regex, nullptr) << error;
  return regex;
}

TEST(HeaderRegex, MatchesTheWholeValueOnly) {
  auto regex = Compile("user-[0-9]+");
  EXPECT_TRUE(regex->FullMatch("user-42"));
  EXPECT_FALSE(regex->FullMatch("user-42x"));
  EXPECT_FALSE(regex->FullMatch("xuser-42"));
  EXPECT_FALSE(regex->FullMatch(""));
  // A view into a larger buffer: only the view is matched.
  const std::string buffer = "user-7 trailing";
  EXPECT_TRUE(regex->FullMatch(std::string_view(buffer).substr(0, 6)));
}

TEST(HeaderRegex, EcmaScriptSyntax) {
  auto regex = Compile("(?:beta|canary)-\\d{2,3}");
  EXPECT_TRUE(regex->FullMatch("beta-12"));
  EXPECT_TRUE(regex->FullMatch("canary-123"));
  EXPECT_FALSE(regex->FullMatch("canary-1234"));
  EXPECT_TRUE(Compile(".*")->FullMatch(""));
  EXPECT_TRUE(Compile("")->FullMatch(""));
}

TEST(HeaderRegex, RejectsPatternsThatDoNotCompile) {
  std::string error;
  EXPECT_EQ(HeaderRegex::Compile("(unclosed", &error), nullptr);
  EXPECT_FALSE(error.empty());
  error.clear();
  EXPECT_EQ(HeaderRegex::Compile("[z-a]", &error), nullptr);
  EXPECT_FALSE(error.empty());
}

TEST(HeaderRegex, RefusesBackReferences) {
  // They need the backtracking matcher, whose recursion depth grows with the input.
  std::string error;
  EXPECT_EQ(HeaderRegex::Compile("(a)\\1", &error), nullptr);
  EXPECT_FALSE(error.empty());
}

TEST(HeaderRegex, LongValuesDoNotExhaustTheStack) {
  // The backtracking matcher recurses per character and crashes on this; the polynomial one
  // must not, far beyond the proxy's header size limit.
  auto regex = Compile("(a|b)*c");
  const std::string value(500000, 'a');
  EXPECT_FALSE(regex->FullMatch(value));
  EXPECT_TRUE(regex->FullMatch(value + "c"));
}

}  // namespace
}  // namespace cutover::routing
