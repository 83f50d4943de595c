#include "routing/request_view.h"

#include <gtest/gtest.h>

#include <vector>

namespace cutover::routing {
namespace {

RequestView WithHeaders(const std::vector<HeaderView>& headers) {
  RequestView request;
  request.headers = headers;
  return request;
}

std::string_view Cookie(const std::vector<HeaderView>& headers, std::string_view name,
                        bool* found) {
  return FindCookie(WithHeaders(headers), name, found);
}

TEST(EqualsIgnoreCaseAscii, ComparesLettersWithoutCase) {
  EXPECT_TRUE(EqualsIgnoreCaseAscii("X-Beta", "x-bETA"));
  EXPECT_TRUE(EqualsIgnoreCaseAscii("", ""));
  EXPECT_FALSE(EqualsIgnoreCaseAscii("X-Beta", "X-Bet"));
  EXPECT_FALSE(EqualsIgnoreCaseAscii("X-Beta", "X_Beta"));
  // Only ASCII letters fold: '@' (0x40) and '`' (0x60) differ by 0x20 but are not letters.
  EXPECT_FALSE(EqualsIgnoreCaseAscii("@", "`"));
  EXPECT_FALSE(EqualsIgnoreCaseAscii("[", "{"));
}

TEST(IsHttpToken, AcceptsTcharsOnly) {
  EXPECT_TRUE(IsHttpToken("X-User-Id"));
  EXPECT_TRUE(IsHttpToken("!#$%&'*+-.^_`|~09azAZ"));
  EXPECT_FALSE(IsHttpToken(""));
  EXPECT_FALSE(IsHttpToken("X User"));
  EXPECT_FALSE(IsHttpToken("a:b"));
  EXPECT_FALSE(IsHttpToken("a;b"));
  EXPECT_FALSE(IsHttpToken("\"a\""));
  EXPECT_FALSE(IsHttpToken("\xc3\xa9"));
}

TEST(FindHeader, MatchesNameCaseInsensitivelyAndReturnsFirstValue) {
  const std::vector<HeaderView> headers = {
      {"Host", "example.com"}, {"x-user-id", "42"}, {"X-User-Id", "43"}};
  bool found = false;
  EXPECT_EQ(FindHeader(WithHeaders(headers), "X-USER-ID", &found), "42");
  EXPECT_TRUE(found);
  EXPECT_EQ(FindHeader(WithHeaders(headers), "X-Missing", &found), "");
  EXPECT_FALSE(found);
}

TEST(FindHeader, EmptyValueIsFound) {
  const std::vector<HeaderView> headers = {{"X-Beta", ""}};
  bool found = false;
  EXPECT_EQ(FindHeader(WithHeaders(headers), "x-beta", &found), "");
  EXPECT_TRUE(found);
}

TEST(FindCookie, FindsPairsWithOrWithoutSpaces) {
  bool found = false;
  EXPECT_EQ(Cookie({{"Cookie", "a=1; b=2; c=3"}}, "b", &found), "2");
  EXPECT_TRUE(found);
  EXPECT_EQ(Cookie({{"Cookie", "a=1;b=2"}}, "b", &found), "2");
  EXPECT_EQ(Cookie({{"Cookie", "  a = 1 ;\tb=2  "}}, "a", &found), "1");
  EXPECT_EQ(Cookie({{"Cookie", "a=1; b=2"}}, "a", &found), "1");
  EXPECT_EQ(Cookie({{"Cookie", "a=1; b=2;"}}, "b", &found), "2");
}

TEST(FindCookie, SearchesEveryCookieHeaderFirstOccurrenceWins) {
  bool found = false;
  const std::vector<HeaderView> headers = {
      {"Cookie", "a=1"}, {"X-Other", "b=9"}, {"cookie", "b=2; a=3"}, {"COOKIE", "b=4"}};
  EXPECT_EQ(Cookie(headers, "b", &found), "2");
  EXPECT_TRUE(found);
  EXPECT_EQ(Cookie(headers, "a", &found), "1");
}

TEST(FindCookie, NamesAreCaseSensitive) {
  bool found = true;
  EXPECT_EQ(Cookie({{"Cookie", "Session=1"}}, "session", &found), "");
  EXPECT_FALSE(found);
}

TEST(FindCookie, SkipsMalformedPairs) {
  bool found = false;
  // No '=', empty name, stray separators: each is skipped, the rest still parses.
  EXPECT_EQ(Cookie({{"Cookie", "garbage; =x; ;; b=2"}}, "b", &found), "2");
  EXPECT_TRUE(found);
  EXPECT_EQ(Cookie({{"Cookie", "garbage"}}, "garbage", &found), "");
  EXPECT_FALSE(found);
  EXPECT_EQ(Cookie({{"Cookie", "=x"}}, "", &found), "");
  EXPECT_FALSE(found);
  EXPECT_EQ(Cookie({{"Cookie", ""}}, "a", &found), "");
  EXPECT_FALSE(found);
  EXPECT_EQ(Cookie({}, "a", &found), "");
  EXPECT_FALSE(found);
}

TEST(FindCookie, NameMustMatchWholly) {
  bool found = true;
  EXPECT_EQ(Cookie({{"Cookie", "ab=1; xa=2"}}, "a", &found), "");
  EXPECT_FALSE(found);
}

TEST(FindCookie, EmptyAndQuotedValues) {
  bool found = false;
  EXPECT_EQ(Cookie({{"Cookie", "a=; b=2"}}, "a", &found), "");
  EXPECT_TRUE(found);
  EXPECT_EQ(Cookie({{"Cookie", "a=\"quoted\"; b=2"}}, "a", &found), "quoted");
  EXPECT_EQ(Cookie({{"Cookie", "a=\"\""}}, "a", &found), "");
  EXPECT_TRUE(found);
  EXPECT_EQ(Cookie({{"Cookie", "a=\"half"}}, "a", &found), "\"half");
  // '=' inside a value belongs to the value (base64 padding).
  EXPECT_EQ(Cookie({{"Cookie", "a=YQ==; b=2"}}, "a", &found), "YQ==");
}

TEST(FindQueryParam, FindsParameters) {
  bool found = false;
  EXPECT_EQ(FindQueryParam("a=1&b=2", "b", &found), "2");
  EXPECT_TRUE(found);
  EXPECT_EQ(FindQueryParam("a=1&b=2", "a", &found), "1");
  EXPECT_EQ(FindQueryParam("a=1&a=2", "a", &found), "1");
  EXPECT_EQ(FindQueryParam("a=x=y", "a", &found), "x=y");
}

TEST(FindQueryParam, KeyWithoutEqualsHasEmptyValue) {
  bool found = false;
  EXPECT_EQ(FindQueryParam("debug&b=2", "debug", &found), "");
  EXPECT_TRUE(found);
  EXPECT_EQ(FindQueryParam("b=2&debug", "debug", &found), "");
  EXPECT_TRUE(found);
  EXPECT_EQ(FindQueryParam("a=", "a", &found), "");
  EXPECT_TRUE(found);
}

TEST(FindQueryParam, EdgeCases) {
  bool found = true;
  EXPECT_EQ(FindQueryParam("", "a", &found), "");
  EXPECT_FALSE(found);
  EXPECT_EQ(FindQueryParam("ab=1&ba=2", "a", &found), "");
  EXPECT_FALSE(found);
  EXPECT_EQ(FindQueryParam("&&a=1&&", "a", &found), "1");
  EXPECT_TRUE(found);
  EXPECT_EQ(FindQueryParam("=1", "", &found), "");
  EXPECT_FALSE(found);
  // No percent-decoding: the name and value are compared as sent.
  EXPECT_EQ(FindQueryParam("a%20b=c%20d", "a b", &found), "");
  EXPECT_FALSE(found);
  EXPECT_EQ(FindQueryParam("a%20b=c%20d", "a%20b", &found), "c%20d");
  EXPECT_TRUE(found);
  // Names are case-sensitive.
  EXPECT_EQ(FindQueryParam("A=1", "a", &found), "");
  EXPECT_FALSE(found);
}

TEST(CookieJar, AnswersAsFindCookie) {
  const std::vector<HeaderView> headers = {
      {"Cookie", "a=1; garbage; b=\"2\"; =x"}, {"X-Other", "c=9"}, {"cookie", " c = 3 ;a=4;d="}};
  const RequestView request = WithHeaders(headers);
  const CookieJar jar(request);
  for (const char* name : {"a", "b", "c", "d", "e", "garbage", "", "x"}) {
    bool jar_found = false;
    bool find_found = false;
    EXPECT_EQ(jar.Find(name, &jar_found), FindCookie(request, name, &find_found)) << name;
    EXPECT_EQ(jar_found, find_found) << name;
  }
  bool found = false;
  EXPECT_EQ(jar.Find("a", &found), "1");
  EXPECT_EQ(jar.Find("b", &found), "2");
  EXPECT_EQ(jar.Find("c", &found), "3");
  EXPECT_EQ(jar.Find("d", &found), "");
  EXPECT_TRUE(found);
}

TEST(CookieJar, ManyCookiesFallBackToScanning) {
  std::string header;
  for (int i = 0; i < 40; ++i) header += "k" + std::to_string(i) + "=v" + std::to_string(i) + "; ";
  const std::vector<HeaderView> headers = {{"Cookie", header}};
  const RequestView request = WithHeaders(headers);
  const CookieJar jar(request);
  bool found = false;
  EXPECT_EQ(jar.Find("k0", &found), "v0");
  EXPECT_EQ(jar.Find("k39", &found), "v39");  // beyond the jar's 32 slots
  EXPECT_TRUE(found);
  EXPECT_EQ(jar.Find("k40", &found), "");
  EXPECT_FALSE(found);
}

TEST(CookieJar, NoCookieHeader) {
  const std::vector<HeaderView> headers = {{"Host", "a"}};
  const RequestView request = WithHeaders(headers);
  const CookieJar jar(request);
  bool found = true;
  EXPECT_EQ(jar.Find("a", &found), "");
  EXPECT_FALSE(found);
}

}  // namespace
}  // namespace cutover::routing
