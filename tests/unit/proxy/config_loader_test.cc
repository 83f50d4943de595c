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
  EXPECT_THAT(LoadErrors(R"(
verbose = true
[pools.blue]
endpoints = ["127.0.0.1:9001"]
[admin]
socket = "/run/cutover/admin.sock"
)"),
              ElementsAre("test.toml:1: verbose: unknown key", "test.toml:4: admin: unknown key"));
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
[routing.affinity]
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
                  "test.toml:8: routing.affinity: unknown key",
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
                  "test.toml:7: pools.green.endpoints[0]: expected a string, got an integer",
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
  EXPECT_GE(loaded, 3);
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
}

}  // namespace
}  // namespace cutover::proxy
