#include "proxy/ctl/rule_body.h"

#include <gtest/gtest.h>

namespace cutover::proxy::ctl {
namespace {

using nlohmann::json;

RuleFlags Minimal() {
  RuleFlags flags;
  flags.name = "beta";
  flags.pool = "green";
  return flags;
}

json Build(const RuleFlags& flags) {
  json body;
  std::string error;
  EXPECT_TRUE(BuildRuleBody(flags, &body, &error)) << error;
  return body;
}

std::string Refusal(const RuleFlags& flags) {
  json body;
  std::string error;
  EXPECT_FALSE(BuildRuleBody(flags, &body, &error)) << body.dump();
  return error;
}

TEST(BuildRuleBody, MinimalRuleLeavesDefaultsToTheServer) {
  EXPECT_EQ(Build(Minimal()), json::parse(R"({"name": "beta", "pool": "green", "enabled": true})"));
}

TEST(BuildRuleBody, EveryFlagMapsToItsMatchKey) {
  RuleFlags flags = Minimal();
  flags.headers = {"X-Beta=1"};
  flags.header_present = {"X-Debug"};
  flags.path_prefixes = {"/api", "/v2"};
  flags.cookies = {"tier=gold"};
  flags.queries = {"beta=yes"};
  flags.methods = {"GET", "HEAD"};
  flags.client_cidrs = {"10.0.0.0/8"};
  flags.kind = "targeted";
  flags.owner = "checkout-team";
  flags.expires = "2027-01-31";
  flags.disabled = true;
  EXPECT_EQ(Build(flags), json::parse(R"({
    "name": "beta", "pool": "green", "enabled": false, "kind": "targeted",
    "owner": "checkout-team", "expires": "2027-01-31",
    "match": {"header": {"X-Beta": ["1"]}, "header_present": ["X-Debug"],
              "path_prefix": ["/api", "/v2"], "cookie": {"tier": ["gold"]},
              "query": {"beta": ["yes"]}, "method": ["GET", "HEAD"],
              "client_cidr": ["10.0.0.0/8"]}})"));
}

TEST(BuildRuleBody, RepeatedHeaderCollectsValuesCaseInsensitively) {
  RuleFlags flags = Minimal();
  flags.headers = {"X-Beta=1", "X-Other=a", "x-beta=2", "X-BETA=3"};
  EXPECT_EQ(Build(flags)["match"]["header"],
            json::parse(R"({"X-Beta": ["1", "2", "3"], "X-Other": ["a"]})"));
}

TEST(BuildRuleBody, CookieAndQueryNamesKeepTheirCase) {
  RuleFlags flags = Minimal();
  flags.cookies = {"a=1", "A=2"};
  flags.queries = {"q=x", "q=y"};
  const json match = Build(flags)["match"];
  EXPECT_EQ(match["cookie"], json::parse(R"({"a": ["1"], "A": ["2"]})"));
  EXPECT_EQ(match["query"], json::parse(R"({"q": ["x", "y"]})"));
}

TEST(BuildRuleBody, ValueMayContainEquals) {
  RuleFlags flags = Minimal();
  flags.cookies = {"session=a=b"};
  EXPECT_EQ(Build(flags)["match"]["cookie"], json::parse(R"({"session": ["a=b"]})"));
}

TEST(BuildRuleBody, RefusesTyposWithTheFlagName) {
  RuleFlags flags = Minimal();
  flags.headers = {"X-Beta"};
  EXPECT_NE(Refusal(flags).find("--header 'X-Beta'"), std::string::npos);
  flags = Minimal();
  flags.cookies = {"=v"};
  EXPECT_NE(Refusal(flags).find("--cookie"), std::string::npos);
  flags = Minimal();
  flags.kind = "temp";
  EXPECT_NE(Refusal(flags).find("--kind 'temp'"), std::string::npos);
  flags = Minimal();
  flags.expires = "31/01/2027";
  EXPECT_NE(Refusal(flags).find("--expires"), std::string::npos);
  flags = Minimal();
  flags.path_prefixes = {"api"};
  EXPECT_NE(Refusal(flags).find("--path-prefix 'api'"), std::string::npos);
  flags = Minimal();
  flags.pool.clear();
  EXPECT_NE(Refusal(flags).find("--pool"), std::string::npos);
  flags = Minimal();
  flags.name.clear();
  EXPECT_NE(Refusal(flags).find("NAME"), std::string::npos);
}

TEST(BuildRuleBody, DateTimeExpiryIsLeftToTheServer) {
  RuleFlags flags = Minimal();
  flags.expires = "2027-01-31T12:00:00Z";
  EXPECT_EQ(Build(flags)["expires"], "2027-01-31T12:00:00Z");
}

}  // namespace
}  // namespace cutover::proxy::ctl
