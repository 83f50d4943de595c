#include "proxy/config_loader.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace cutover::proxy {
namespace {

using std::chrono::milliseconds;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

// Test documents are raw strings that start on the line after R"(, so the first line of
// the document is line 1 as toml++ counts it.
ConfigLoadResult Load(std::string_view text) {
  if (!text.empty() && text.front() == '\n') text.remove_prefix(1);
  return LoadConfigString(text, "test.toml");
}

std::vector<std::string> Errors(const ConfigLoadResult& result) {
  std::vector<std::string> out;
  for (const ConfigError& error : result.errors) out.push_back(error.ToString("test.toml"));
  return out;
}

// Loads `text` expecting success.
Config LoadOk(std::string_view text) {
  ConfigLoadResult result = Load(text);
  EXPECT_THAT(Errors(result), IsEmpty());
  EXPECT_TRUE(result.config.has_value());
  return result.config.value_or(Config{});
}

// Loads `text` expecting failure, and returns the errors as the operator sees them.
std::vector<std::string> LoadErrors(std::string_view text) {
  ConfigLoadResult result = Load(text);
  EXPECT_FALSE(result.config.has_value());
  EXPECT_FALSE(result.errors.empty());
  return Errors(result);
}

constexpr std::string_view kOnePool = R"(
[pools.blue]
endpoints = ["127.0.0.1:9001"]
)";

// --- accepted documents --------------------------------------------------------------------

TEST(ConfigLoader, MinimalConfigKeepsDefaults) {
  const Config config = LoadOk(kOnePool);
  const Config defaults;
  EXPECT_EQ(config.listener.host, "0.0.0.0");
  EXPECT_EQ(config.listener.port, 8080);
  EXPECT_GE(config.listener.workers, 1u);
  EXPECT_EQ(config.timeouts.header_read, defaults.timeouts.header_read);
  EXPECT_EQ(config.timeouts.drain, defaults.timeouts.drain);
  EXPECT_EQ(config.limits.header_bytes, defaults.limits.header_bytes);
  EXPECT_EQ(config.limits.upstream_idle_per_endpoint, defaults.limits.upstream_idle_per_endpoint);
  EXPECT_EQ(config.log.level, "info");
  EXPECT_EQ(config.log.access_path, "-");
  EXPECT_FALSE(config.log.access);
  EXPECT_TRUE(config.headers.x_forwarded_for);
  EXPECT_TRUE(config.headers.x_forwarded_proto);
  ASSERT_EQ(config.routing.pools.size(), 1u);
  EXPECT_EQ(config.routing.pools[0].name, "blue");
  EXPECT_EQ(config.routing.pools[0].basis_points, 10000u);
  ASSERT_EQ(config.routing.pools[0].endpoints.size(), 1u);
  EXPECT_EQ(config.routing.pools[0].endpoints[0].host, "127.0.0.1");
  EXPECT_EQ(config.routing.pools[0].endpoints[0].port, 9001);
  EXPECT_EQ(config.routing.baseline, "");
  EXPECT_EQ(config.routing.candidate, "");
}

TEST(ConfigLoader, EveryKeyIsRead) {
  const Config config = LoadOk(R"(
[listener]
address = "[::]:8443"
workers = 3

[pools.blue]
endpoints = ["10.0.0.11:8080", "localhost:8081"]
[pools.green]
endpoints = ["[::1]:9002"]

[routing]
baseline = "blue"
candidate = "green"
weights = { blue = 87.5, green = 12.5 }

[timeouts]
header_read = "1s"
idle = "2s"
upstream_connect = "3s"
upstream_response = "4s"
upstream_idle = "5s"
tunnel_idle = "6m"
drain = "1h"

[limits]
header_bytes = 2048
header_count = 20
uri_bytes = 1024
body_bytes = 1048576
connections = 500
upstream_idle_per_endpoint = 8

[log]
access = true
access_path = "/var/log/cutover/access.log"
level = "debug"

[headers]
x_forwarded_for = false
x_forwarded_proto = false
)");
  EXPECT_EQ(config.listener.host, "::");
  EXPECT_EQ(config.listener.port, 8443);
  EXPECT_EQ(config.listener.workers, 3u);

  const routing::RoutingSpec& spec = config.routing;
  ASSERT_EQ(spec.pools.size(), 2u);
  EXPECT_EQ(spec.pools[0].name, "blue");
  EXPECT_EQ(spec.pools[0].basis_points, 8750u);
  ASSERT_EQ(spec.pools[0].endpoints.size(), 2u);
  EXPECT_EQ(spec.pools[0].endpoints[0].host, "10.0.0.11");
  EXPECT_EQ(spec.pools[0].endpoints[0].port, 8080);
  EXPECT_EQ(spec.pools[0].endpoints[1].host, "127.0.0.1");
  EXPECT_EQ(spec.pools[0].endpoints[1].port, 8081);
  EXPECT_EQ(spec.pools[1].name, "green");
  EXPECT_EQ(spec.pools[1].basis_points, 1250u);
  ASSERT_EQ(spec.pools[1].endpoints.size(), 1u);
  EXPECT_EQ(spec.pools[1].endpoints[0].host, "::1");
  EXPECT_EQ(spec.pools[1].endpoints[0].port, 9002);
  EXPECT_EQ(spec.baseline, "blue");
  EXPECT_EQ(spec.candidate, "green");

  EXPECT_EQ(config.timeouts.header_read, milliseconds(1'000));
  EXPECT_EQ(config.timeouts.idle, milliseconds(2'000));
  EXPECT_EQ(config.timeouts.upstream_connect, milliseconds(3'000));
  EXPECT_EQ(config.timeouts.upstream_response, milliseconds(4'000));
  EXPECT_EQ(config.timeouts.upstream_idle, milliseconds(5'000));
  EXPECT_EQ(config.timeouts.tunnel_idle, milliseconds(360'000));
  EXPECT_EQ(config.timeouts.drain, milliseconds(3'600'000));

  EXPECT_EQ(config.limits.header_bytes, 2048u);
  EXPECT_EQ(config.limits.header_count, 20u);
  EXPECT_EQ(config.limits.uri_bytes, 1024u);
  EXPECT_EQ(config.limits.body_bytes, 1048576u);
  EXPECT_EQ(config.limits.connections, 500u);
  EXPECT_EQ(config.limits.upstream_idle_per_endpoint, 8u);

  EXPECT_TRUE(config.log.access);
  EXPECT_EQ(config.log.access_path, "/var/log/cutover/access.log");
  EXPECT_EQ(config.log.level, "debug");

  EXPECT_FALSE(config.headers.x_forwarded_for);
  EXPECT_FALSE(config.headers.x_forwarded_proto);
}

TEST(ConfigLoader, WorkersZeroMeansOnePerCore) {
  const Config config = LoadOk(R"(
[listener]
workers = 0
[pools.blue]
endpoints = ["127.0.0.1:9001"]
)");
  const unsigned cores = std::thread::hardware_concurrency();
  EXPECT_EQ(config.listener.workers, std::clamp(cores, 1u, 256u));
}

// toml++ sorts keys by name; the bucket ranges must follow the file instead.
TEST(ConfigLoader, PoolOrderFollowsTheFile) {
  const Config config = LoadOk(R"(
[pools.zeta]
endpoints = ["127.0.0.1:9001"]
[pools.alpha]
endpoints = ["127.0.0.1:9002"]
[pools.mid]
endpoints = ["127.0.0.1:9003"]
[routing]
weights = { alpha = 20, mid = 30, zeta = 50 }
)");
  ASSERT_EQ(config.routing.pools.size(), 3u);
  EXPECT_EQ(config.routing.pools[0].name, "zeta");
  EXPECT_EQ(config.routing.pools[0].basis_points, 5000u);
  EXPECT_EQ(config.routing.pools[1].name, "alpha");
  EXPECT_EQ(config.routing.pools[2].name, "mid");
}

TEST(ConfigLoader, PoolOrderFollowsTheFileInAnInlineTable) {
  const Config config = LoadOk(R"(
pools = { b = { endpoints = ["127.0.0.1:1"] }, a = { endpoints = ["127.0.0.1:2"] } }
routing = { weights = { a = 50, b = 50 } }
)");
  ASSERT_EQ(config.routing.pools.size(), 2u);
  EXPECT_EQ(config.routing.pools[0].name, "b");
  EXPECT_EQ(config.routing.pools[1].name, "a");
}

TEST(ConfigLoader, PoolsNotInWeightsGetZero) {
  const Config config = LoadOk(R"(
[pools.blue]
endpoints = ["127.0.0.1:9001"]
[pools.green]
endpoints = []
[routing]
weights = { blue = 100 }
)");
  ASSERT_EQ(config.routing.pools.size(), 2u);
  EXPECT_EQ(config.routing.pools[1].basis_points, 0u);
  EXPECT_TRUE(config.routing.pools[1].endpoints.empty());
}

TEST(ConfigLoader, FractionalWeightsBecomeBasisPoints) {
  struct Case {
    std::string_view weights;
    uint32_t blue;
    uint32_t green;
  };
  for (const Case& c :
       {Case{"blue = 99.99, green = 0.01", 9999, 1}, Case{"blue = 99.5, green = 0.5", 9950, 50},
        Case{"blue = 66.67, green = 33.33", 6667, 3333},
        Case{"blue = 100.0, green = 0.0", 10000, 0}, Case{"blue = 0, green = 100", 0, 10000},
        Case{"blue = 1e1, green = 9e1", 1000, 9000}}) {
    const Config config = LoadOk(std::string(R"(
[pools.blue]
endpoints = ["127.0.0.1:9001"]
[pools.green]
endpoints = ["127.0.0.1:9002"]
[routing]
weights = { )") + std::string(c.weights) +
                                 " }\n");
    ASSERT_EQ(config.routing.pools.size(), 2u) << c.weights;
    EXPECT_EQ(config.routing.pools[0].basis_points, c.blue) << c.weights;
    EXPECT_EQ(config.routing.pools[1].basis_points, c.green) << c.weights;
  }
}

TEST(ConfigLoader, AcceptedAddresses) {
  struct Case {
    std::string_view address;
    std::string_view host;
    uint16_t port;
  };
  for (const Case& c :
       {Case{"0.0.0.0:1", "0.0.0.0", 1}, Case{"localhost:65535", "127.0.0.1", 65535},
        Case{"[::]:80", "::", 80}, Case{"[0:0:0:0:0:0:0:1]:80", "::1", 80},
        Case{"[::ffff:10.0.0.1]:80", "::ffff:10.0.0.1", 80},
        Case{"192.168.1.1:080", "192.168.1.1", 80}}) {
    const Config config =
        LoadOk("[listener]\naddress = \"" + std::string(c.address) +
               "\"\n[pools.blue]\nendpoints = [\"" + std::string(c.address) + "\"]\n");
    EXPECT_EQ(config.listener.host, c.host) << c.address;
    EXPECT_EQ(config.listener.port, c.port) << c.address;
    ASSERT_EQ(config.routing.pools[0].endpoints.size(), 1u);
    EXPECT_EQ(config.routing.pools[0].endpoints[0].host, c.host) << c.address;
  }
}

TEST(ConfigLoader, BoundaryLimitsAreAccepted) {
  const Config low = LoadOk(R"(
[pools.blue]
endpoints = ["127.0.0.1:9001"]
[limits]
header_bytes = 1024
header_count = 1
uri_bytes = 64
body_bytes = 0
connections = 0
upstream_idle_per_endpoint = 0
)");
  EXPECT_EQ(low.limits.header_bytes, 1024u);
  EXPECT_EQ(low.limits.header_count, 1u);
  EXPECT_EQ(low.limits.uri_bytes, 64u);
  EXPECT_EQ(low.limits.upstream_idle_per_endpoint, 0u);
  const Config high = LoadOk(R"(
[listener]
workers = 256
[pools.blue]
endpoints = ["127.0.0.1:9001"]
[limits]
header_bytes = 1048576
header_count = 1000
uri_bytes = 1048576
body_bytes = 9223372036854775807
connections = 4294967295
upstream_idle_per_endpoint = 100000
)");
  EXPECT_EQ(high.listener.workers, 256u);
  EXPECT_EQ(high.limits.header_bytes, 1048576u);
  EXPECT_EQ(high.limits.header_count, 1000u);
  EXPECT_EQ(high.limits.uri_bytes, 1048576u);
  EXPECT_EQ(high.limits.body_bytes, 9223372036854775807u);
  EXPECT_EQ(high.limits.connections, 4294967295u);
  EXPECT_EQ(high.limits.upstream_idle_per_endpoint, 100000u);
}

TEST(ConfigLoader, LogLevels) {
  for (std::string_view level : {"error", "warn", "info", "debug"}) {
    const Config config =
        LoadOk(std::string(kOnePool) + "[log]\nlevel = \"" + std::string(level) + "\"\n");
    EXPECT_EQ(config.log.level, level);
  }
}

// --- the error format ------------------------------------------------------------------------

TEST(ConfigError, ToStringFormats) {
  EXPECT_EQ((ConfigError{"listener.address", 3, "boom"}.ToString("a.toml")),
            "a.toml:3: listener.address: boom");
  EXPECT_EQ((ConfigError{"pools", 0, "boom"}.ToString("a.toml")), "a.toml: pools: boom");
  EXPECT_EQ((ConfigError{"", 7, "boom"}.ToString("a.toml")), "a.toml:7: boom");
  EXPECT_EQ((ConfigError{"", 0, "boom"}.ToString("a.toml")), "a.toml: boom");
}

TEST(ConfigLoader, SyntaxErrorReportsLineAndColumn) {
  ConfigLoadResult result = Load(R"(
[pools.blue]
endpoints = ["127.0.0.1:9001"]
[routing
)");
  EXPECT_FALSE(result.config.has_value());
  ASSERT_EQ(result.errors.size(), 1u);
  EXPECT_EQ(result.errors[0].line, 3);
  EXPECT_EQ(result.errors[0].key_path, "");
  EXPECT_THAT(result.errors[0].ToString("test.toml"),
              ::testing::StartsWith("test.toml:3: invalid TOML at column "));
}

TEST(ConfigLoader, DuplicateKeyIsASyntaxError) {
  EXPECT_THAT(LoadErrors(R"(
[pools.blue]
endpoints = ["127.0.0.1:9001"]
endpoints = ["127.0.0.1:9002"]
)"),
              ElementsAre(::testing::StartsWith("test.toml:3: invalid TOML at column ")));
}

TEST(ConfigLoader, AllErrorsAreReportedInFileOrder) {
  EXPECT_THAT(LoadErrors(R"(
[listener]
address = "example.com:80"
workers = 1000
colour = "blue"

[pools.blue]
endpoints = ["127.0.0.1:9001", "127.0.0.1:9001"]
[pools.green]
endpoints = ["127.0.0.1:70000"]

[routing]
weights = { blue = 90, green = 10.005 }

[timeouts]
idle = "60"

[limits]
header_count = 0
)"),
              ElementsAre("test.toml:2: listener.address: invalid address \"example.com:80\": "
                          "host must be a numeric IPv4 address, a bracketed IPv6 address or "
                          "localhost (names are not resolved)",
                          "test.toml:3: listener.workers: must be between 0 and 256, got 1000",
                          "test.toml:4: listener.colour: unknown key",
                          "test.toml:7: pools.blue.endpoints[1]: duplicate endpoint "
                          "\"127.0.0.1:9001\" (same as [0])",
                          "test.toml:9: pools.green.endpoints[0]: invalid address "
                          "\"127.0.0.1:70000\": port must be an integer from 1 to 65535",
                          "test.toml:12: routing.weights.green: at most two decimals are "
                          "allowed, got 10.005",
                          "test.toml:15: timeouts.idle: invalid duration \"60\": expected an "
                          "integer and a unit (ms, s, m, h), e.g. \"250ms\" or \"10s\"",
                          "test.toml:18: limits.header_count: must be between 1 and 1000, got 0"));
}

// --- unknown keys ----------------------------------------------------------------------------

TEST(ConfigLoader, UnknownTopLevelKeys) {
  EXPECT_THAT(
      LoadErrors(R"(
verbose = true
[pools.blue]
endpoints = ["127.0.0.1:9001"]
[mirroring]
fraction = 0.1
)"),
      ElementsAre("test.toml:1: verbose: unknown key", "test.toml:4: mirroring: unknown key"));
}

// --- [guardrails] and [rollout] --------------------------------------------------------------

TEST(ConfigLoader, GuardrailsAreOffWithoutTheirSection) {
  const Config config = LoadOk(kOnePool);
  EXPECT_FALSE(config.guardrails.enabled);
  EXPECT_EQ(config.guardrails.window, Millis(30'000));
  EXPECT_EQ(config.rollout.complete_after, Millis(600'000));
}

TEST(ConfigLoader, GuardrailsTakeTheDesignKeys) {
  const Config config = LoadOk(std::string(kOnePool) + R"(
[admin]
[guardrails]
window = "45s"
interval = "500ms"
min_requests = 80
max_error_rate_increase = 0.02
max_error_rate_ratio = 3
max_error_rate = 0.1
latency_quantile = 0.95
max_p99_ratio = 2
max_latency_ms = 800
min_latency_increase_ms = 20
false_alarm = 1e-5
budget_false_alarm = 0.01
action = "pause"
[rollout]
complete_after = "1d"
)");
  const GuardrailsConfig& guardrails = config.guardrails;
  EXPECT_TRUE(guardrails.enabled);
  EXPECT_EQ(guardrails.window, Millis(45'000));
  EXPECT_EQ(guardrails.interval, Millis(500));
  EXPECT_EQ(guardrails.spec.min_requests, 80u);
  EXPECT_DOUBLE_EQ(guardrails.spec.max_error_rate_increase, 0.02);
  EXPECT_DOUBLE_EQ(guardrails.spec.max_error_rate_ratio, 3);
  EXPECT_DOUBLE_EQ(guardrails.spec.max_error_rate, 0.1);
  EXPECT_DOUBLE_EQ(guardrails.spec.latency_quantile, 0.95);
  EXPECT_DOUBLE_EQ(guardrails.spec.max_latency_ratio, 2);
  EXPECT_DOUBLE_EQ(guardrails.spec.max_latency_ms, 800);
  EXPECT_DOUBLE_EQ(guardrails.spec.min_latency_increase_ms, 20);
  EXPECT_DOUBLE_EQ(guardrails.spec.false_alarm, 1e-5);
  EXPECT_DOUBLE_EQ(guardrails.spec.budget_false_alarm, 0.01);
  EXPECT_EQ(guardrails.action, GuardrailsConfig::Action::kPause);
  EXPECT_EQ(config.rollout.complete_after, Millis(86'400'000));
}

TEST(ConfigLoader, GuardrailMistakesAreNamed) {
  EXPECT_THAT(
      LoadErrors(std::string(kOnePool) + R"(
[admin]
[guardrails]
window = "500ms"
min_requests = 0
max_error_rate_increase = 2
max_p99_ratio = "1.5"
action = "panic"
typo = 1
)"),
      ElementsAre(HasSubstr("guardrails.window: must be between 1s and 10m"),
                  HasSubstr("guardrails.min_requests: must be between 1 and"),
                  HasSubstr("guardrails.max_error_rate_increase: must be between 0 and 1"),
                  HasSubstr("guardrails.max_p99_ratio: expected a number"),
                  HasSubstr("guardrails.action"), HasSubstr("guardrails.typo: unknown key")));
  EXPECT_THAT(LoadErrors(std::string(kOnePool) + R"(
[admin]
[guardrails]
max_p99_ratio = 1.5
max_latency_ratio = 2
)"),
              ElementsAre(HasSubstr("not both")));
  EXPECT_THAT(LoadErrors(std::string(kOnePool) + R"(
[admin]
[guardrails]
max_p99_ratio = 0.5
)"),
              ElementsAre(HasSubstr("max_latency_ratio must be 0 (off) or at least 1")));
  EXPECT_THAT(LoadErrors(std::string(kOnePool) + R"(
[guardrails]
action = "pause"
)"),
              ElementsAre(HasSubstr("guardrails: needs the [admin] section")));
}

// --- [admin] -------------------------------------------------------------------------------

TEST(ConfigLoader, AdminIsOffWithoutItsSection) {
  const Config config = LoadOk(kOnePool);
  EXPECT_FALSE(config.admin.enabled);
}

TEST(ConfigLoader, ListenerTls) {
  EXPECT_FALSE(LoadOk(kOnePool).listener.tls.enabled);
  const Config config = LoadOk(R"(
[listener]
address = "127.0.0.1:8443"
[listener.tls]
certificates = [ { cert = "/etc/cutover/a.pem", key = "/etc/cutover/a.key" },
                 { cert = "/etc/cutover/b.pem", key = "/etc/cutover/b.key" } ]
min_version = "1.3"
ciphers = "ECDHE+AESGCM"
ciphersuites = "TLS_AES_128_GCM_SHA256"
)" + std::string(kOnePool));
  const ListenerTlsConfig& tls = config.listener.tls;
  EXPECT_TRUE(tls.enabled);
  ASSERT_EQ(tls.certificates.size(), 2u);
  EXPECT_EQ(tls.certificates[1].cert, "/etc/cutover/b.pem");
  EXPECT_EQ(tls.certificates[1].key, "/etc/cutover/b.key");
  EXPECT_EQ(tls.min_version, "1.3");
  EXPECT_EQ(tls.ciphers, "ECDHE+AESGCM");
  EXPECT_EQ(tls.ciphersuites, "TLS_AES_128_GCM_SHA256");
}

TEST(ConfigLoader, ListenerTlsErrors) {
  EXPECT_THAT(LoadErrors(R"([listener.tls]
certificates = [ { cert = "/a.pem" }, "b", { cert = "", key = "/b.key", ocsp = true } ]
min_version = "1.1"
)" + std::string(kOnePool)),
              ElementsAre("test.toml:2: listener.tls.certificates[0].key: missing required key",
                          "test.toml:2: listener.tls.certificates[1]: expected a { cert, key } "
                          "table, got a string",
                          "test.toml:2: listener.tls.certificates[2].ocsp: unknown key",
                          "test.toml:2: listener.tls.certificates[2].cert: must not be empty",
                          "test.toml:3: listener.tls.min_version: must be \"1.2\" or \"1.3\", "
                          "got \"1.1\" (older versions are not offered)"));
  EXPECT_THAT(LoadErrors("[listener.tls]\ncertificates = []\n" + std::string(kOnePool)),
              ElementsAre("test.toml:2: listener.tls.certificates: is empty: at least one { "
                          "cert = \"...\", key = \"...\" }"));
}

TEST(ConfigLoader, AdminTls) {
  EXPECT_FALSE(LoadOk(std::string(kOnePool) + "[admin]\n").admin.tls.server.enabled);
  const Config config = LoadOk(std::string(kOnePool) + R"(
[admin]
address = "127.0.0.1:9901"
[admin.tls]
certificates = [ { cert = "/etc/cutover/admin.pem", key = "/etc/cutover/admin.key" } ]
min_version = "1.3"
client_ca_file = "/etc/cutover/clients-ca.pem"
require_client_certificate = true
client_roles = { "ops-oncall" = "operator", "sre lead" = "admin", "grafana" = "viewer" }
)");
  const AdminTlsConfig& tls = config.admin.tls;
  EXPECT_TRUE(tls.server.enabled);
  ASSERT_EQ(tls.server.certificates.size(), 1u);
  EXPECT_EQ(tls.server.certificates[0].cert, "/etc/cutover/admin.pem");
  EXPECT_EQ(tls.server.certificates[0].key, "/etc/cutover/admin.key");
  EXPECT_EQ(tls.server.min_version, "1.3");
  EXPECT_EQ(tls.client_ca_file, "/etc/cutover/clients-ca.pem");
  EXPECT_TRUE(tls.require_client_certificate);
  // Required certificates mapped to roles: no tokens file needed.
  EXPECT_TRUE(config.admin.tokens_file.empty());
  using Role = std::pair<std::string, std::string>;
  EXPECT_THAT(tls.client_roles, ::testing::UnorderedElementsAre(Role{"ops-oncall", "operator"},
                                                                Role{"sre lead", "admin"},
                                                                Role{"grafana", "viewer"}));
  EXPECT_FALSE(config.listener.tls.enabled);  // independent of the proxy listener's

  // Server certificates only, tokens as without TLS.
  const Config tokens = LoadOk(std::string(kOnePool) + R"(
[admin]
address = "127.0.0.1:9901"
tokens_file = "/etc/cutover/tokens.toml"
tls = { certificates = [ { cert = "/a.pem", key = "/a.key" } ] }
)");
  EXPECT_TRUE(tokens.admin.tls.server.enabled);
  EXPECT_EQ(tokens.admin.tls.server.min_version, "1.2");
  EXPECT_TRUE(tokens.admin.tls.client_ca_file.empty());
  EXPECT_FALSE(tokens.admin.tls.require_client_certificate);
  EXPECT_TRUE(tokens.admin.tls.client_roles.empty());
}

TEST(ConfigLoader, AdminTlsErrors) {
  EXPECT_THAT(LoadErrors(std::string(kOnePool) + R"(
[admin]
address = "127.0.0.1:9901"
tokens_file = "/t.toml"
[admin.tls]
certificates = [ { cert = "/a.pem" } ]
min_version = "1.0"
require_client_certificate = true
client_roles = { "ops" = "root", "" = "viewer", "ci" = 3 }
ocsp = true
)"),
              ElementsAre("test.toml:8: admin.tls.certificates[0].key: missing required key",
                          "test.toml:9: admin.tls.min_version: must be \"1.2\" or \"1.3\", got "
                          "\"1.0\" (older versions are not offered)",
                          "test.toml:10: admin.tls.require_client_certificate: needs "
                          "client_ca_file: the certificates are verified against it",
                          "test.toml:11: admin.tls.client_roles.\"\": a certificate common name "
                          "must not be empty",
                          "test.toml:11: admin.tls.client_roles.ci: expected a string, got an "
                          "integer",
                          "test.toml:11: admin.tls.client_roles.ops: must be \"viewer\", "
                          "\"operator\" or \"admin\", got \"root\"",
                          "test.toml:11: admin.tls.client_roles: needs client_ca_file: only a "
                          "verified client certificate is mapped to a role",
                          "test.toml:12: admin.tls.ocsp: unknown key"));
  // TLS needs the TCP listener; the Unix socket has none.
  EXPECT_THAT(LoadErrors(std::string(kOnePool) +
                         "[admin]\n[admin.tls]\ncertificates = [ { cert = \"/a\", key = \"/b\" } "
                         "]\n"),
              ElementsAre("test.toml:4: admin.tls: needs admin.address: TLS is for the TCP "
                          "listener (the Unix socket checks the caller's uid)"));
  // Optional client certificates, or required ones without roles, still need tokens.
  for (const std::string_view keys :
       {"client_ca_file = \"/ca.pem\"\nclient_roles = { ops = \"admin\" }\n",
        "client_ca_file = \"/ca.pem\"\nrequire_client_certificate = true\n"}) {
    EXPECT_THAT(LoadErrors(std::string(kOnePool) +
                           "[admin]\naddress = \"127.0.0.1:9901\"\n[admin.tls]\ncertificates = [ "
                           "{ cert = \"/a\", key = \"/b\" } ]\n" +
                           std::string(keys)),
                ElementsAre("test.toml:4: admin.tokens_file: required with admin.address: TCP "
                            "callers authenticate with bearer tokens (unless admin.tls requires "
                            "client certificates and maps them in client_roles)"))
        << keys;
  }
}

TEST(ConfigLoader, PoolTls) {
  EXPECT_TRUE(LoadOk(kOnePool).upstream_tls.empty());
  const Config config = LoadOk(R"(
[pools.blue]
endpoints = ["127.0.0.1:9001"]
[pools.green]
endpoints = ["10.0.1.11:8443", "[::1]:8443"]
[pools.green.tls]
ca_file = "/etc/cutover/green-ca.pem"
server_name = "green.internal"
cert = "/etc/cutover/client.pem"
key = "/etc/cutover/client.key"
verify = false
min_version = "1.3"
[routing]
weights = { blue = 100 }
)");
  ASSERT_EQ(config.upstream_tls.size(), 1u);  // blue speaks plain HTTP
  const UpstreamTlsConfig& tls = config.upstream_tls.at("green");
  EXPECT_EQ(tls.ca_file, "/etc/cutover/green-ca.pem");
  EXPECT_EQ(tls.server_name, "green.internal");
  EXPECT_EQ(tls.cert, "/etc/cutover/client.pem");
  EXPECT_EQ(tls.key, "/etc/cutover/client.key");
  EXPECT_FALSE(tls.verify);
  EXPECT_EQ(tls.min_version, "1.3");
}

TEST(ConfigLoader, PoolTlsDefaultsWhenTheTableIsEmpty) {
  const Config config = LoadOk(R"(
[pools.blue]
endpoints = ["127.0.0.1:9001"]
tls = {}
)");
  const UpstreamTlsConfig& tls = config.upstream_tls.at("blue");
  EXPECT_EQ(tls.ca_file, "");      // the system store
  EXPECT_EQ(tls.server_name, "");  // each endpoint's address
  EXPECT_EQ(tls.cert, "");
  EXPECT_TRUE(tls.verify);
  EXPECT_EQ(tls.min_version, "1.2");
  // An IP address is a valid server name too (verified against IP SANs).
  EXPECT_EQ(LoadOk(std::string(kOnePool) + "[pools.blue.tls]\nserver_name = \"2001:db8::1\"\n")
                .upstream_tls.at("blue")
                .server_name,
            "2001:db8::1");
}

TEST(ConfigLoader, PoolTlsErrors) {
  EXPECT_THAT(LoadErrors(R"(
[pools.blue]
endpoints = ["127.0.0.1:9001"]
[pools.blue.tls]
ca_file = ""
cert = "/etc/cutover/client.pem"
verify = "yes"
min_version = "1.1"
sni = "x"
[pools.green]
endpoints = ["127.0.0.1:9002"]
tls = true
[pools.gray]
endpoints = ["127.0.0.1:9003"]
tls = { key = "/k.pem", server_name = "*.internal" }
[routing]
weights = { blue = 100 }
)"),
              ElementsAre("test.toml:4: pools.blue.tls.ca_file: must not be empty",
                          "test.toml:5: pools.blue.tls.cert: needs `key` too (the client "
                          "certificate's private key)",
                          "test.toml:6: pools.blue.tls.verify: expected a boolean, got a string",
                          "test.toml:7: pools.blue.tls.min_version: must be \"1.2\" or \"1.3\", "
                          "got \"1.1\" (older versions are not offered)",
                          "test.toml:8: pools.blue.tls.sni: unknown key",
                          "test.toml:11: pools.green.tls: expected a table, got a boolean",
                          "test.toml:14: pools.gray.tls.key: needs `cert` too (the client "
                          "certificate this key belongs to)",
                          "test.toml:14: pools.gray.tls.server_name: must be a host name or a "
                          "numeric IP address (dot-separated labels of 1 to 63 letters, digits "
                          "and '-'; no wildcard), got \"*.internal\""));
  EXPECT_THAT(LoadErrors(std::string(kOnePool) + "[pools.blue.tls]\nserver_name = \"\"\n"),
              ElementsAre("test.toml:4: pools.blue.tls.server_name: must not be empty (leave it "
                          "out to verify each endpoint's address), got \"\""));
}

TEST(ConfigLoader, MetricsListener) {
  EXPECT_TRUE(LoadOk(kOnePool).metrics.host.empty());
  const Config config = LoadOk(std::string(kOnePool) + "[metrics]\naddress = \"[::1]:9100\"\n");
  EXPECT_EQ(config.metrics.host, "::1");
  EXPECT_EQ(config.metrics.port, 9100);
  EXPECT_FALSE(config.admin.enabled);  // independent of the admin API
}

TEST(ConfigLoader, MetricsErrors) {
  EXPECT_THAT(
      LoadErrors(std::string(kOnePool) + "[metrics]\naddress = \"prom:9100\"\npath = \"/m\"\n"),
      ElementsAre("test.toml:4: metrics.address: invalid address \"prom:9100\": host must be a "
                  "numeric IPv4 address, a bracketed IPv6 address or localhost (names are not "
                  "resolved)",
                  "test.toml:5: metrics.path: unknown key"));
  EXPECT_THAT(LoadErrors(std::string(kOnePool) + "[metrics]\n"),
              ElementsAre("test.toml:3: metrics.address: missing required key: the [metrics] "
                          "section is the listener's address"));
}

TEST(ConfigLoader, AdminSectionWithDefaults) {
  const Config config = LoadOk(std::string(kOnePool) + "[admin]\n");
  EXPECT_TRUE(config.admin.enabled);
  EXPECT_EQ(config.admin.socket, "/run/cutover/admin.sock");
  EXPECT_EQ(config.admin.state_file, "/var/lib/cutover/state.json");
  EXPECT_EQ(config.admin.audit_log, "/var/log/cutover/audit.log");
  EXPECT_TRUE(config.admin.host.empty());
  EXPECT_EQ(config.admin.body_bytes, 65536u);
}

TEST(ConfigLoader, AdminSectionWithEveryKey) {
  const Config config = LoadOk(std::string(kOnePool) + R"(
[admin]
socket = "/tmp/a.sock"
allow_uids = [1001, 0]
address = "127.0.0.1:9901"
tokens_file = "/etc/cutover/tokens.toml"
state_file = ""
audit_log = "/tmp/audit.log"
body_bytes = 2048
)");
  EXPECT_EQ(config.admin.socket, "/tmp/a.sock");
  EXPECT_THAT(config.admin.allow_uids, ElementsAre(1001u, 0u));
  EXPECT_EQ(config.admin.host, "127.0.0.1");
  EXPECT_EQ(config.admin.port, 9901);
  EXPECT_EQ(config.admin.tokens_file, "/etc/cutover/tokens.toml");
  EXPECT_EQ(config.admin.state_file, "");
  EXPECT_EQ(config.admin.audit_log, "/tmp/audit.log");
  EXPECT_EQ(config.admin.body_bytes, 2048u);
}

TEST(ConfigLoader, AdminErrors) {
  EXPECT_THAT(
      LoadErrors(std::string(kOnePool) + R"(
[admin]
address = "127.0.0.1:9901"
allow_uids = [-1, "root"]
body_bytes = 10
tokens_file = ""
colour = "blue"
)"),
      ElementsAre("test.toml:5: admin.tokens_file: required with admin.address: TCP "
                  "callers authenticate with bearer tokens (unless admin.tls requires client "
                  "certificates and maps them in client_roles)",
                  "test.toml:6: admin.allow_uids[0]: must be between 0 and 4294967294, "
                  "got -1",
                  "test.toml:6: admin.allow_uids[1]: expected an integer, got a string",
                  "test.toml:7: admin.body_bytes: must be between 1024 and 16777216, got 10",
                  "test.toml:8: admin.tokens_file: must not be empty",
                  "test.toml:9: admin.colour: unknown key"));
  EXPECT_THAT(LoadErrors(std::string(kOnePool) + "[admin]\nsocket = \"\"\n"),
              ElementsAre("test.toml:4: admin.socket: is empty and there is no address: the "
                          "admin API would have no listener"));
}

TEST(ConfigLoader, UnknownNestedKeys) {
  EXPECT_THAT(
      LoadErrors(R"(
[listener]
adress = "127.0.0.1:80"
[pools.blue]
endpoints = ["127.0.0.1:9001"]
weight = 2
[routing]
weights = { blue = 100 }
[routing.affinty]
mode = "hash"
[timeouts]
connect = "1s"
[limits]
body = 10
[log]
format = "json"
[headers]
x_real_ip = true
)"),
      ElementsAre("test.toml:2: listener.adress: unknown key",
                  "test.toml:5: pools.blue.weight: unknown key",
                  "test.toml:8: routing.affinty: unknown key",
                  "test.toml:11: timeouts.connect: unknown key",
                  "test.toml:13: limits.body: unknown key", "test.toml:15: log.format: unknown key",
                  "test.toml:17: headers.x_real_ip: unknown key"));
}

TEST(ConfigLoader, OddKeysAreQuotedAndEscapedInPaths) {
  EXPECT_THAT(LoadErrors(R"(
[pools.blue]
endpoints = ["127.0.0.1:9001"]
"a.b" = 1
"x\u001b[31m" = 2
)"),
              ElementsAre("test.toml:3: pools.blue.\"a.b\": unknown key",
                          "test.toml:4: pools.blue.\"x\\u001b[31m\": unknown key"));
}

// --- wrong types -----------------------------------------------------------------------------

TEST(ConfigLoader, WrongTypes) {
  EXPECT_THAT(
      LoadErrors(R"(
[listener]
address = 8080
workers = "4"
[pools.blue]
endpoints = "127.0.0.1:9001"
[pools.green]
endpoints = [9002]
[routing]
baseline = true
weights = { blue = "90", green = true }
[timeouts]
idle = 60
[limits]
header_bytes = 16384.0
[log]
access = "yes"
level = 3
[headers]
x_forwarded_for = 1
)"),
      ElementsAre("test.toml:2: listener.address: expected a string, got an integer",
                  "test.toml:3: listener.workers: expected an integer, got a string",
                  "test.toml:5: pools.blue.endpoints: expected an array, got a string",
                  "test.toml:7: pools.green.endpoints[0]: expected a string or a table, got an "
                  "integer",
                  "test.toml:9: routing.baseline: expected a string, got a boolean",
                  // toml++ iterates inline table keys by name, both are on line 10.
                  "test.toml:10: routing.weights.blue: expected a number, got a string",
                  "test.toml:10: routing.weights.green: expected a number, got a boolean",
                  "test.toml:12: timeouts.idle: expected a string, got an integer",
                  "test.toml:14: limits.header_bytes: expected an integer, got a float",
                  "test.toml:16: log.access: expected a boolean, got a string",
                  "test.toml:17: log.level: expected a string, got an integer",
                  "test.toml:19: headers.x_forwarded_for: expected a boolean, got an integer"));
}

TEST(ConfigLoader, SectionsThatAreNotTables) {
  EXPECT_THAT(LoadErrors(R"(
listener = "0.0.0.0:8080"
pools = ["blue"]
routing = 1
timeouts = 2
limits = 3
log = 4
headers = 2024-01-01
)"),
              ElementsAre("test.toml:1: listener: expected a table, got a string",
                          "test.toml:2: pools: expected a table, got an array",
                          "test.toml:3: routing: expected a table, got an integer",
                          "test.toml:4: timeouts: expected a table, got an integer",
                          "test.toml:5: limits: expected a table, got an integer",
                          "test.toml:6: log: expected a table, got an integer",
                          "test.toml:7: headers: expected a table, got a date"));
}

TEST(ConfigLoader, PoolAndWeightsThatAreNotTables) {
  EXPECT_THAT(LoadErrors(R"(
[pools]
blue = ["127.0.0.1:9001"]
green = { endpoints = ["127.0.0.1:9002"] }
[routing]
weights = [90, 10]
)"),
              ElementsAre("test.toml:2: pools.blue: expected a table, got an array",
                          "test.toml:5: routing.weights: expected a table, got an array"));
}

// --- addresses -------------------------------------------------------------------------------

TEST(ConfigLoader, BadAddresses) {
  struct Case {
    std::string_view address;
    std::string_view why;
  };
  constexpr std::string_view kNotNumeric =
      "host must be a numeric IPv4 address, a bracketed IPv6 address or localhost (names are "
      "not resolved)";
  constexpr std::string_view kBadPort = "port must be an integer from 1 to 65535";
  for (const Case& c : {
           Case{"127.0.0.1", "missing port, expected host:port"},
           Case{"", "missing port, expected host:port"},
           Case{"::1:8080", "an IPv6 address must be in brackets, e.g. \"[::1]:8080\""},
           Case{"[::1]8080", "expected [IPv6]:port"},
           Case{"[::1]", "expected [IPv6]:port"},
           Case{"[::1:8080", "expected [IPv6]:port"},
           Case{"[127.0.0.1]:80", "not a numeric IPv6 address"},
           Case{"[localhost]:80", "not a numeric IPv6 address"},
           Case{"[fe80::1%eth0]:80", "not a numeric IPv6 address"},
           Case{"example.com:80", kNotNumeric},
           Case{"1.2.3:80", kNotNumeric},
           Case{"256.1.1.1:80", kNotNumeric},
           Case{" 127.0.0.1:80", kNotNumeric},
           Case{":80", kNotNumeric},
           Case{"LOCALHOST:80", kNotNumeric},
           Case{"127.0.0.1:0", kBadPort},
           Case{"127.0.0.1:65536", kBadPort},
           Case{"127.0.0.1:", kBadPort},
           Case{"127.0.0.1:+80", kBadPort},
           Case{"127.0.0.1:-1", kBadPort},
           Case{"127.0.0.1:80 ", kBadPort},
           Case{"127.0.0.1:http", kBadPort},
           Case{"127.0.0.1:000080", kBadPort},
       }) {
    const std::string address(c.address);
    EXPECT_THAT(LoadErrors("[listener]\naddress = \"" + address +
                           "\"\n[pools.blue]\nendpoints = [\"127.0.0.1:9001\"]\n"),
                ElementsAre("test.toml:2: listener.address: invalid address \"" + address +
                            "\": " + std::string(c.why)))
        << address;
    EXPECT_THAT(LoadErrors("[pools.blue]\nendpoints = [\"" + address + "\"]\n"),
                ElementsAre("test.toml:2: pools.blue.endpoints[0]: invalid address \"" + address +
                            "\": " + std::string(c.why)))
        << address;
  }
}

TEST(ConfigLoader, DuplicateEndpoints) {
  EXPECT_THAT(LoadErrors(R"(
[pools.blue]
endpoints = [
  "127.0.0.1:9001",
  "[::1]:9001",
  "localhost:9001",
  "[0::1]:9001",
  "127.0.0.1:9002",
]
)"),
              ElementsAre("test.toml:5: pools.blue.endpoints[2]: duplicate endpoint "
                          "\"localhost:9001\" (same as [0])",
                          "test.toml:6: pools.blue.endpoints[3]: duplicate endpoint "
                          "\"[0::1]:9001\" (same as [1])"));
}

TEST(ConfigLoader, SameEndpointInTwoPoolsIsAllowed) {
  // Moving one backend from blue to green by weights alone is a legitimate set-up.
  const Config config = LoadOk(R"(
[pools.blue]
endpoints = ["127.0.0.1:9001"]
[pools.green]
endpoints = ["127.0.0.1:9001"]
[routing]
weights = { blue = 50, green = 50 }
)");
  EXPECT_EQ(config.routing.pools.size(), 2u);
}

// --- pools -----------------------------------------------------------------------------------

TEST(ConfigLoader, MissingPools) {
  EXPECT_THAT(LoadErrors("[listener]\naddress = \"127.0.0.1:80\"\n"),
              ElementsAre("test.toml: pools: at least one pool is required"));
  EXPECT_THAT(LoadErrors(""), ElementsAre("test.toml: pools: at least one pool is required"));
}

TEST(ConfigLoader, EmptyPools) {
  EXPECT_THAT(LoadErrors("\n[pools]\n"),
              ElementsAre("test.toml:1: pools: at least one pool is required"));
}

TEST(ConfigLoader, MissingPoolsDoesNotCascadeIntoRouting) {
  EXPECT_THAT(LoadErrors(R"(
[routing]
baseline = "blue"
candidate = "green"
weights = { blue = 90, green = 10 }
)"),
              ElementsAre("test.toml: pools: at least one pool is required"));
}

TEST(ConfigLoader, BadPoolNames) {
  const std::string long_name(65, 'a');
  EXPECT_THAT(LoadErrors(R"(
[pools."blue green"]
endpoints = ["127.0.0.1:9001"]
[pools.""]
endpoints = ["127.0.0.1:9002"]
[pools.)" + long_name + R"(]
endpoints = ["127.0.0.1:9003"]
[routing]
weights = { "blue green" = 100 }
)"),
              ElementsAre("test.toml:1: pools.\"blue green\": a pool name must be 1 to 64 "
                          "characters from A-Z, a-z, 0-9, '_' and '-'",
                          "test.toml:3: pools.\"\": a pool name must be 1 to 64 characters "
                          "from A-Z, a-z, 0-9, '_' and '-'",
                          "test.toml:5: pools." + long_name +
                              ": a pool name must be 1 to 64 characters from A-Z, a-z, 0-9, "
                              "'_' and '-'"));
  LoadOk("[pools." + std::string(64, 'a') + "]\nendpoints = [\"127.0.0.1:1\"]\n");
  LoadOk("[pools.A-z_09]\nendpoints = [\"127.0.0.1:1\"]\n");
}

TEST(ConfigLoader, MissingEndpointsKey) {
  EXPECT_THAT(LoadErrors(R"(
[pools.blue]
endpoints = ["127.0.0.1:9001"]
[pools.green]
[routing]
weights = { blue = 100 }
)"),
              ElementsAre("test.toml:3: pools.green.endpoints: missing required key"));
}

TEST(ConfigLoader, EmptyEndpointsNeedZeroWeight) {
  EXPECT_THAT(LoadErrors(R"(
[pools.blue]
endpoints = ["127.0.0.1:9001"]
[pools.green]
endpoints = []
[routing]
weights = { blue = 99.5, green = 0.5 }
)"),
              ElementsAre("test.toml:4: pools.green.endpoints: must not be empty: the pool has "
                          "a weight of 0.5%"));
  EXPECT_THAT(LoadErrors("[pools.solo]\nendpoints = []\n"),
              ElementsAre("test.toml:2: pools.solo.endpoints: must not be empty: the pool has "
                          "a weight of 100%"));
}

// --- routing ---------------------------------------------------------------------------------

constexpr std::string_view kTwoPools = R"(
[pools.blue]
endpoints = ["127.0.0.1:9001"]
[pools.green]
endpoints = ["127.0.0.1:9002"]
)";

std::vector<std::string> TwoPoolErrors(std::string_view routing) {
  return LoadErrors(std::string(kTwoPools) + std::string(routing));
}

TEST(ConfigLoader, WeightsMustSumToHundred) {
  EXPECT_THAT(TwoPoolErrors("[routing]\nweights = { blue = 90, green = 5 }\n"),
              ElementsAre("test.toml:6: routing.weights: weights must sum to 100, they sum "
                          "to 95"));
  EXPECT_THAT(TwoPoolErrors("[routing]\nweights = { blue = 90, green = 10.01 }\n"),
              ElementsAre("test.toml:6: routing.weights: weights must sum to 100, they sum "
                          "to 100.01"));
  EXPECT_THAT(TwoPoolErrors("[routing]\nweights = {}\n"),
              ElementsAre("test.toml:6: routing.weights: weights must sum to 100, they sum "
                          "to 0"));
}

TEST(ConfigLoader, WeightsWithMoreThanTwoDecimals) {
  EXPECT_THAT(TwoPoolErrors("[routing]\nweights = { blue = 89.995, green = 10.005 }\n"),
              ElementsAre("test.toml:6: routing.weights.blue: at most two decimals are "
                          "allowed, got 89.995",
                          "test.toml:6: routing.weights.green: at most two decimals are "
                          "allowed, got 10.005"));
  EXPECT_THAT(TwoPoolErrors("[routing]\nweights = { blue = 99.999, green = 0.001 }\n"),
              ElementsAre(::testing::HasSubstr("got 99.999"), ::testing::HasSubstr("got 0.001")));
}

TEST(ConfigLoader, WeightsOutOfRange) {
  EXPECT_THAT(TwoPoolErrors("[routing]\nweights = { blue = 110, green = -10 }\n"),
              ElementsAre("test.toml:6: routing.weights.blue: must be between 0 and 100, got 110",
                          "test.toml:6: routing.weights.green: must be between 0 and 100, got "
                          "-10"));
  EXPECT_THAT(TwoPoolErrors("[routing]\nweights = { blue = 100.5, green = nan }\n"),
              ElementsAre("test.toml:6: routing.weights.blue: must be between 0 and 100, got "
                          "100.5",
                          "test.toml:6: routing.weights.green: must be between 0 and 100, got "
                          "nan"));
  EXPECT_THAT(TwoPoolErrors("[routing]\nweights = { blue = inf, green = -0.5 }\n"),
              ElementsAre(::testing::HasSubstr("got inf"), ::testing::HasSubstr("got -0.5")));
}

TEST(ConfigLoader, UnknownPoolInWeights) {
  EXPECT_THAT(TwoPoolErrors(R"(
[routing]
weights = { blue = 90, red = 10 }
)"),
              ElementsAre("test.toml:7: routing.weights.red: unknown pool"));
}

TEST(ConfigLoader, WeightsRequiredWithSeveralPools) {
  EXPECT_THAT(TwoPoolErrors(""),
              ElementsAre("test.toml: routing.weights: required when there is more than one "
                          "pool"));
  EXPECT_THAT(TwoPoolErrors("[routing]\nbaseline = \"blue\"\n"),
              ElementsAre("test.toml:5: routing.weights: required when there is more than one "
                          "pool"));
}

TEST(ConfigLoader, BaselineAndCandidateMustNamePools) {
  EXPECT_THAT(TwoPoolErrors(R"([routing]
baseline = "blu"
candidate = "greeen"
weights = { blue = 100 }
)"),
              ElementsAre("test.toml:6: routing.baseline: unknown pool \"blu\"",
                          "test.toml:7: routing.candidate: unknown pool \"greeen\""));
}

TEST(ConfigLoader, CandidateMustDifferFromBaseline) {
  EXPECT_THAT(TwoPoolErrors(R"([routing]
baseline = "blue"
candidate = "blue"
weights = { blue = 100 }
)"),
              ElementsAre("test.toml:7: routing.candidate: must differ from baseline"));
}

TEST(ConfigLoader, BaselineAloneIsFine) {
  const Config config = LoadOk(std::string(kTwoPools) +
                               "[routing]\nbaseline = \"green\"\nweights = { green = 100 }\n");
  EXPECT_EQ(config.routing.baseline, "green");
  EXPECT_EQ(config.routing.candidate, "");
}

// --- timeouts, limits, log, listener -----------------------------------------------------------

TEST(ConfigLoader, BadDurations) {
  EXPECT_THAT(LoadErrors(std::string(kOnePool) + R"([timeouts]
header_read = "10 s"
idle = "-1s"
upstream_connect = "1.5s"
upstream_response = ""
upstream_idle = "0s"
tunnel_idle = "0ms"
drain = "30sec"
)"),
              ElementsAre("test.toml:4: timeouts.header_read: invalid duration \"10 s\": "
                          "expected an integer and a unit (ms, s, m, h), e.g. \"250ms\" or "
                          "\"10s\"",
                          ::testing::StartsWith("test.toml:5: timeouts.idle: invalid duration "
                                                "\"-1s\": "),
                          ::testing::StartsWith("test.toml:6: timeouts.upstream_connect: "
                                                "invalid duration \"1.5s\": "),
                          ::testing::StartsWith("test.toml:7: timeouts.upstream_response: "
                                                "invalid duration \"\": "),
                          "test.toml:8: timeouts.upstream_idle: must be greater than 0",
                          "test.toml:9: timeouts.tunnel_idle: must be greater than 0",
                          ::testing::StartsWith("test.toml:10: timeouts.drain: invalid "
                                                "duration \"30sec\": ")));
}

TEST(ConfigLoader, LimitsOutOfRange) {
  EXPECT_THAT(LoadErrors(std::string(kOnePool) + R"([limits]
header_bytes = 1023
header_count = 1001
uri_bytes = 63
body_bytes = -1
connections = 4294967296
upstream_idle_per_endpoint = 100001
)"),
              ElementsAre("test.toml:4: limits.header_bytes: must be between 1024 and 1048576, "
                          "got 1023",
                          "test.toml:5: limits.header_count: must be between 1 and 1000, got 1001",
                          "test.toml:6: limits.uri_bytes: must be between 64 and 1048576, got 63",
                          "test.toml:7: limits.body_bytes: must be 0 or more, got -1",
                          "test.toml:8: limits.connections: must be between 0 and 4294967295, "
                          "got 4294967296",
                          "test.toml:9: limits.upstream_idle_per_endpoint: must be between 0 "
                          "and 100000, got 100001"));
  EXPECT_THAT(LoadErrors(std::string(kOnePool) + "[limits]\nheader_bytes = 1048577\n"),
              ElementsAre("test.toml:4: limits.header_bytes: must be between 1024 and 1048576, "
                          "got 1048577"));
}

TEST(ConfigLoader, WorkersOutOfRange) {
  EXPECT_THAT(LoadErrors(std::string(kOnePool) + "[listener]\nworkers = -1\n"),
              ElementsAre("test.toml:4: listener.workers: must be between 0 and 256, got -1"));
  EXPECT_THAT(LoadErrors(std::string(kOnePool) + "[listener]\nworkers = 257\n"),
              ElementsAre("test.toml:4: listener.workers: must be between 0 and 256, got 257"));
}

TEST(ConfigLoader, BadLogSettings) {
  EXPECT_THAT(LoadErrors(std::string(kOnePool) + R"([log]
access_path = ""
level = "verbose"
)"),
              ElementsAre("test.toml:4: log.access_path: must not be empty (\"-\" is stdout)",
                          "test.toml:5: log.level: must be one of \"error\", \"warn\", "
                          "\"info\", \"debug\", got \"verbose\""));
}

TEST(ConfigLoader, ValuesAreEscapedInMessages) {
  EXPECT_THAT(LoadErrors(std::string(kOnePool) + "[log]\nlevel = \"\\u001b[2J\\\"\"\n"),
              ElementsAre("test.toml:4: log.level: must be one of \"error\", \"warn\", "
                          "\"info\", \"debug\", got \"\\u001b[2J\\\"\""));
}

// --- pools: endpoints with weights, failover, balance, outlier, health checks ---------------

std::vector<std::string> PoolErrors(std::string_view body) {
  return LoadErrors("[pools.blue]\nendpoints = [\"127.0.0.1:9001\"]\n" + std::string(body));
}

TEST(ConfigLoader, PoolPolicyDefaults) {
  const Config config = LoadOk(kOnePool);
  const routing::PoolSpec& pool = config.routing.pools[0];
  const routing::PoolSpec defaults;
  EXPECT_EQ(pool.endpoints[0].weight, 1u);
  EXPECT_EQ(pool.failover, routing::FailoverPolicy::kOtherPool);
  EXPECT_EQ(pool.balance, routing::BalanceMode::kRoundRobin);
  EXPECT_EQ(pool.outlier.consecutive_failures, defaults.outlier.consecutive_failures);
  EXPECT_EQ(pool.outlier.base_ejection_ms, defaults.outlier.base_ejection_ms);
  EXPECT_EQ(pool.outlier.max_ejection_ms, defaults.outlier.max_ejection_ms);
  EXPECT_FALSE(pool.health_check.enabled);
}

TEST(ConfigLoader, PoolPoliciesAreRead) {
  const Config config = LoadOk(R"(
[pools.blue]
endpoints = ["10.0.0.11:8080", { address = "10.0.0.12:8080", weight = 3 }, { address = "[::1]:80" }]
failover = "503"
balance = "power-of-two"
[pools.blue.outlier]
consecutive_failures = 7
base_ejection = "500ms"
max_ejection = "1h"
[pools.blue.health_check]
path = "/status?deep=1"
interval = "10s"
timeout = "10s"
healthy_threshold = 1
unhealthy_threshold = 100
)");
  const routing::PoolSpec& pool = config.routing.pools[0];
  ASSERT_EQ(pool.endpoints.size(), 3u);
  EXPECT_EQ(pool.endpoints[0].host, "10.0.0.11");
  EXPECT_EQ(pool.endpoints[0].weight, 1u);
  EXPECT_EQ(pool.endpoints[1].host, "10.0.0.12");
  EXPECT_EQ(pool.endpoints[1].port, 8080);
  EXPECT_EQ(pool.endpoints[1].weight, 3u);
  EXPECT_EQ(pool.endpoints[2].host, "::1");
  EXPECT_EQ(pool.endpoints[2].weight, 1u);
  EXPECT_EQ(pool.failover, routing::FailoverPolicy::kUnavailable);
  EXPECT_EQ(pool.balance, routing::BalanceMode::kPowerOfTwo);
  EXPECT_EQ(pool.outlier.consecutive_failures, 7u);
  EXPECT_EQ(pool.outlier.base_ejection_ms, 500);
  EXPECT_EQ(pool.outlier.max_ejection_ms, 3'600'000);
  EXPECT_TRUE(pool.health_check.enabled);
  EXPECT_EQ(pool.health_check.path, "/status?deep=1");
  EXPECT_EQ(pool.health_check.interval_ms, 10'000);
  EXPECT_EQ(pool.health_check.timeout_ms, 10'000);
  EXPECT_EQ(pool.health_check.healthy_threshold, 1u);
  EXPECT_EQ(pool.health_check.unhealthy_threshold, 100u);
}

TEST(ConfigLoader, OtherPoolFailoverAndRoundRobinCanBeSpelledOut) {
  const Config config =
      LoadOk(std::string(kOnePool) + "failover = \"other-pool\"\nbalance = \"round-robin\"\n");
  EXPECT_EQ(config.routing.pools[0].failover, routing::FailoverPolicy::kOtherPool);
  EXPECT_EQ(config.routing.pools[0].balance, routing::BalanceMode::kRoundRobin);
}

TEST(ConfigLoader, HealthCheckTableEnablesChecksWithDefaults) {
  const Config on = LoadOk(std::string(kOnePool) + "[pools.blue.health_check]\n");
  const routing::HealthCheckSpec defaults;
  const routing::HealthCheckSpec& check = on.routing.pools[0].health_check;
  EXPECT_TRUE(check.enabled);
  EXPECT_EQ(check.path, defaults.path);
  EXPECT_EQ(check.interval_ms, defaults.interval_ms);
  EXPECT_EQ(check.timeout_ms, defaults.timeout_ms);
  EXPECT_EQ(check.healthy_threshold, defaults.healthy_threshold);
  EXPECT_EQ(check.unhealthy_threshold, defaults.unhealthy_threshold);
  const Config off = LoadOk(std::string(kOnePool) + "[pools.blue.health_check]\nenabled = false\n");
  EXPECT_FALSE(off.routing.pools[0].health_check.enabled);
}

TEST(ConfigLoader, OutlierEjectionCanBeDisabled) {
  const Config config =
      LoadOk(std::string(kOnePool) + "[pools.blue.outlier]\nconsecutive_failures = 0\n");
  EXPECT_EQ(config.routing.pools[0].outlier.consecutive_failures, 0u);
}

TEST(ConfigLoader, BadFailoverAndBalance) {
  EXPECT_THAT(PoolErrors("failover = \"fail\"\nbalance = \"least-conn\"\n"),
              ElementsAre("test.toml:3: pools.blue.failover: must be one of \"other-pool\", "
                          "\"503\", got \"fail\"",
                          "test.toml:4: pools.blue.balance: must be one of \"round-robin\", "
                          "\"power-of-two\", got \"least-conn\""));
  EXPECT_THAT(PoolErrors("failover = 503\nbalance = true\n"),
              ElementsAre("test.toml:3: pools.blue.failover: expected a string, got an integer",
                          "test.toml:4: pools.blue.balance: expected a string, got a boolean"));
}

TEST(ConfigLoader, BadEndpointTables) {
  EXPECT_THAT(LoadErrors(R"(
[pools.blue]
endpoints = [
  { address = "127.0.0.1:9001", weight = 0 },
  { address = "127.0.0.1:9002", weight = 1001 },
  { weight = 2 },
  { address = "127.0.0.1:9003", weight = "2" },
  { address = "127.0.0.1:9004", wieght = 2 },
  { address = "example.com:80" },
  "127.0.0.1:9005",
  { address = "127.0.0.1:9005", weight = 5 },
  true,
]
)"),
              ElementsAre("test.toml:3: pools.blue.endpoints[0].weight: must be between 1 and "
                          "1000, got 0",
                          "test.toml:4: pools.blue.endpoints[1].weight: must be between 1 and "
                          "1000, got 1001",
                          "test.toml:5: pools.blue.endpoints[2].address: missing required key",
                          "test.toml:6: pools.blue.endpoints[3].weight: expected an integer, got "
                          "a string",
                          "test.toml:7: pools.blue.endpoints[4].wieght: unknown key",
                          "test.toml:8: pools.blue.endpoints[5].address: invalid address "
                          "\"example.com:80\": host must be a numeric IPv4 address, a bracketed "
                          "IPv6 address or localhost (names are not resolved)",
                          "test.toml:10: pools.blue.endpoints[7]: duplicate endpoint "
                          "\"127.0.0.1:9005\" (same as [6])",
                          "test.toml:11: pools.blue.endpoints[8]: expected a string or a table, "
                          "got a boolean"));
}

TEST(ConfigLoader, BadOutlierSettings) {
  EXPECT_THAT(PoolErrors(R"([pools.blue.outlier]
consecutive_failures = 1001
base_ejection = "0s"
max_ejection = "5 m"
colour = 1
)"),
              ElementsAre("test.toml:4: pools.blue.outlier.consecutive_failures: must be between "
                          "0 and 1000, got 1001",
                          "test.toml:5: pools.blue.outlier.base_ejection: must be greater than 0",
                          ::testing::StartsWith("test.toml:6: pools.blue.outlier.max_ejection: "
                                                "invalid duration \"5 m\": "),
                          "test.toml:7: pools.blue.outlier.colour: unknown key"));
  EXPECT_THAT(PoolErrors("[pools.blue.outlier]\nconsecutive_failures = -1\n"),
              ElementsAre("test.toml:4: pools.blue.outlier.consecutive_failures: must be between "
                          "0 and 1000, got -1"));
  EXPECT_THAT(PoolErrors("outlier = true\n"),
              ElementsAre("test.toml:3: pools.blue.outlier: expected a table, got a boolean"));
}

TEST(ConfigLoader, MaxEjectionMustNotBeShorterThanBase) {
  EXPECT_THAT(PoolErrors("[pools.blue.outlier]\nbase_ejection = \"1m\"\nmax_ejection = \"30s\"\n"),
              ElementsAre("test.toml:5: pools.blue.outlier.max_ejection: must not be shorter than "
                          "base_ejection (1m)"));
  // Only base written: the default cap (5m) is what it collides with.
  EXPECT_THAT(PoolErrors("[pools.blue.outlier]\nbase_ejection = \"10m\"\n"),
              ElementsAre("test.toml:4: pools.blue.outlier.base_ejection: must not be longer than "
                          "max_ejection (5m, the default)"));
  LoadOk(std::string(kOnePool) + "[pools.blue.outlier]\nbase_ejection = \"5m\"\n");
}

TEST(ConfigLoader, HealthCheckTimeoutMustNotExceedInterval) {
  EXPECT_THAT(PoolErrors("[pools.blue.health_check]\ninterval = \"1s\"\ntimeout = \"1500ms\"\n"),
              ElementsAre("test.toml:5: pools.blue.health_check.timeout: must not be longer than "
                          "interval (1s)"));
  // Only interval written: the default timeout (2s) is what it collides with.
  EXPECT_THAT(PoolErrors("[pools.blue.health_check]\ninterval = \"1s\"\n"),
              ElementsAre("test.toml:4: pools.blue.health_check.interval: must not be shorter "
                          "than timeout (2s, the default)"));
}

TEST(ConfigLoader, HealthCheckThresholdsOutOfRange) {
  EXPECT_THAT(PoolErrors(R"([pools.blue.health_check]
healthy_threshold = 0
unhealthy_threshold = 101
)"),
              ElementsAre("test.toml:4: pools.blue.health_check.healthy_threshold: must be "
                          "between 1 and 100, got 0",
                          "test.toml:5: pools.blue.health_check.unhealthy_threshold: must be "
                          "between 1 and 100, got 101"));
}

TEST(ConfigLoader, BadHealthCheckSettings) {
  EXPECT_THAT(PoolErrors(R"([pools.blue.health_check]
enabled = "yes"
path = "healthz"
interval = "0s"
timeout = 2
probe = "GET"
)"),
              ElementsAre("test.toml:4: pools.blue.health_check.enabled: expected a boolean, got "
                          "a string",
                          "test.toml:5: pools.blue.health_check.path: must start with '/', got "
                          "\"healthz\"",
                          "test.toml:6: pools.blue.health_check.interval: must be greater than 0",
                          "test.toml:7: pools.blue.health_check.timeout: expected a string, got "
                          "an integer",
                          "test.toml:8: pools.blue.health_check.probe: unknown key"));
  for (const std::string_view path : {"/a b", "/a#top", "/caf\\u00e9", "/\\t"}) {
    EXPECT_THAT(PoolErrors("[pools.blue.health_check]\npath = \"" + std::string(path) + "\"\n"),
                ElementsAre(::testing::StartsWith(
                    "test.toml:4: pools.blue.health_check.path: must be a request target: "
                    "visible ASCII, no spaces and no '#', got ")))
        << path;
  }
}

// --- headers -----------------------------------------------------------------------------------

TEST(ConfigLoader, XCutoverPoolHeader) {
  EXPECT_FALSE(LoadOk(kOnePool).headers.x_cutover_pool);
  EXPECT_TRUE(
      LoadOk(std::string(kOnePool) + "[headers]\nx_cutover_pool = true\n").headers.x_cutover_pool);
  EXPECT_THAT(LoadErrors(std::string(kOnePool) + "[headers]\nx_cutover_pool = \"on\"\n"),
              ElementsAre("test.toml:4: headers.x_cutover_pool: expected a boolean, got a string"));
}

// --- routing.affinity --------------------------------------------------------------------------

// kOnePool, then [routing.affinity] on line 3; `body` starts on line 4.
std::string WithAffinity(std::string_view body) {
  return std::string(kOnePool) + "[routing.affinity]\n" + std::string(body);
}

std::vector<std::string> AffinityErrors(std::string_view body) {
  return LoadErrors(WithAffinity(body));
}

// A file that exists only for the duration of one test.
class TempFile {
 public:
  explicit TempFile(std::string_view contents) {
    static int counter = 0;
    path_ = std::filesystem::temp_directory_path() /
            ("cutover_config_loader_test_" + std::to_string(::getpid()) + "_" +
             std::to_string(++counter) + ".key");
    std::ofstream out(path_, std::ios::binary);
    out << contents;
  }
  ~TempFile() { std::filesystem::remove(path_); }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  std::string path() const { return path_.string(); }

 private:
  std::filesystem::path path_;
};

TEST(ConfigLoader, NoAffinityMeansPerRequestSplit) {
  const Config config = LoadOk(kOnePool);
  EXPECT_EQ(config.routing.affinity.mode, routing::AffinityMode::kNone);
  EXPECT_EQ(config.routing.affinity.source, routing::AffinitySource::kNone);
  EXPECT_TRUE(config.routing.rules.empty());
}

TEST(ConfigLoader, AffinityHashEveryKeyIsRead) {
  const Config config = LoadOk(WithAffinity(R"(
mode = "hash"
source = "cookie:session"
cookie = "cid"
cookie_path = "/shop"
cookie_max_age = "30d"
cookie_secure = true
cookie_http_only = false
cookie_same_site = "None"
salt = "change-me"
pin_cookie = "pin"
pin_max_age = "12h"
)"));
  const routing::AffinitySpec& affinity = config.routing.affinity;
  EXPECT_EQ(affinity.mode, routing::AffinityMode::kHash);
  EXPECT_EQ(affinity.source, routing::AffinitySource::kCookie);
  EXPECT_EQ(affinity.source_name, "session");
  EXPECT_EQ(affinity.cookie, "cid");
  EXPECT_EQ(affinity.cookie_path, "/shop");
  EXPECT_EQ(affinity.cookie_max_age_seconds, 30 * 86'400);
  EXPECT_TRUE(affinity.cookie_secure);
  EXPECT_FALSE(affinity.cookie_http_only);
  EXPECT_EQ(affinity.cookie_same_site, "None");
  EXPECT_EQ(affinity.salt, "change-me");
  EXPECT_EQ(affinity.pin_cookie, "pin");
  EXPECT_EQ(affinity.pin_max_age_seconds, 12 * 3'600);
  EXPECT_EQ(affinity.pin_key, "");
}

TEST(ConfigLoader, AffinityTableDefaultsToHashMode) {
  const Config config = LoadOk(WithAffinity("salt = \"s\"\n"));
  const routing::AffinitySpec& affinity = config.routing.affinity;
  const routing::AffinitySpec defaults;
  EXPECT_EQ(affinity.mode, routing::AffinityMode::kHash);
  EXPECT_EQ(affinity.source, routing::AffinitySource::kNone);  // only the proxy's own cookie
  EXPECT_EQ(affinity.cookie, defaults.cookie);
  EXPECT_EQ(affinity.cookie_path, defaults.cookie_path);
  EXPECT_EQ(affinity.cookie_max_age_seconds, defaults.cookie_max_age_seconds);
  EXPECT_EQ(affinity.cookie_secure, defaults.cookie_secure);
  EXPECT_EQ(affinity.cookie_http_only, defaults.cookie_http_only);
  EXPECT_EQ(affinity.cookie_same_site, defaults.cookie_same_site);
  EXPECT_EQ(affinity.pin_cookie, defaults.pin_cookie);
  EXPECT_EQ(affinity.pin_max_age_seconds, defaults.pin_max_age_seconds);
}

TEST(ConfigLoader, AffinitySources) {
  struct Case {
    std::string_view text;
    routing::AffinitySource source;
    std::string_view name;
  };
  for (const Case& c : {Case{"cookie:session", routing::AffinitySource::kCookie, "session"},
                        Case{"header:X-User-Id", routing::AffinitySource::kHeader, "X-User-Id"},
                        Case{"ip", routing::AffinitySource::kClientIp, ""}}) {
    const Config config =
        LoadOk(WithAffinity("salt = \"s\"\nsource = \"" + std::string(c.text) + "\"\n"));
    EXPECT_EQ(config.routing.affinity.source, c.source) << c.text;
    EXPECT_EQ(config.routing.affinity.source_name, c.name) << c.text;
  }
}

TEST(ConfigLoader, AffinityModeNoneNeedsNoSalt) {
  const Config config = LoadOk(WithAffinity("mode = \"none\"\nsource = \"ip\"\n"));
  EXPECT_EQ(config.routing.affinity.mode, routing::AffinityMode::kNone);
  EXPECT_EQ(config.routing.affinity.source, routing::AffinitySource::kClientIp);
}

TEST(ConfigLoader, BadAffinitySource) {
  struct Case {
    std::string_view source;
    std::string_view why;
  };
  constexpr std::string_view kShape = "expected \"cookie:NAME\", \"header:NAME\" or \"ip\"";
  constexpr std::string_view kCookieName = "the cookie name must be a token (RFC 6265 §4.1.1)";
  constexpr std::string_view kHeaderName = "the header name must be a token (RFC 9110 §5.1)";
  for (const Case& c :
       {Case{"cookie", kShape}, Case{"IP", kShape}, Case{"query:uid", kShape}, Case{"", kShape},
        Case{"Cookie:session", kShape}, Case{"cookie:", kCookieName},
        Case{"cookie:a;b", kCookieName}, Case{"header:", kHeaderName},
        Case{"header:X User", kHeaderName}, Case{"header:X:Y", kHeaderName}}) {
    EXPECT_THAT(AffinityErrors("salt = \"s\"\nsource = \"" + std::string(c.source) + "\"\n"),
                ElementsAre("test.toml:5: routing.affinity.source: invalid source \"" +
                            std::string(c.source) + "\": " + std::string(c.why)))
        << c.source;
  }
}

TEST(ConfigLoader, BadAffinityMode) {
  EXPECT_THAT(AffinityErrors("mode = \"sticky\"\n"),
              ElementsAre("test.toml:4: routing.affinity.mode: must be one of \"hash\", \"pin\", "
                          "\"none\", got \"sticky\""));
  EXPECT_THAT(LoadErrors(std::string(kOnePool) + "[routing]\naffinity = \"hash\"\n"),
              ElementsAre("test.toml:4: routing.affinity: expected a table, got a string"));
}

TEST(ConfigLoader, SameSiteNoneRequiresSecure) {
  EXPECT_THAT(AffinityErrors("salt = \"s\"\ncookie_same_site = \"None\"\n"),
              ElementsAre("test.toml:5: routing.affinity.cookie_same_site: \"None\" requires "
                          "cookie_secure = true: browsers reject SameSite=None cookies without "
                          "Secure"));
  EXPECT_THAT(AffinityErrors("salt = \"s\"\ncookie_same_site = \"None\"\ncookie_secure = false\n"),
              ElementsAre(::testing::HasSubstr("requires cookie_secure = true")));
  EXPECT_THAT(AffinityErrors("salt = \"s\"\ncookie_same_site = \"lax\"\n"),
              ElementsAre("test.toml:5: routing.affinity.cookie_same_site: must be one of "
                          "\"Strict\", \"Lax\", \"None\", got \"lax\""));
  for (const std::string_view same_site : {"Strict", "Lax"}) {
    const Config config = LoadOk(
        WithAffinity("salt = \"s\"\ncookie_same_site = \"" + std::string(same_site) + "\"\n"));
    EXPECT_EQ(config.routing.affinity.cookie_same_site, same_site);
  }
}

TEST(ConfigLoader, HashModeNeedsASalt) {
  EXPECT_THAT(AffinityErrors("mode = \"hash\"\n"),
              ElementsAre("test.toml:3: routing.affinity.salt: required when mode is \"hash\""));
  EXPECT_THAT(AffinityErrors("source = \"ip\"\n"),
              ElementsAre("test.toml:3: routing.affinity.salt: required when mode is \"hash\""));
  EXPECT_THAT(AffinityErrors("salt = \"\"\n"),
              ElementsAre("test.toml:4: routing.affinity.salt: must not be empty when mode is "
                          "\"hash\""));
  EXPECT_THAT(AffinityErrors("salt = 42\n"),
              ElementsAre("test.toml:4: routing.affinity.salt: expected a string, got an "
                          "integer"));
}

TEST(ConfigLoader, BadAffinityCookies) {
  EXPECT_THAT(AffinityErrors(R"(salt = "s"
cookie = "my cookie"
cookie_path = "shop"
pin_cookie = ""
)"),
              ElementsAre("test.toml:5: routing.affinity.cookie: a cookie name must be a token "
                          "(RFC 6265 §4.1.1), got \"my cookie\"",
                          "test.toml:6: routing.affinity.cookie_path: must start with '/', got "
                          "\"shop\"",
                          "test.toml:7: routing.affinity.pin_cookie: a cookie name must be a "
                          "token (RFC 6265 §4.1.1), got \"\""));
  EXPECT_THAT(AffinityErrors("salt = \"s\"\ncookie_path = \"/a;Domain=evil\"\n"),
              ElementsAre("test.toml:5: routing.affinity.cookie_path: must be visible ASCII "
                          "without spaces or ';' (RFC 6265 §4.1.1), got \"/a;Domain=evil\""));
}

TEST(ConfigLoader, CookieLifetimes) {
  EXPECT_EQ(LoadOk(WithAffinity("salt = \"s\"\ncookie_max_age = \"400d\"\n"))
                .routing.affinity.cookie_max_age_seconds,
            400 * 86'400);
  EXPECT_EQ(LoadOk(WithAffinity("salt = \"s\"\ncookie_max_age = \"90m\"\n"))
                .routing.affinity.cookie_max_age_seconds,
            90 * 60);
  EXPECT_THAT(AffinityErrors(R"(salt = "s"
cookie_max_age = "1500ms"
pin_max_age = "401d"
)"),
              ElementsAre("test.toml:5: routing.affinity.cookie_max_age: must be a whole number "
                          "of seconds, got \"1500ms\"",
                          "test.toml:6: routing.affinity.pin_max_age: must be at most 400d: "
                          "browsers cap cookie lifetimes at 400 days, got \"401d\""));
  EXPECT_THAT(AffinityErrors("salt = \"s\"\ncookie_max_age = \"0d\"\npin_max_age = \"1w\"\n"),
              ElementsAre("test.toml:5: routing.affinity.cookie_max_age: must be greater than 0",
                          "test.toml:6: routing.affinity.pin_max_age: invalid duration \"1w\": "
                          "expected an integer and a unit (ms, s, m, h, d), e.g. \"12h\" or "
                          "\"30d\""));
  EXPECT_THAT(AffinityErrors("salt = \"s\"\ncookie_max_age = \"d\"\npin_max_age = \"-1d\"\n"),
              ElementsAre(::testing::HasSubstr("invalid duration \"d\""),
                          ::testing::HasSubstr("invalid duration \"-1d\"")));
}

TEST(ConfigLoader, DaysAreOnlyForCookieLifetimes) {
  EXPECT_THAT(LoadErrors(std::string(kOnePool) + "[timeouts]\nidle = \"1d\"\n"),
              ElementsAre("test.toml:4: timeouts.idle: invalid duration \"1d\": expected an "
                          "integer and a unit (ms, s, m, h), e.g. \"250ms\" or \"10s\""));
}

TEST(ConfigLoader, UnknownAffinityKey) {
  EXPECT_THAT(AffinityErrors("salt = \"s\"\ncookie_domain = \"example.com\"\n"),
              ElementsAre("test.toml:5: routing.affinity.cookie_domain: unknown key"));
}

// --- pin mode ----------------------------------------------------------------------------------

constexpr std::string_view kPinKey = "0123456789abcdef";  // 16 bytes, the minimum

TEST(ConfigLoader, PinModeWithInlineKey) {
  const Config config = LoadOk(WithAffinity("mode = \"pin\"\npin_key = \"" + std::string(kPinKey) +
                                            "\"\npin_max_age = \"1d\"\n"));
  const routing::AffinitySpec& affinity = config.routing.affinity;
  EXPECT_EQ(affinity.mode, routing::AffinityMode::kPin);
  EXPECT_EQ(affinity.pin_key, kPinKey);
  EXPECT_EQ(affinity.pin_max_age_seconds, 86'400);
  EXPECT_EQ(affinity.salt, "");  // pin mode does not need one
}

TEST(ConfigLoader, PinKeyFileIsReadAndTrimmed) {
  const TempFile key("  key with inner spaces, long enough \t\r\n\n");
  const Config config =
      LoadOk(WithAffinity("mode = \"pin\"\npin_key_file = \"" + key.path() + "\"\n"));
  EXPECT_EQ(config.routing.affinity.pin_key, "  key with inner spaces, long enough");
}

TEST(ConfigLoader, PinKeyTooShort) {
  const std::vector<std::string> errors = AffinityErrors("mode = \"pin\"\npin_key = \"hunter2\"\n");
  EXPECT_THAT(errors, ElementsAre("test.toml:5: routing.affinity.pin_key: must be at least 16 "
                                  "bytes long, got 7"));
  EXPECT_THAT(errors, ::testing::Each(::testing::Not(::testing::HasSubstr("hunter2"))));
  // 15 bytes is one short.
  EXPECT_THAT(AffinityErrors("mode = \"pin\"\npin_key = \"0123456789abcde\"\n"),
              ElementsAre(::testing::HasSubstr("got 15")));
}

TEST(ConfigLoader, PinKeyFromFileTooShort) {
  const TempFile key("hunter2\n");
  const std::vector<std::string> errors =
      AffinityErrors("mode = \"pin\"\npin_key_file = \"" + key.path() + "\"\n");
  EXPECT_THAT(errors,
              ElementsAre("test.toml:5: routing.affinity.pin_key_file: the key in \"" + key.path() +
                          "\" must be at least 16 bytes long (trailing whitespace not "
                          "counted), got 7"));
  EXPECT_THAT(errors, ::testing::Each(::testing::Not(::testing::HasSubstr("hunter2"))));
  const TempFile empty("");
  EXPECT_THAT(AffinityErrors("mode = \"pin\"\npin_key_file = \"" + empty.path() + "\"\n"),
              ElementsAre(::testing::HasSubstr("got 0")));
}

// A path that names an endless file (/dev/zero here; a FIFO or a growing log alike) was read
// until memory ran out: `cutover check` or a SIGHUP reload died instead of refusing the config.
TEST(ConfigLoader, PinKeyFileThatNeverEndsIsRefused) {
  EXPECT_THAT(AffinityErrors("mode = \"pin\"\npin_key_file = \"/dev/zero\"\n"),
              ElementsAre(::testing::HasSubstr("cannot read \"/dev/zero\": File too large")));
}

TEST(ConfigLoader, ConfigFileThatNeverEndsIsRefused) {
  const ConfigLoadResult result = LoadConfigFile("/dev/zero");
  ASSERT_EQ(result.errors.size(), 1u);
  EXPECT_EQ(result.errors[0].ToString("/dev/zero"), "/dev/zero: cannot read: File too large");
}

TEST(ConfigLoader, PinKeyAndPinKeyFileTogether) {
  const TempFile key("0123456789abcdef0123456789abcdef\n");
  EXPECT_THAT(AffinityErrors("mode = \"pin\"\npin_key = \"" + std::string(kPinKey) +
                             "\"\npin_key_file = \"" + key.path() + "\"\n"),
              ElementsAre("test.toml:6: routing.affinity.pin_key_file: set either pin_key or "
                          "pin_key_file, not both"));
}

TEST(ConfigLoader, PinModeNeedsAKey) {
  EXPECT_THAT(AffinityErrors("mode = \"pin\"\n"),
              ElementsAre("test.toml:4: routing.affinity: mode \"pin\" needs a signing key: set "
                          "pin_key or pin_key_file"));
}

TEST(ConfigLoader, UnreadablePinKeyFile) {
  EXPECT_THAT(AffinityErrors("mode = \"pin\"\npin_key_file = \"/nonexistent/pin.key\"\n"),
              ElementsAre("test.toml:5: routing.affinity.pin_key_file: cannot read "
                          "\"/nonexistent/pin.key\": No such file or directory"));
  EXPECT_THAT(AffinityErrors("mode = \"pin\"\npin_key_file = \"/\"\n"),
              ElementsAre("test.toml:5: routing.affinity.pin_key_file: cannot read \"/\": Is a "
                          "directory"));
  EXPECT_THAT(AffinityErrors("mode = \"pin\"\npin_key_file = \"\"\n"),
              ElementsAre("test.toml:5: routing.affinity.pin_key_file: must not be empty"));
}

TEST(ConfigLoader, PinKeyFileIsOnlyReadInPinMode) {
  // A hash-mode file may keep the path of a key that only the pin-mode hosts have.
  const Config config = LoadOk(
      WithAffinity("mode = \"hash\"\nsalt = \"s\"\npin_key_file = \"/nonexistent/pin.key\"\n"));
  EXPECT_EQ(config.routing.affinity.pin_key, "");
}

TEST(ConfigLoader, PinCookieMustDifferFromTheAffinityCookie) {
  EXPECT_THAT(AffinityErrors("mode = \"pin\"\npin_key = \"" + std::string(kPinKey) +
                             "\"\ncookie = \"sid\"\npin_cookie = \"sid\"\n"),
              ElementsAre("test.toml:7: routing.affinity.pin_cookie: the pin cookie and the "
                          "affinity cookie must have different names, both are \"sid\""));
  EXPECT_THAT(AffinityErrors("mode = \"pin\"\npin_key = \"" + std::string(kPinKey) +
                             "\"\ncookie = \"cutover_pin\"\n"),
              ElementsAre("test.toml:6: routing.affinity.cookie: the pin cookie and the affinity "
                          "cookie must have different names, both are \"cutover_pin\""));
}

// --- routing.rules -----------------------------------------------------------------------------

// kTwoPools and a 90/10 split on lines 1-6; `rules` starts on line 7.
std::string WithRules(std::string_view rules) {
  return std::string(kTwoPools) + "[routing]\nweights = { blue = 90, green = 10 }\n" +
         std::string(rules);
}

std::vector<std::string> RuleErrors(std::string_view rules) {
  return LoadErrors(WithRules(rules));
}

using Kind = routing::ConditionSpec::Kind;

MATCHER_P3(IsCondition, kind, name, values, "") {
  return arg.kind == kind && arg.name == name &&
         arg.values == std::vector<std::string>(values.begin(), values.end());
}

using Values = std::vector<std::string_view>;

TEST(ConfigLoader, RuleDefaults) {
  const Config config = LoadOk(WithRules(R"(
[[routing.rules]]
name = "everyone"
pool = "green"
)"));
  ASSERT_EQ(config.routing.rules.size(), 1u);
  const routing::RuleSpec& rule = config.routing.rules[0];
  EXPECT_EQ(rule.name, "everyone");
  EXPECT_EQ(rule.pool, "green");
  EXPECT_TRUE(rule.enabled);
  EXPECT_EQ(rule.kind, routing::FlagKind::kTemporary);
  EXPECT_EQ(rule.owner, "");
  EXPECT_FALSE(rule.expires_unix.has_value());
  EXPECT_TRUE(rule.conditions.empty());  // matches every request
}

TEST(ConfigLoader, RulesEveryKeyIsRead) {
  const Config config = LoadOk(WithRules(R"(
[routing.affinity]
source = "header:X-User-Id"
salt = "s"

[[routing.rules]]
name = "beta-testers"
pool = "green"
enabled = false
kind = "targeted"
owner = "checkout-team"
expires = 2027-01-31
[routing.rules.match]
query = { variant = ["b", "c"] }
header = { "X-Beta" = "1", "X-Tier" = ["gold", "silver"] }
header_prefix = { "User-Agent" = "Mozilla/" }
header_present = ["X-Canary", "X-Debug"]
header_absent = "X-Bot"
header_regex = { "X-Version" = "v2\\.[0-9]+" }
cookie = { plan = "pro" }
path_prefix = ["/api", "/v2"]
method = ["GET", "HEAD"]
client_cidr = ["10.0.0.0/8", "2001:db8::/32", "192.0.2.7"]
affinity_keys = ["user-1", "user-2"]

[[routing.rules]]
name = "qa.env_1"
pool = "blue"
kind = "environment"
expires = 2027-01-31T18:00:00+01:00
match = { path_prefix = "/" }
)"));
  ASSERT_EQ(config.routing.rules.size(), 2u);
  const routing::RuleSpec& beta = config.routing.rules[0];
  EXPECT_EQ(beta.name, "beta-testers");
  EXPECT_EQ(beta.pool, "green");
  EXPECT_FALSE(beta.enabled);
  EXPECT_EQ(beta.kind, routing::FlagKind::kTargeted);
  EXPECT_EQ(beta.owner, "checkout-team");
  EXPECT_EQ(beta.expires_unix, 1'801'440'000);  // 2027-02-01T00:00:00Z
  // Fixed order by kind, names within a kind in file order.
  EXPECT_THAT(beta.conditions,
              ElementsAre(IsCondition(Kind::kHeaderExact, "X-Beta", Values{"1"}),
                          IsCondition(Kind::kHeaderExact, "X-Tier", Values{"gold", "silver"}),
                          IsCondition(Kind::kHeaderPrefix, "User-Agent", Values{"Mozilla/"}),
                          IsCondition(Kind::kHeaderPresent, "X-Canary", Values{}),
                          IsCondition(Kind::kHeaderPresent, "X-Debug", Values{}),
                          IsCondition(Kind::kHeaderAbsent, "X-Bot", Values{}),
                          IsCondition(Kind::kHeaderRegex, "X-Version", Values{"v2\\.[0-9]+"}),
                          IsCondition(Kind::kCookie, "plan", Values{"pro"}),
                          IsCondition(Kind::kQuery, "variant", Values{"b", "c"}),
                          IsCondition(Kind::kPathPrefix, "", Values{"/api", "/v2"}),
                          IsCondition(Kind::kMethod, "", Values{"GET", "HEAD"}),
                          IsCondition(Kind::kClientCidr, "",
                                      Values{"10.0.0.0/8", "2001:db8::/32", "192.0.2.7"}),
                          IsCondition(Kind::kAffinityKeys, "", Values{"user-1", "user-2"})));
  const routing::RuleSpec& qa = config.routing.rules[1];
  EXPECT_EQ(qa.name, "qa.env_1");
  EXPECT_EQ(qa.pool, "blue");
  EXPECT_TRUE(qa.enabled);
  EXPECT_EQ(qa.kind, routing::FlagKind::kEnvironment);
  EXPECT_EQ(qa.expires_unix, 1'801'414'800);  // 2027-01-31T17:00:00Z
  EXPECT_THAT(qa.conditions, ElementsAre(IsCondition(Kind::kPathPrefix, "", Values{"/"})));
}

TEST(ConfigLoader, ExpiresDateIsValidThroughThatDay) {
  struct Case {
    std::string_view expires;
    int64_t unix;
  };
  for (const Case& c :
       {Case{"2024-02-29", 1'709'251'200},            // leap day -> 03-01
        Case{"2027-01-31T00:00:00Z", 1'801'353'600},  // that instant
        Case{"2027-01-31 23:59:59-00:30", 1'801'441'799}, Case{"1970-01-01", 86'400}}) {
    const Config config =
        LoadOk(WithRules("[[routing.rules]]\nname = \"r\"\npool = \"green\"\n"
                         "expires = " +
                         std::string(c.expires) + "\n"));
    EXPECT_EQ(config.routing.rules[0].expires_unix, c.unix) << c.expires;
  }
}

TEST(ConfigLoader, ExpiresMustBeADateOrAnOffsetDateTime) {
  EXPECT_THAT(RuleErrors(R"([[routing.rules]]
name = "local"
pool = "green"
expires = 2027-01-31T18:00:00
[[routing.rules]]
name = "text"
pool = "green"
expires = "2027-01-31"
[[routing.rules]]
name = "time"
pool = "green"
expires = 18:00:00
)"),
              ElementsAre("test.toml:10: routing.rules[0].expires: a date-time needs a UTC "
                          "offset, e.g. 2027-01-31T18:00:00Z or 2027-01-31T18:00:00+01:00; or "
                          "write a date, valid through that day (UTC)",
                          "test.toml:14: routing.rules[1].expires: expected a date (2027-01-31) "
                          "or a date-time with offset (2027-01-31T18:00:00Z), got a string",
                          "test.toml:18: routing.rules[2].expires: expected a date (2027-01-31) "
                          "or a date-time with offset (2027-01-31T18:00:00Z), got a time"));
}

TEST(ConfigLoader, RuleNamesAndPools) {
  EXPECT_THAT(RuleErrors(R"([[routing.rules]]
pool = "green"
[[routing.rules]]
name = "beta testers"
pool = "green"
[[routing.rules]]
name = "beta"
[[routing.rules]]
name = "beta"
pool = "red"
[[routing.rules]]
name = 7
pool = 7
)"),
              ElementsAre("test.toml:7: routing.rules[0].name: missing required key",
                          "test.toml:10: routing.rules[1].name: a rule name must be 1 to 64 "
                          "characters from A-Z, a-z, 0-9, '_', '.' and '-', got \"beta testers\"",
                          "test.toml:12: routing.rules[2].pool: missing required key",
                          "test.toml:15: routing.rules[3].name: duplicate rule name \"beta\" "
                          "(same as routing.rules[2])",
                          "test.toml:16: routing.rules[3].pool: unknown pool \"red\"",
                          "test.toml:18: routing.rules[4].name: expected a string, got an "
                          "integer",
                          "test.toml:19: routing.rules[4].pool: expected a string, got an "
                          "integer"));
  LoadOk(
      WithRules("[[routing.rules]]\nname = \"" + std::string(64, 'x') + "\"\npool = \"green\"\n"));
  EXPECT_THAT(
      RuleErrors("[[routing.rules]]\nname = \"" + std::string(65, 'x') + "\"\npool = \"green\"\n"),
      ElementsAre(::testing::HasSubstr("a rule name must be 1 to 64 characters")));
}

TEST(ConfigLoader, EnabledRuleIntoAPoolWithoutEndpoints) {
  const std::string pools = R"(
[pools.blue]
endpoints = ["127.0.0.1:9001"]
[pools.green]
endpoints = []
[routing]
weights = { blue = 100 }
[[routing.rules]]
name = "beta"
pool = "green"
)";
  EXPECT_THAT(LoadErrors(pools),
              ElementsAre("test.toml:9: routing.rules[0].pool: pool \"green\" has no endpoints; "
                          "set enabled = false until it has some"));
  const Config config = LoadOk(pools + "enabled = false\n");
  EXPECT_FALSE(config.routing.rules[0].enabled);
}

TEST(ConfigLoader, BadRuleKindAndOwner) {
  EXPECT_THAT(RuleErrors(R"([[routing.rules]]
name = "beta"
pool = "green"
kind = "permanent"
owner = ["a", "b"]
enabled = "yes"
)"),
              ElementsAre("test.toml:10: routing.rules[0].kind: must be one of \"temporary\", "
                          "\"environment\", \"targeted\", got \"permanent\"",
                          "test.toml:11: routing.rules[0].owner: expected a string, got an array",
                          "test.toml:12: routing.rules[0].enabled: expected a boolean, got a "
                          "string"));
}

TEST(ConfigLoader, RulesMustBeAnArrayOfTables) {
  EXPECT_THAT(RuleErrors("[routing.rules]\nname = \"beta\"\n"),
              ElementsAre("test.toml:7: routing.rules: expected an array of tables "
                          "([[routing.rules]]), got a table"));
  EXPECT_THAT(LoadErrors(std::string(kOnePool) + "[routing]\nrules = [\"beta\"]\n"),
              ElementsAre("test.toml:4: routing.rules[0]: expected a table, got a string"));
}

TEST(ConfigLoader, UnknownRuleAndMatchKeys) {
  EXPECT_THAT(RuleErrors(R"([[routing.rules]]
name = "beta"
pool = "green"
weight = 10
match = { hedaer = { "X-Beta" = "1" }, path = "/api" }
)"),
              ElementsAre("test.toml:10: routing.rules[0].weight: unknown key",
                          "test.toml:11: routing.rules[0].match.hedaer: unknown key",
                          "test.toml:11: routing.rules[0].match.path: unknown key"));
  EXPECT_THAT(RuleErrors("[[routing.rules]]\nname = \"beta\"\npool = \"green\"\nmatch = \"all\"\n"),
              ElementsAre("test.toml:10: routing.rules[0].match: expected a table, got a string"));
}

// Rule `beta` on lines 7-9, its match table on line 10 and its keys from line 11.
std::vector<std::string> MatchErrors(std::string_view match) {
  return RuleErrors(
      "[[routing.rules]]\nname = \"beta\"\npool = \"green\"\n[routing.rules.match]\n" +
      std::string(match));
}

TEST(ConfigLoader, MatchValuesOfTheWrongType) {
  EXPECT_THAT(MatchErrors(R"(header = { "X-Beta" = 1 }
header_prefix = { "X-Tier" = ["gold", 2] }
cookie = { plan = [] }
query = "variant=b"
header_present = [["X-A"]]
header_regex = { "X-Version" = ["v1", "v2"] }
path_prefix = 7
method = {}
)"),
              ElementsAre("test.toml:11: routing.rules[0].match.header.X-Beta: expected a string "
                          "or an array of strings, got an integer",
                          "test.toml:12: routing.rules[0].match.header_prefix.X-Tier[1]: expected "
                          "a string, got an integer",
                          "test.toml:13: routing.rules[0].match.cookie.plan: must not be empty: "
                          "an empty list matches nothing",
                          "test.toml:14: routing.rules[0].match.query: expected a table, got a "
                          "string",
                          "test.toml:15: routing.rules[0].match.header_present[0]: expected a "
                          "string, got an array",
                          "test.toml:16: routing.rules[0].match.header_regex.X-Version: expected "
                          "a string, got an array",
                          "test.toml:17: routing.rules[0].match.path_prefix: expected a string or "
                          "an array of strings, got an integer",
                          "test.toml:18: routing.rules[0].match.method: expected a string or an "
                          "array of strings, got a table"));
}

TEST(ConfigLoader, MatchNames) {
  EXPECT_THAT(MatchErrors(R"(header = { "X Beta" = "1" }
header_present = ["", "X-Ok"]
header_absent = "X:Bot"
cookie = { "a;b" = "1" }
query = { "a=b" = "1", "" = "2" }
)"),
              ElementsAre("test.toml:11: routing.rules[0].match.header.\"X Beta\": a header name "
                          "must be a token (RFC 9110 §5.1)",
                          "test.toml:12: routing.rules[0].match.header_present[0]: a header name "
                          "must be a token (RFC 9110 §5.1)",
                          "test.toml:13: routing.rules[0].match.header_absent: a header name must "
                          "be a token (RFC 9110 §5.1)",
                          "test.toml:14: routing.rules[0].match.cookie.\"a;b\": a cookie name "
                          "must be a token (RFC 6265 §4.1.1)",
                          "test.toml:15: routing.rules[0].match.query.\"a=b\": a query parameter "
                          "name must be non-empty visible ASCII without '&', '=' or '#'",
                          "test.toml:15: routing.rules[0].match.query.\"\": a query parameter "
                          "name must be non-empty visible ASCII without '&', '=' or '#'"));
}

TEST(ConfigLoader, BadRegex) {
  // The reason is the regex engine's own; the router compiles the regex, the loader asks it.
  EXPECT_THAT(MatchErrors("header_regex = { \"X-Version\" = \"v(2\" }\n"),
              ElementsAre("test.toml:11: routing.rules[0].match.header_regex.X-Version: invalid "
                          "regex \"v(2\": Mismatched '(' and ')' in regular expression"));
  // The router's matcher runs in polynomial time and so cannot take back-references.
  EXPECT_THAT(MatchErrors("header_regex = { \"X-Version\" = '(a)\\1' }\n"),
              ElementsAre(::testing::StartsWith("test.toml:11: routing.rules[0].match.header_regex."
                                                "X-Version: invalid regex \"(a)\\\\1\": ")));
  // Control characters in the pattern are escaped, like every value from the file.
  EXPECT_THAT(MatchErrors("header_regex = { \"X-Version\" = \"\\u001b[\" }\n"),
              ElementsAre(::testing::StartsWith("test.toml:11: routing.rules[0].match.header_regex."
                                                "X-Version: invalid regex \"\\u001b[\": ")));
}

TEST(ConfigLoader, BadCidr) {
  struct Case {
    std::string_view cidr;
    std::string_view why;
  };
  constexpr std::string_view kNotAnAddress = "not a numeric IPv4 or IPv6 address";
  constexpr std::string_view kV4Length = "the prefix length must be an integer from 0 to 32";
  constexpr std::string_view kV6Length = "the prefix length must be an integer from 0 to 128";
  for (const Case& c : {Case{"10.0.0.0/33", kV4Length}, Case{"10.0.0.0/", kV4Length},
                        Case{"10.0.0.0/-1", kV4Length}, Case{"10.0.0.0/8/8", kV4Length},
                        Case{"10.0.0.0/ 8", kV4Length}, Case{"2001:db8::/129", kV6Length},
                        Case{"10.0.0/8", kNotAnAddress}, Case{"010.0.0.0/8", kNotAnAddress},
                        Case{"fe80::1%eth0", kNotAnAddress}, Case{"[::1]/128", kNotAnAddress},
                        Case{"localhost", kNotAnAddress}, Case{"", kNotAnAddress}}) {
    EXPECT_THAT(MatchErrors("client_cidr = [\"0.0.0.0/0\", \"" + std::string(c.cidr) + "\"]\n"),
                ElementsAre("test.toml:11: routing.rules[0].match.client_cidr[1]: invalid CIDR \"" +
                            std::string(c.cidr) + "\": " + std::string(c.why)))
        << c.cidr;
  }
}

TEST(ConfigLoader, AcceptedCidrs) {
  // Host bits past the prefix are ignored by the router (routing/ip_address.h).
  for (const std::string_view cidr : {"0.0.0.0/0", "::/0", "192.0.2.7", "::1", "10.1.2.3/8",
                                      "::ffff:10.0.0.0/104", "2001:db8::/32", "192.0.2.7/32"}) {
    const Config config =
        LoadOk(WithRules("[[routing.rules]]\nname = \"r\"\npool = \"green\"\nmatch = { client_cidr "
                         "= \"" +
                         std::string(cidr) + "\" }\n"));
    EXPECT_THAT(config.routing.rules[0].conditions,
                ElementsAre(IsCondition(Kind::kClientCidr, "", Values{cidr})));
  }
}

TEST(ConfigLoader, BadPathPrefixesMethodsAndKeys) {
  EXPECT_THAT(MatchErrors(R"(path_prefix = "api"
method = ["GET", "get", "M-SEARCH", ""]
affinity_keys = ["user-1", ""]
)"),
              ElementsAre("test.toml:11: routing.rules[0].match.path_prefix: must start with "
                          "'/', got \"api\"",
                          "test.toml:12: routing.rules[0].match.method[1]: a method must be "
                          "upper-case letters A-Z, got \"get\"",
                          "test.toml:12: routing.rules[0].match.method[2]: a method must be "
                          "upper-case letters A-Z, got \"M-SEARCH\"",
                          "test.toml:12: routing.rules[0].match.method[3]: a method must be "
                          "upper-case letters A-Z, got \"\"",
                          "test.toml:13: routing.rules[0].match.affinity_keys[1]: must not be "
                          "empty"));
}

TEST(ConfigLoader, EmptyValues) {
  // An exact value may be empty (a header sent empty); a prefix or a regex may not.
  const Config config = LoadOk(WithRules(R"([[routing.rules]]
name = "r"
pool = "green"
match = { header = { "X-Beta" = "" }, cookie = { plan = "" }, query = { debug = "" } }
)"));
  EXPECT_EQ(config.routing.rules[0].conditions.size(), 3u);
  EXPECT_THAT(MatchErrors(R"(header_prefix = { "X-Tier" = ["gold", ""] }
header_regex = { "X-Version" = "" }
)"),
              ElementsAre("test.toml:11: routing.rules[0].match.header_prefix.X-Tier[1]: must "
                          "not be empty (header_present matches any value)",
                          "test.toml:12: routing.rules[0].match.header_regex.X-Version: must not "
                          "be empty (header_present matches any value)"));
}

TEST(ConfigLoader, EmptyMatchTableMatchesEverything) {
  const Config config =
      LoadOk(WithRules("[[routing.rules]]\nname = \"r\"\npool = \"green\"\nmatch = {}\n"));
  EXPECT_TRUE(config.routing.rules[0].conditions.empty());
}

TEST(ConfigLoader, EveryRoutingErrorIsReportedAtOnce) {
  // Affinity, rule and pool errors all come out in one run, in file order.
  EXPECT_THAT(LoadErrors(R"(
[pools.blue]
endpoints = ["127.0.0.1:9001"]
balance = "random"
[routing.affinity]
source = "cookie"
[[routing.rules]]
name = "r"
pool = "blue"
match = { client_cidr = "10.0.0.0/40" }
)"),
              ElementsAre("test.toml:3: pools.blue.balance: must be one of \"round-robin\", "
                          "\"power-of-two\", got \"random\"",
                          "test.toml:4: routing.affinity.salt: required when mode is \"hash\"",
                          "test.toml:5: routing.affinity.source: invalid source \"cookie\": "
                          "expected \"cookie:NAME\", \"header:NAME\" or \"ip\"",
                          "test.toml:9: routing.rules[0].match.client_cidr: invalid CIDR "
                          "\"10.0.0.0/40\": the prefix length must be an integer from 0 to 32"));
}

// --- files -----------------------------------------------------------------------------------

TEST(ConfigLoader, LoadConfigFileReadsTheFile) {
  const std::filesystem::path path =
      std::filesystem::temp_directory_path() /
      ("cutover_config_loader_test_" + std::to_string(::getpid()) + ".toml");
  {
    std::ofstream out(path);
    out << "[pools.blue]\nendpoints = [\"127.0.0.1:9001\"]\n[log]\nlevel = \"loud\"\n";
  }
  ConfigLoadResult result = LoadConfigFile(path.string());
  std::filesystem::remove(path);
  ASSERT_EQ(result.errors.size(), 1u);
  EXPECT_EQ(result.errors[0].ToString(path.string()),
            path.string() +
                ":4: log.level: must be one of \"error\", \"warn\", \"info\", "
                "\"debug\", got \"loud\"");
}

TEST(ConfigLoader, LoadConfigFileReportsUnreadableFiles) {
  ConfigLoadResult missing = LoadConfigFile("/nonexistent/cutover.toml");
  EXPECT_FALSE(missing.config.has_value());
  EXPECT_THAT(Errors(missing), ElementsAre("test.toml: cannot read: No such file or directory"));
  ConfigLoadResult directory = LoadConfigFile("/");
  EXPECT_THAT(Errors(directory), ElementsAre("test.toml: cannot read: Is a directory"));
}

// The shipped examples are documentation; a loader change that breaks one must fail here.
TEST(ConfigLoader, ShippedExamplesLoad) {
  const std::filesystem::path dir = std::filesystem::path(CUTOVER_SOURCE_DIR) / "deploy/examples";
  int loaded = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() != ".toml") continue;
    ConfigLoadResult result = LoadConfigFile(entry.path().string());
    std::vector<std::string> errors;
    for (const ConfigError& error : result.errors)
      errors.push_back(error.ToString(entry.path().string()));
    EXPECT_THAT(errors, IsEmpty()) << entry.path();
    EXPECT_TRUE(result.config.has_value()) << entry.path();
    ++loaded;
  }
  EXPECT_GE(loaded, 5);
}

ConfigLoadResult LoadExample(std::string_view name) {
  return LoadConfigFile(
      (std::filesystem::path(CUTOVER_SOURCE_DIR) / "deploy/examples" / name).string());
}

TEST(ConfigLoader, BlueGreenExampleMatchesTheDesign) {
  const std::filesystem::path path =
      std::filesystem::path(CUTOVER_SOURCE_DIR) / "deploy/examples/blue-green.toml";
  ConfigLoadResult result = LoadConfigFile(path.string());
  ASSERT_TRUE(result.config.has_value());
  const routing::RoutingSpec& spec = result.config->routing;
  ASSERT_EQ(spec.pools.size(), 2u);
  EXPECT_EQ(spec.pools[0].name, "blue");
  EXPECT_EQ(spec.pools[0].basis_points, 9000u);
  EXPECT_EQ(spec.pools[1].name, "green");
  EXPECT_EQ(spec.pools[1].basis_points, 1000u);
  EXPECT_EQ(spec.baseline, "blue");
  EXPECT_EQ(spec.candidate, "green");
  EXPECT_EQ(spec.affinity.mode, routing::AffinityMode::kHash);
  EXPECT_EQ(spec.affinity.source, routing::AffinitySource::kCookie);
  EXPECT_EQ(spec.affinity.source_name, "session");
  EXPECT_EQ(spec.affinity.salt, "change-me");
  ASSERT_EQ(spec.rules.size(), 1u);
  EXPECT_EQ(spec.rules[0].name, "beta-testers");
  EXPECT_EQ(spec.rules[0].pool, "green");
  EXPECT_EQ(spec.rules[0].kind, routing::FlagKind::kTargeted);
  EXPECT_EQ(spec.rules[0].owner, "checkout-team");
  EXPECT_EQ(spec.rules[0].expires_unix, 1'801'440'000);
  EXPECT_THAT(spec.rules[0].conditions,
              ElementsAre(IsCondition(Kind::kHeaderExact, "X-Beta", Values{"1"})));
}

TEST(ConfigLoader, PinModeExample) {
  ConfigLoadResult result = LoadExample("pin-mode.toml");
  ASSERT_TRUE(result.config.has_value());
  const routing::AffinitySpec& affinity = result.config->routing.affinity;
  EXPECT_EQ(affinity.mode, routing::AffinityMode::kPin);
  EXPECT_GE(affinity.pin_key.size(), 16u);
  EXPECT_TRUE(affinity.cookie_secure);
}

TEST(ConfigLoader, HealthCheckedExample) {
  ConfigLoadResult result = LoadExample("health-checked.toml");
  ASSERT_TRUE(result.config.has_value());
  const routing::RoutingSpec& spec = result.config->routing;
  ASSERT_EQ(spec.pools.size(), 2u);
  EXPECT_EQ(spec.pools[0].endpoints[0].weight, 2u);
  EXPECT_EQ(spec.pools[0].balance, routing::BalanceMode::kPowerOfTwo);
  EXPECT_EQ(spec.pools[0].failover, routing::FailoverPolicy::kOtherPool);
  EXPECT_TRUE(spec.pools[0].health_check.enabled);
  EXPECT_EQ(spec.pools[1].failover, routing::FailoverPolicy::kUnavailable);
  EXPECT_TRUE(spec.pools[1].health_check.enabled);
  EXPECT_EQ(spec.pools[1].health_check.path, "/healthz?deep=1");
  EXPECT_TRUE(result.config->headers.x_cutover_pool);
}

TEST(ConfigLoader, UpstreamTlsExample) {
  ConfigLoadResult result = LoadExample("upstream-tls.toml");
  ASSERT_TRUE(result.config.has_value());
  const auto& upstream_tls = result.config->upstream_tls;
  ASSERT_EQ(upstream_tls.size(), 1u);  // green only: blue stays plain HTTP
  const UpstreamTlsConfig& green = upstream_tls.at("green");
  EXPECT_EQ(green.server_name, "green.internal");
  EXPECT_FALSE(green.cert.empty());
  EXPECT_FALSE(green.key.empty());
  EXPECT_TRUE(green.verify);
}

}  // namespace
}  // namespace cutover::proxy
