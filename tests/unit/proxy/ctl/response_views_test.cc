#include "proxy/ctl/response_views.h"

#include <gtest/gtest.h>

namespace cutover::proxy::ctl {
namespace {

using nlohmann::json;

TEST(StatusView, VersionPoolsAndRules) {
  const json state = json::parse(R"({
    "version": 7, "epoch": 1, "baseline": "blue", "candidate": "green",
    "weights": {"blue": 87.5, "green": 12.5},
    "pools": [{"name": "blue", "endpoints": [{"address": "10.0.0.11:8080", "weight": 1},
                                             {"address": "10.0.0.12:8080", "weight": 1}],
               "failover": "other-pool", "balance": "round-robin"},
              {"name": "green", "endpoints": [{"address": "10.0.1.11:8080", "weight": 1}],
               "failover": "503", "balance": "power-of-two"}],
    "rules": [{"name": "beta-testers", "enabled": true, "pool": "green", "kind": "targeted",
               "owner": "checkout-team", "expires": "2027-02-01T00:00:00Z",
               "match": {"header": {"X-Beta": ["1", "yes"]}, "path_prefix": ["/api"]}},
              {"name": "all", "enabled": false, "pool": "blue", "kind": "temporary",
               "owner": "", "expires": null, "match": {}}]})");
  EXPECT_EQ(StatusView(state),
            "version 7 (epoch 1)  baseline blue  candidate green\n"
            "\n"
            "POOL   WEIGHT  ENDPOINTS  BALANCE       FAILOVER\n"
            "blue   87.5    2          round-robin   other-pool\n"
            "green  12.5    1          power-of-two  503\n"
            "\n"
            "RULE          ENABLED  POOL   KIND       OWNER          EXPIRES               MATCH\n"
            "beta-testers  yes      green  targeted   checkout-team  2027-02-01T00:00:00Z  "
            "header X-Beta=1,yes; path_prefix /api\n"
            "all           no       blue   temporary  -              -                     "
            "(everything)\n");
}

TEST(TlsView, OneLinePerCertificateFlaggedNearExpiry) {
  constexpr int64_t kNow = 1'798'761'600;  // 2027-01-01T00:00:00Z
  constexpr int64_t kDay = 86'400;
  const json tls = {{"enabled", true},
                    {"certificates",
                     {{{"file", "/etc/site.pem"},
                       {"names", {"example.com", "*.example.com"}},
                       {"not_after_unix", kNow + 46 * kDay + 3600},
                       {"days_left", 46}},
                      {{"file", "/etc/soon.pem"},
                       {"names", {"api.example.net"}},
                       {"not_after_unix", kNow + kDay + 60},
                       {"days_left", 1}}}},
                    {"admin",
                     {{"enabled", true},
                      {"certificates",
                       {{{"file", "/etc/admin.pem"},
                         {"names", json::array()},
                         {"not_after_unix", kNow - 3 * kDay},
                         {"days_left", -3}}}}}}};
  EXPECT_EQ(TlsView(tls, kNow),
            "tls: example.com, *.example.com  expires 2027-02-16 (46 days)\n"
            "tls: api.example.net  expires 2027-01-02 (1 day)  EXPIRES SOON\n"
            "admin tls: /etc/admin.pem  expired 2026-12-29 (3 days ago)  EXPIRED\n");
}

TEST(TlsView, FourteenDaysIsNotYetSoon) {
  constexpr int64_t kNow = 1'798'761'600;
  const json certificate = {
      {"names", {"a.test"}}, {"not_after_unix", kNow + 14 * 86'400}, {"days_left", 14}};
  EXPECT_EQ(TlsView({{"certificates", {certificate}}}, kNow),
            "tls: a.test  expires 2027-01-15 (14 days)\n");
  json soon = certificate;
  soon["days_left"] = 13;
  EXPECT_EQ(TlsView({{"certificates", {soon}}}, kNow),
            "tls: a.test  expires 2027-01-15 (13 days)  EXPIRES SOON\n");
}

TEST(TlsView, NothingWithoutTlsAndNoControlCharacters) {
  EXPECT_EQ(TlsView(json::parse(R"({"enabled": false, "certificates": [],
                                    "admin": {"enabled": false, "certificates": []}})"),
                    0),
            "");
  EXPECT_EQ(TlsView(json::object(), 0), "");  // a server without /v1/tls's fields
  const json evil = {
      {"certificates", {{{"names", {"a\x1b[2Jb"}}, {"not_after_unix", 86'400 * 30}}}}};
  EXPECT_EQ(TlsView(evil, 0), "tls: a?[2Jb  expires 1970-01-31 (30 days)\n");
  EXPECT_EQ(TlsView({{"certificates", {{{"names", {"x"}}}}}}, 0), "tls: x  expires ?\n");
}

TEST(StatusView, MissingFieldsPrintAsDash) {
  EXPECT_EQ(StatusView(json::parse(R"({"version": 2, "pools": [{"name": "blue"}]})")),
            "version 2 (epoch -)  baseline -  candidate -\n"
            "\n"
            "POOL  WEIGHT  ENDPOINTS  BALANCE  FAILOVER\n"
            "blue  -       -          -        -\n"
            "\n"
            "no rules\n");
}

TEST(RulesView, FromTheRulesEndpoint) {
  const json rules = json::parse(R"({"version": 3, "rules": [
    {"name": "ops", "enabled": true, "pool": "green", "kind": "environment", "owner": "sre",
     "expires": null, "match": {"client_cidr": ["10.0.0.0/8"], "header_present": ["X-Debug"]}}]})");
  EXPECT_EQ(RulesView(rules),
            "version 3\n\n"
            "RULE  ENABLED  POOL   KIND         OWNER  EXPIRES  MATCH\n"
            "ops   yes      green  environment  sre    -        "
            "client_cidr 10.0.0.0/8; header_present X-Debug\n");
  EXPECT_EQ(RulesView(json::parse(R"({"version": 3, "rules": []})")), "version 3\n\nno rules\n");
}

TEST(HistoryView, OneRowPerVersion) {
  const json history = json::parse(R"({"version": 9, "history": [
    {"version": 9, "time": "2026-03-01T10:00:00Z", "actor": "uid:0", "action": "rollback",
     "reason": "p99 doubled", "weights": {"blue": 100, "green": 0}, "rules": []},
    {"version": 8, "time": "2026-03-01T09:00:00Z", "actor": "ci-bot", "action": "weights",
     "reason": "", "weights": {"blue": 80, "green": 20}, "rules": []}]})");
  EXPECT_EQ(HistoryView(history),
            "VERSION  TIME                  ACTOR   ACTION    REASON       WEIGHTS\n"
            "9        2026-03-01T10:00:00Z  uid:0   rollback  p99 doubled  blue=100 green=0\n"
            "8        2026-03-01T09:00:00Z  ci-bot  weights   -            blue=80 green=20\n");
  EXPECT_EQ(HistoryView(json::parse(R"({"history": []})")), "no history\n");
}

TEST(AuditView, OneRowPerEntry) {
  const json audit = json::parse(R"({"entries": [
    {"time": "2026-03-01T10:00:00Z", "actor": "uid:1000", "source": "unix", "action": "weights",
     "before": {}, "after": {}, "result": "ok", "version": 8, "reason": "step 1"},
    {"time": "2026-03-01T10:01:00Z", "actor": "ci-bot", "source": "127.0.0.1:5000",
     "action": "weights", "result": "stale If-Match", "version": null, "reason": null}]})");
  EXPECT_EQ(AuditView(audit),
            "TIME                  ACTOR     SOURCE          ACTION   RESULT          VERSION  "
            "REASON\n"
            "2026-03-01T10:00:00Z  uid:1000  unix            weights  ok              8        "
            "step 1\n"
            "2026-03-01T10:01:00Z  ci-bot    127.0.0.1:5000  weights  stale If-Match  -        "
            "-\n");
}

TEST(HealthView, OneRowPerEndpoint) {
  const json health = json::parse(R"({"version": 7, "pools": [
    {"name": "green", "weight": 10, "available": true, "endpoints": [
      {"address": "10.0.1.11:8080", "weight": 1, "healthy": true, "ejected": false, "ejections": 0},
      {"address": "10.0.1.12:8080", "weight": 1, "healthy": false, "ejected": true,
       "ejections": 3}]},
    {"name": "empty", "weight": 0, "available": false, "endpoints": []}]})");
  EXPECT_EQ(HealthView(health),
            "version 7\n\n"
            "POOL   ENDPOINT        HEALTHY  EJECTED  EJECTIONS\n"
            "green  10.0.1.11:8080  yes      no       0\n"
            "green  10.0.1.12:8080  no       yes      3\n"
            "empty  (no endpoints)\n");
}

TEST(CompareView, PoolsDeltasAndTheGuardrailVerdict) {
  const json compare = json::parse(R"({
    "version": 7, "window_seconds": 60, "covered_seconds": 60, "baseline": "blue",
    "candidate": "green",
    "pools": {"blue": {"weight": 90, "requests": 900, "requests_per_second": 15, "errors": 1,
                       "error_rate": 0.0011, "p50_ms": 2, "p90_ms": 6, "p99_ms": 12.5},
              "green": {"weight": 10, "requests": 100, "requests_per_second": 1.7, "errors": 5,
                        "error_rate": 0.05, "p50_ms": 2.5, "p90_ms": 7, "p99_ms": 14}},
    "delta": {"error_rate": 0.0489, "p50_ms": 0.5, "p99_ms": 1.5, "p99_ratio": 1.12},
    "guardrail": {"kind": "breach", "rule": "error_rate",
                  "explain": "green 5/100 vs blue 1/900"}})");
  const std::string view = CompareView(compare);
  EXPECT_NE(view.find("\ngreen - blue: error rate 0.0489, p50 0.5 ms, p99 1.5 ms, p99 ratio 1.12\n"
                      "guardrail verdict: BREACH error_rate: green 5/100 vs blue 1/900\n"),
            std::string::npos)
      << view;
  json older = compare;
  older.erase("guardrail");  // a server without guardrails: no line
  EXPECT_EQ(CompareView(older).find("guardrail"), std::string::npos);
}

TEST(ChangeView, VersionWeightsAndSwitchTime) {
  EXPECT_EQ(ChangeView(json::parse(
                R"({"version": 8, "weights": {"blue": 80, "green": 20}, "switch_us": 153,
                    "workers": 2})")),
            "version 8: blue=80 green=20 (2 workers switched in 153 us)\n");
  EXPECT_EQ(ChangeView(json::parse(R"({"version": 9, "weights": {"blue": 100}, "switch_us": 40,
                                        "workers": 1})")),
            "version 9: blue=100 (1 worker switched in 40 us)\n");
  EXPECT_EQ(ChangeView(json::parse(R"({"version": 8, "weights": {"blue": 99.99, "green": 0.01}})")),
            "version 8: blue=99.99 green=0.01\n");
}

TEST(MatchLine, EveryShape) {
  EXPECT_EQ(MatchLine(json::parse(R"({"header_regex": {"User-Agent": "^curl/"},
                                      "method": ["GET"], "affinity_keys": ["a", "b"]})")),
            "affinity_keys a,b; header_regex User-Agent=^curl/; method GET");
  EXPECT_EQ(MatchLine(json::object()), "");
  EXPECT_EQ(MatchLine(json()), "");
}

}  // namespace
}  // namespace cutover::proxy::ctl
