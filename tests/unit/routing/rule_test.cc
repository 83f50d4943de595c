#include "routing/rule.h"

#include <gtest/gtest.h>

#include <cctype>
#include <string>
#include <vector>

#include "routing/ip_address.h"

namespace cutover::routing {
namespace {

using Kind = ConditionSpec::Kind;

ConditionSpec Condition(Kind kind, std::string name, std::vector<std::string> values) {
  ConditionSpec condition;
  condition.kind = kind;
  condition.name = std::move(name);
  condition.values = std::move(values);
  return condition;
}

RuleSpec Rule(std::vector<ConditionSpec> conditions) {
  RuleSpec rule;
  rule.name = "r";
  rule.pool = "green";
  rule.conditions = std::move(conditions);
  return rule;
}

std::unique_ptr<CompiledRule> Compile(std::vector<ConditionSpec> conditions) {
  std::string error;
  auto rule = CompiledRule::Compile(Rule(std::move(conditions)), 1, &error);
  EXPECT_NE(rule, nullptr) << error;
  return rule;
}

std::string CompileError(std::vector<ConditionSpec> conditions) {
  std::string error;
  EXPECT_EQ(CompiledRule::Compile(Rule(std::move(conditions)), 1, &error), nullptr);
  return error;
}

// A request built from parts, owning its header storage.
struct Request {
  std::vector<HeaderView> headers;
  RequestView view;

  explicit Request(std::initializer_list<HeaderView> h, std::string_view method = "GET",
                   std::string_view path = "/", std::string_view query = "",
                   std::string_view client = "")
      : headers(h) {
    view.method = method;
    view.path = path;
    view.query = query;
    view.headers = headers;
    if (!client.empty()) {
      EXPECT_TRUE(ParseIpAddress(client, &view.client));
    }
  }
};

bool Matches(const CompiledRule& rule, const Request& request, std::string_view key = "") {
  return rule.Matches(request.view, key);
}

TEST(FlagKind, NamesRoundTrip) {
  for (const FlagKind kind : {FlagKind::kTemporary, FlagKind::kEnvironment, FlagKind::kTargeted}) {
    FlagKind parsed = FlagKind::kTemporary;
    ASSERT_TRUE(ParseFlagKind(FlagKindName(kind), &parsed));
    EXPECT_EQ(parsed, kind);
  }
  EXPECT_EQ(FlagKindName(FlagKind::kTargeted), "targeted");
  FlagKind parsed;
  EXPECT_FALSE(ParseFlagKind("Temporary", &parsed));
  EXPECT_FALSE(ParseFlagKind("", &parsed));
}

TEST(CompiledRule, NoConditionsMatchesEveryRequest) {
  auto rule = Compile({});
  EXPECT_TRUE(Matches(*rule, Request({})));
  EXPECT_EQ(rule->pool(), 1u);
  EXPECT_EQ(rule->spec().name, "r");
}

TEST(CompiledRule, HeaderExactIsCaseInsensitiveInNameOnly) {
  auto rule = Compile({Condition(Kind::kHeaderExact, "X-Beta", {"1", "yes"})});
  EXPECT_TRUE(Matches(*rule, Request({{"x-beta", "1"}})));
  EXPECT_TRUE(Matches(*rule, Request({{"X-BETA", "yes"}})));
  EXPECT_FALSE(Matches(*rule, Request({{"X-Beta", "YES"}})));
  EXPECT_FALSE(Matches(*rule, Request({{"X-Beta", "10"}})));
  EXPECT_FALSE(Matches(*rule, Request({{"X-Beta2", "1"}})));
  EXPECT_FALSE(Matches(*rule, Request({})));
}

TEST(CompiledRule, HeaderConditionsConsiderEveryFieldLine) {
  auto rule = Compile({Condition(Kind::kHeaderExact, "X-Group", {"beta"})});
  EXPECT_TRUE(Matches(*rule, Request({{"X-Group", "alpha"}, {"x-group", "beta"}})));
  EXPECT_FALSE(Matches(*rule, Request({{"X-Group", "alpha"}, {"x-group", "gamma"}})));
}

TEST(CompiledRule, HeaderNameFilterHasNoFalseNegatives) {
  // Names starting with digits or symbols, long names, and names differing only in case all
  // reach the scan (the one-word filter of header names may only skip absent ones).
  const std::string long_name = "X-" + std::string(100, 'q');
  std::string long_upper = long_name;
  for (char& c : long_upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  for (const std::string& name :
       {std::string("1-Foo"), std::string("~x"), std::string("A"), long_name}) {
    auto rule = Compile({Condition(Kind::kHeaderPresent, name, {})});
    std::string other_case = name;
    for (char& c : other_case) {
      c = static_cast<char>(std::islower(static_cast<unsigned char>(c))
                                ? std::toupper(static_cast<unsigned char>(c))
                                : std::tolower(static_cast<unsigned char>(c)));
    }
    EXPECT_TRUE(Matches(*rule, Request({{"Host", "h"}, {other_case, "v"}}))) << name;
    EXPECT_FALSE(Matches(*rule, Request({{"Host", "h"}}))) << name;
  }
  auto long_rule = Compile({Condition(Kind::kHeaderExact, long_upper, {"v"})});
  EXPECT_TRUE(Matches(*long_rule, Request({{long_name, "v"}})));
}

TEST(CompiledRule, HeaderExactEmptyValue) {
  auto rule = Compile({Condition(Kind::kHeaderExact, "X-Beta", {""})});
  EXPECT_TRUE(Matches(*rule, Request({{"X-Beta", ""}})));
  EXPECT_FALSE(Matches(*rule, Request({{"X-Beta", "1"}})));
  EXPECT_FALSE(Matches(*rule, Request({})));
}

TEST(CompiledRule, HeaderPrefix) {
  auto rule = Compile({Condition(Kind::kHeaderPrefix, "User-Agent", {"Mozilla/", "curl/"})});
  EXPECT_TRUE(Matches(*rule, Request({{"user-agent", "curl/8.0"}})));
  EXPECT_TRUE(Matches(*rule, Request({{"User-Agent", "Mozilla/5.0"}})));
  EXPECT_FALSE(Matches(*rule, Request({{"User-Agent", "mozilla/5.0"}})));
  EXPECT_FALSE(Matches(*rule, Request({{"User-Agent", "cur"}})));
}

TEST(CompiledRule, HeaderPresentAndAbsent) {
  auto present = Compile({Condition(Kind::kHeaderPresent, "X-Canary", {})});
  auto absent = Compile({Condition(Kind::kHeaderAbsent, "X-Canary", {})});
  const Request with({{"Host", "a"}, {"x-canary", ""}});
  const Request without({{"Host", "a"}});
  EXPECT_TRUE(Matches(*present, with));
  EXPECT_FALSE(Matches(*present, without));
  EXPECT_FALSE(Matches(*absent, with));
  EXPECT_TRUE(Matches(*absent, without));
  EXPECT_TRUE(Matches(*absent, Request({})));
}

TEST(CompiledRule, HeaderRegexMustMatchTheWholeValue) {
  auto rule = Compile({Condition(Kind::kHeaderRegex, "X-User", {"user-[0-9]+"})});
  EXPECT_TRUE(Matches(*rule, Request({{"x-user", "user-42"}})));
  EXPECT_FALSE(Matches(*rule, Request({{"X-User", "user-42x"}})));
  EXPECT_FALSE(Matches(*rule, Request({{"X-User", "auser-42"}})));
  EXPECT_TRUE(Matches(*rule, Request({{"X-User", "nope"}, {"X-User", "user-1"}})));
  EXPECT_FALSE(Matches(*rule, Request({})));
}

TEST(CompiledRule, HeaderRegexSurvivesALongValue) {
  // The backtracking matcher would recurse once per character here; the polynomial one
  // must not overflow the stack on a value at the proxy's header limit and beyond.
  auto rule = Compile({Condition(Kind::kHeaderRegex, "X-Long", {"(a|b)*c"})});
  const std::string value(200000, 'a');
  EXPECT_FALSE(Matches(*rule, Request({{"X-Long", value}})));
  EXPECT_TRUE(Matches(*rule, Request({{"X-Long", value + "c"}})));
}

TEST(CompiledRule, Cookie) {
  auto rule = Compile({Condition(Kind::kCookie, "plan", {"pro", ""})});
  EXPECT_TRUE(Matches(*rule, Request({{"Cookie", "a=1; plan=pro"}})));
  EXPECT_TRUE(Matches(*rule, Request({{"Cookie", "plan="}})));
  EXPECT_TRUE(Matches(*rule, Request({{"Cookie", "a=1"}, {"Cookie", "plan=\"pro\""}})));
  EXPECT_FALSE(Matches(*rule, Request({{"Cookie", "plan=Pro"}})));
  EXPECT_FALSE(Matches(*rule, Request({{"Cookie", "Plan=pro"}})));
  EXPECT_FALSE(Matches(*rule, Request({{"Cookie", "plan"}})));  // malformed: no '='
  EXPECT_FALSE(Matches(*rule, Request({{"X-Cookie", "plan=pro"}})));
  EXPECT_FALSE(Matches(*rule, Request({})));
}

TEST(CompiledRule, Query) {
  auto rule = Compile({Condition(Kind::kQuery, "beta", {"1", ""})});
  EXPECT_TRUE(Matches(*rule, Request({}, "GET", "/", "a=2&beta=1")));
  EXPECT_TRUE(Matches(*rule, Request({}, "GET", "/", "beta")));
  EXPECT_TRUE(Matches(*rule, Request({}, "GET", "/", "beta=")));
  EXPECT_FALSE(Matches(*rule, Request({}, "GET", "/", "beta=2")));
  EXPECT_FALSE(Matches(*rule, Request({}, "GET", "/", "betax=1")));
  EXPECT_FALSE(Matches(*rule, Request({}, "GET", "/", "")));
  auto exact = Compile({Condition(Kind::kQuery, "beta", {"1"})});
  EXPECT_FALSE(Matches(*exact, Request({}, "GET", "/", "beta")));
}

TEST(CompiledRule, PathPrefix) {
  auto rule = Compile({Condition(Kind::kPathPrefix, "", {"/api/v2/", "/checkout"})});
  EXPECT_TRUE(Matches(*rule, Request({}, "GET", "/api/v2/users")));
  EXPECT_TRUE(Matches(*rule, Request({}, "GET", "/checkout")));
  EXPECT_TRUE(Matches(*rule, Request({}, "GET", "/checkout-old")));  // a prefix, not a segment
  EXPECT_FALSE(Matches(*rule, Request({}, "GET", "/api/v2")));
  EXPECT_FALSE(Matches(*rule, Request({}, "GET", "/API/v2/users")));
  EXPECT_FALSE(Matches(*rule, Request({}, "GET", "")));
}

TEST(CompiledRule, MethodIsCaseSensitive) {
  auto rule = Compile({Condition(Kind::kMethod, "", {"POST", "PUT"})});
  EXPECT_TRUE(Matches(*rule, Request({}, "POST")));
  EXPECT_TRUE(Matches(*rule, Request({}, "PUT")));
  EXPECT_FALSE(Matches(*rule, Request({}, "post")));
  EXPECT_FALSE(Matches(*rule, Request({}, "GET")));
}

TEST(CompiledRule, ClientCidr) {
  auto rule =
      Compile({Condition(Kind::kClientCidr, "", {"10.0.0.0/8", "2001:db8::/32", "192.0.2.7"})});
  EXPECT_TRUE(Matches(*rule, Request({}, "GET", "/", "", "10.9.8.7")));
  EXPECT_TRUE(Matches(*rule, Request({}, "GET", "/", "", "::ffff:10.9.8.7")));
  EXPECT_TRUE(Matches(*rule, Request({}, "GET", "/", "", "2001:db8:1::5")));
  EXPECT_TRUE(Matches(*rule, Request({}, "GET", "/", "", "192.0.2.7")));
  EXPECT_FALSE(Matches(*rule, Request({}, "GET", "/", "", "192.0.2.8")));
  EXPECT_FALSE(Matches(*rule, Request({}, "GET", "/", "", "2001:db9::5")));
  EXPECT_FALSE(Matches(*rule, Request({})));  // unknown client address
  auto everyone_v4 = Compile({Condition(Kind::kClientCidr, "", {"0.0.0.0/0"})});
  EXPECT_TRUE(Matches(*everyone_v4, Request({}, "GET", "/", "", "203.0.113.1")));
  EXPECT_FALSE(Matches(*everyone_v4, Request({}, "GET", "/", "", "2001:db8::1")));
  auto host_v6 = Compile({Condition(Kind::kClientCidr, "", {"2001:db8::1/128"})});
  EXPECT_TRUE(Matches(*host_v6, Request({}, "GET", "/", "", "2001:db8::1")));
  EXPECT_FALSE(Matches(*host_v6, Request({}, "GET", "/", "", "2001:db8::2")));
}

TEST(CompiledRule, AffinityKeys) {
  auto rule = Compile({Condition(Kind::kAffinityKeys, "", {"user-9", "user-1", "user-5"})});
  const Request request({});
  EXPECT_TRUE(Matches(*rule, request, "user-1"));
  EXPECT_TRUE(Matches(*rule, request, "user-5"));
  EXPECT_TRUE(Matches(*rule, request, "user-9"));
  EXPECT_FALSE(Matches(*rule, request, "user-2"));
  EXPECT_FALSE(Matches(*rule, request, "USER-1"));
  EXPECT_FALSE(Matches(*rule, request, ""));
}

TEST(CompiledRule, ConditionsAreAnded) {
  auto rule = Compile(
      {Condition(Kind::kHeaderRegex, "X-User", {"u[0-9]"}), Condition(Kind::kMethod, "", {"GET"}),
       Condition(Kind::kPathPrefix, "", {"/api"}), Condition(Kind::kHeaderPresent, "X-Beta", {})});
  EXPECT_TRUE(Matches(*rule, Request({{"X-User", "u1"}, {"X-Beta", ""}}, "GET", "/api/x")));
  EXPECT_FALSE(Matches(*rule, Request({{"X-User", "u1"}, {"X-Beta", ""}}, "POST", "/api/x")));
  EXPECT_FALSE(Matches(*rule, Request({{"X-User", "u1"}, {"X-Beta", ""}}, "GET", "/web")));
  EXPECT_FALSE(Matches(*rule, Request({{"X-User", "u1"}}, "GET", "/api/x")));
  EXPECT_FALSE(Matches(*rule, Request({{"X-User", "ux"}, {"X-Beta", ""}}, "GET", "/api/x")));
}

TEST(CompiledRule, ExpiryIsInclusiveAndOptional) {
  RuleSpec spec = Rule({});
  std::string error;
  auto forever = CompiledRule::Compile(spec, 0, &error);
  EXPECT_FALSE(forever->ExpiredAt(INT64_MAX));
  spec.expires_unix = 1000;
  auto dated = CompiledRule::Compile(spec, 0, &error);
  EXPECT_FALSE(dated->ExpiredAt(999));
  EXPECT_TRUE(dated->ExpiredAt(1000));
}

TEST(RuleChain, FirstEnabledMatchWinsWithItsTableIndex) {
  std::string error;
  RuleSpec off = Rule({Condition(Kind::kMethod, "", {"GET"})});
  off.enabled = false;
  RuleSpec post = Rule({Condition(Kind::kMethod, "", {"POST"})});
  RuleSpec get =
      Rule({Condition(Kind::kMethod, "", {"GET"}), Condition(Kind::kCookie, "plan", {"pro"})});
  RuleSpec any = Rule({});
  std::vector<std::unique_ptr<CompiledRule>> rules;
  for (const RuleSpec* spec : {&off, &post, &get, &any}) {
    rules.push_back(CompiledRule::Compile(*spec, 0, &error));
    ASSERT_NE(rules.back(), nullptr) << error;
  }
  RuleChain chain;
  for (std::size_t i = 0; i < rules.size(); ++i) chain.Add(*rules[i], static_cast<int32_t>(i));
  const auto first = [&](const Request& request) {
    const CookieJar cookies(request.view);
    return chain.FirstMatch(request.view, cookies, "");
  };
  EXPECT_EQ(first(Request({{"Cookie", "plan=pro"}}, "GET")), 2);  // "off" is skipped
  EXPECT_EQ(first(Request({{"Cookie", "plan=free"}}, "GET")), 3);
  EXPECT_EQ(first(Request({}, "POST")), 1);
  EXPECT_EQ(RuleChain().FirstMatch(Request({}).view, CookieJar(Request({}).view), ""), -1);
}

TEST(CompiledRule, RejectsInvalidConditionsNamingThem) {
  EXPECT_EQ(CompileError({Condition(Kind::kMethod, "", {"GET"}),
                          Condition(Kind::kHeaderRegex, "X-A", {"(unclosed"})})
                .rfind("rule 'r': condition 2 (header-regex 'X-A'): regex '(unclosed' does not "
                       "compile: ",
                       0),
            0u);
  // Back-references need the backtracking matcher, which is refused (see rule.cc).
  EXPECT_NE(
      CompileError({Condition(Kind::kHeaderRegex, "X-A", {"(a)\\1"})}).find("does not compile"),
      std::string::npos);
  EXPECT_EQ(CompileError({Condition(Kind::kHeaderRegex, "X-A", {"a", "b"})}),
            "rule 'r': condition 1 (header-regex 'X-A'): takes exactly one regex");
  EXPECT_EQ(CompileError({Condition(Kind::kHeaderExact, "", {"1"})}),
            "rule 'r': condition 1 (header): name must be a header name (an HTTP token)");
  EXPECT_EQ(CompileError({Condition(Kind::kHeaderExact, "X Beta", {"1"})}),
            "rule 'r': condition 1 (header 'X Beta'): name must be a header name (an HTTP token)");
  EXPECT_EQ(CompileError({Condition(Kind::kHeaderExact, "X-Beta", {})}),
            "rule 'r': condition 1 (header 'X-Beta'): needs at least one value");
  EXPECT_EQ(CompileError({Condition(Kind::kHeaderPrefix, "X-Beta", {""})}),
            "rule 'r': condition 1 (header-prefix 'X-Beta'): values must not be empty");
  EXPECT_EQ(CompileError({Condition(Kind::kHeaderPresent, "X-Beta", {"1"})}),
            "rule 'r': condition 1 (header-present 'X-Beta'): takes no values");
  EXPECT_EQ(CompileError({Condition(Kind::kCookie, "a;b", {"1"})}),
            "rule 'r': condition 1 (cookie 'a;b'): name must be a cookie name (an HTTP token)");
  EXPECT_EQ(CompileError({Condition(Kind::kQuery, "", {"1"})}),
            "rule 'r': condition 1 (query): name must be non-empty and contain no '&' or '='");
  EXPECT_EQ(CompileError({Condition(Kind::kQuery, "a=b", {"1"})}),
            "rule 'r': condition 1 (query 'a=b'): name must be non-empty and contain no '&' or "
            "'='");
  EXPECT_EQ(CompileError({Condition(Kind::kPathPrefix, "", {""})}),
            "rule 'r': condition 1 (path-prefix): values must not be empty");
  EXPECT_EQ(CompileError({Condition(Kind::kPathPrefix, "", {"api"})}),
            "rule 'r': condition 1 (path-prefix): 'api' does not start with '/'");
  EXPECT_EQ(CompileError({Condition(Kind::kPathPrefix, "X", {"/"})}),
            "rule 'r': condition 1 (path-prefix 'X'): takes no name");
  EXPECT_EQ(CompileError({Condition(Kind::kMethod, "", {"GE T"})}),
            "rule 'r': condition 1 (method): 'GE T' is not a method (an HTTP token)");
  EXPECT_EQ(CompileError({Condition(Kind::kClientCidr, "", {"10.0.0.0/33"})}),
            "rule 'r': condition 1 (client-cidr): '10.0.0.0/33' is not an address or "
            "address/prefix-length");
  EXPECT_EQ(CompileError({Condition(Kind::kClientCidr, "", {"::/129"})}),
            "rule 'r': condition 1 (client-cidr): '::/129' is not an address or "
            "address/prefix-length");
  EXPECT_EQ(CompileError({Condition(Kind::kAffinityKeys, "", {"a", ""})}),
            "rule 'r': condition 1 (affinity-keys): values must not be empty");
}

}  // namespace
}  // namespace cutover::routing
