#include "proxy/config_loader.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <climits>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <initializer_list>
#include <thread>
#include <utility>

#include <toml++/toml.h>

#include "proxy/duration.h"

namespace cutover::proxy {
namespace {

constexpr int64_t kMaxWorkers = 256;
constexpr uint32_t kFullWeight = 10'000;  // basis points, 100 %
constexpr std::size_t kMaxPoolName = 64;

std::string_view TypeName(toml::node_type type) {
  switch (type) {
    case toml::node_type::table:
      return "a table";
    case toml::node_type::array:
      return "an array";
    case toml::node_type::string:
      return "a string";
    case toml::node_type::integer:
      return "an integer";
    case toml::node_type::floating_point:
      return "a float";
    case toml::node_type::boolean:
      return "a boolean";
    case toml::node_type::date:
      return "a date";
    case toml::node_type::time:
      return "a time";
    case toml::node_type::date_time:
      return "a date-time";
    case toml::node_type::none:
      break;
  }
  return "nothing";
}

int LineOf(const toml::source_region& where) {
  return static_cast<int>(where.begin.line);
}

// Quotes `text` as a TOML basic string. Keys and values come from the file and end up on an
// operator's terminal, so control characters are escaped rather than printed.
std::string Quote(std::string_view text) {
  std::string out = "\"";
  for (const char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      std::array<char, 8> buf{};
      std::snprintf(buf.data(), buf.size(), "\\u%04x", static_cast<unsigned char>(c));
      out += buf.data();
    } else {
      out += c;
    }
  }
  return out + "\"";
}

bool IsBareKey(std::string_view key) {
  if (key.empty()) return false;
  return std::all_of(key.begin(), key.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-';
  });
}

// Appends `key` to a dotted path, quoted like TOML when it is not a bare key, so that
// pools."a.b" is not mistaken for pools.a.b.
std::string KeyPath(std::string_view parent, std::string_view key) {
  std::string out(parent);
  if (!out.empty()) out += '.';
  out += IsBareKey(key) ? std::string(key) : Quote(key);
  return out;
}

// 1050 -> "10.5", 1 -> "0.01", 10000 -> "100".
std::string FormatPercent(uint64_t basis_points) {
  std::string out = std::to_string(basis_points / 100);
  const uint64_t cents = basis_points % 100;
  if (cents == 0) return out;
  out += '.';
  out += static_cast<char>('0' + cents / 10);
  if (cents % 10 != 0) out += static_cast<char>('0' + cents % 10);
  return out;
}

std::string FormatDouble(double value) {
  std::array<char, 32> buf{};
  const auto result = std::to_chars(buf.data(), buf.data() + buf.size(), value);
  return std::string(buf.data(), result.ptr);
}

struct HostPort {
  std::string host;  // numeric, canonical (inet_ntop), IPv6 without brackets
  uint16_t port = 0;
};

// Canonical text of a numeric address of `family`, or empty when `host` is not one.
std::string CanonicalAddress(int family, const std::string& host) {
  std::array<unsigned char, sizeof(in6_addr)> binary{};
  std::array<char, INET6_ADDRSTRLEN> text{};
  if (inet_pton(family, host.c_str(), binary.data()) != 1) return "";
  if (inet_ntop(family, binary.data(), text.data(), text.size()) == nullptr) return "";
  return text.data();
}

std::optional<uint16_t> ParsePort(std::string_view text) {
  uint32_t port = 0;
  if (text.empty() || text.size() > 5) return std::nullopt;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), port);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  if (port < 1 || port > 65535) return std::nullopt;
  return static_cast<uint16_t>(port);
}

// Parses "host:port" where host is a numeric IPv4 address, a bracketed IPv6 address or
// "localhost". Names are not resolved: a proxy that silently follows DNS at start-up would
// route to whatever the resolver said once and never again, which is worse than refusing.
std::optional<HostPort> ParseHostPort(std::string_view text, std::string* why) {
  std::string_view host;
  std::string_view port;
  bool bracketed = false;
  if (!text.empty() && text.front() == '[') {
    const std::size_t close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      *why = "expected [IPv6]:port";
      return std::nullopt;
    }
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
    bracketed = true;
  } else {
    const std::size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) {
      *why = "missing port, expected host:port";
      return std::nullopt;
    }
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) {
      *why = "an IPv6 address must be in brackets, e.g. \"[::1]:8080\"";
      return std::nullopt;
    }
  }
  HostPort out;
  if (bracketed) {
    out.host = CanonicalAddress(AF_INET6, std::string(host));
  } else if (host == "localhost") {
    out.host = "127.0.0.1";
  } else {
    out.host = CanonicalAddress(AF_INET, std::string(host));
  }
  if (out.host.empty()) {
    *why = bracketed ? "not a numeric IPv6 address"
                     : "host must be a numeric IPv4 address, a bracketed IPv6 address or "
                       "localhost (names are not resolved)";
    return std::nullopt;
  }
  const std::optional<uint16_t> parsed_port = ParsePort(port);
  if (!parsed_port) {
    *why = "port must be an integer from 1 to 65535";
    return std::nullopt;
  }
  out.port = *parsed_port;
  return out;
}

bool IsValidPoolName(std::string_view name) {
  return name.size() <= kMaxPoolName && IsBareKey(name);
}

// Where the endpoints of a pool were written, for errors found only once weights are known.
struct PoolOrigin {
  int endpoints_line = 0;
  bool endpoints_empty = false;  // an explicitly empty array, the only case worth reporting
};

// One pass over a parsed document. Each Parse* function handles one table; all of them add to
// the same error list and carry on, so one run reports every problem.
class Loader {
 public:
  explicit Loader(std::vector<ConfigError>* errors) : errors_(errors) {}

  void Load(const toml::table& root, Config* config);

 private:
  void ParseListener(const toml::table& root, ListenerConfig* out);
  void ParsePools(const toml::table& root, routing::RoutingSpec* spec);
  void ParsePool(const toml::key& name, const toml::node& node, routing::RoutingSpec* spec);
  void ParseEndpoints(const toml::node& node, const std::string& path,
                      std::vector<routing::EndpointSpec>* out);
  void ParseRouting(const toml::table& root, routing::RoutingSpec* spec);
  void ParsePoolName(const toml::table& routing, std::string_view key,
                     const routing::RoutingSpec& spec, std::string* out);
  void ParseWeights(const toml::node& node, routing::RoutingSpec* spec);
  std::optional<uint32_t> ParsePercent(const toml::node& node, const std::string& path);
  void DefaultWeights(int routing_line, routing::RoutingSpec* spec);
  void CheckWeightedPoolsHaveEndpoints(const routing::RoutingSpec& spec);
  void ParseTimeouts(const toml::table& root, TimeoutConfig* out);
  void ParseLimits(const toml::table& root, LimitConfig* out);
  void ParseLog(const toml::table& root, LogConfig* out);
  void ParseHeaders(const toml::table& root, HeaderConfig* out);
  void CheckRoutingTable(const toml::table& root, const routing::RoutingSpec& spec);

  // Value readers: each reports a wrong type or range and returns nullopt.
  const toml::table* Section(const toml::table& root, std::string_view name);
  const toml::table* ExpectTable(const toml::node& node, const std::string& path);
  std::optional<std::string> ReadString(const toml::node& node, const std::string& path);
  std::optional<bool> ReadBool(const toml::node& node, const std::string& path);
  std::optional<int64_t> ReadInteger(const toml::node& node, const std::string& path, int64_t min,
                                     int64_t max);
  std::optional<HostPort> ReadAddress(const toml::node& node, const std::string& path);
  void ReadDuration(const toml::table& table, std::string_view section, std::string_view key,
                    Millis* out);
  template <typename T>
  void ReadLimit(const toml::table& table, std::string_view key, int64_t min, int64_t max, T* out);
  void ReadFlag(const toml::table& table, std::string_view section, std::string_view key,
                bool* out);

  void RejectUnknownKeys(const toml::table& table, std::string_view path,
                         std::initializer_list<std::string_view> known);
  void TypeError(const toml::node& node, const std::string& path, std::string_view expected);
  void Error(std::string key_path, int line, std::string message) {
    errors_->push_back(ConfigError{std::move(key_path), line, std::move(message)});
  }

  std::vector<ConfigError>* errors_;
  std::vector<PoolOrigin> pool_origins_;  // parallel to RoutingSpec::pools
};

void Loader::Load(const toml::table& root, Config* config) {
  RejectUnknownKeys(root, "",
                    {"listener", "pools", "routing", "timeouts", "limits", "log", "headers"});
  ParseListener(root, &config->listener);
  ParsePools(root, &config->routing);
  ParseRouting(root, &config->routing);
  ParseTimeouts(root, &config->timeouts);
  ParseLimits(root, &config->limits);
  ParseLog(root, &config->log);
  ParseHeaders(root, &config->headers);
  // Only a config that passed every check of ours goes to the router, so its error (which
  // should then be impossible) is never a duplicate of one already reported.
  if (errors_->empty()) CheckRoutingTable(root, config->routing);
}

void Loader::ParseListener(const toml::table& root, ListenerConfig* out) {
  if (const toml::table* listener = Section(root, "listener")) {
    RejectUnknownKeys(*listener, "listener", {"address", "workers"});
    if (const toml::node* node = listener->get("address")) {
      if (std::optional<HostPort> address = ReadAddress(*node, "listener.address")) {
        out->host = std::move(address->host);
        out->port = address->port;
      }
    }
    if (const toml::node* node = listener->get("workers")) {
      const std::optional<int64_t> workers = ReadInteger(*node, "listener.workers", 0, kMaxWorkers);
      if (workers) out->workers = static_cast<unsigned>(*workers);
    }
  }
  if (out->workers == 0) {
    // hardware_concurrency() may return 0 when unknown; cap like an explicit value.
    const unsigned cores = std::thread::hardware_concurrency();
    out->workers = std::clamp<unsigned>(cores, 1, kMaxWorkers);
  }
}

void Loader::ParsePools(const toml::table& root, routing::RoutingSpec* spec) {
  const toml::node* node = root.get("pools");
  if (node == nullptr) {
    Error("pools", 0, "at least one pool is required");
    return;
  }
  const toml::table* pools = ExpectTable(*node, "pools");
  if (pools == nullptr) return;
  if (pools->empty()) {
    Error("pools", LineOf(node->source()), "at least one pool is required");
    return;
  }
  // toml++ keeps keys sorted by name, but pool order fixes the bucket ranges (routing_table.h),
  // so restore the order in which the operator wrote the pools.
  std::vector<std::pair<const toml::key*, const toml::node*>> ordered;
  for (const auto& [key, value] : *pools) ordered.emplace_back(&key, &value);
  std::sort(ordered.begin(), ordered.end(), [](const auto& a, const auto& b) {
    return a.first->source().begin < b.first->source().begin;
  });
  for (const auto& [key, value] : ordered) ParsePool(*key, *value, spec);
}

void Loader::ParsePool(const toml::key& name, const toml::node& node, routing::RoutingSpec* spec) {
  const std::string path = KeyPath("pools", name.str());
  if (!IsValidPoolName(name.str())) {
    Error(path, LineOf(name.source()),
          "a pool name must be 1 to 64 characters from A-Z, a-z, 0-9, '_' and '-'");
  }
  // The pool is kept even when invalid so that later checks (weights, baseline) do not
  // report it a second time as unknown.
  routing::PoolSpec pool{.name = std::string(name.str()), .endpoints = {}, .basis_points = 0};
  PoolOrigin origin{.endpoints_line = LineOf(node.source()), .endpoints_empty = false};
  if (const toml::table* table = ExpectTable(node, path)) {
    RejectUnknownKeys(*table, path, {"endpoints"});
    if (const toml::node* endpoints = table->get("endpoints")) {
      origin.endpoints_line = LineOf(endpoints->source());
      origin.endpoints_empty = endpoints->is_array() && endpoints->as_array()->empty();
      ParseEndpoints(*endpoints, path + ".endpoints", &pool.endpoints);
    } else {
      Error(path + ".endpoints", LineOf(node.source()), "missing required key");
    }
  }
  spec->pools.push_back(std::move(pool));
  pool_origins_.push_back(origin);
}

void Loader::ParseEndpoints(const toml::node& node, const std::string& path,
                            std::vector<routing::EndpointSpec>* out) {
  const toml::array* array = node.as_array();
  if (array == nullptr) {
    TypeError(node, path, "an array");
    return;
  }
  std::vector<std::size_t> indices;  // array index of each accepted endpoint, for messages
  for (std::size_t i = 0; i < array->size(); ++i) {
    const toml::node& element = *array->get(i);
    const std::string element_path = path + "[" + std::to_string(i) + "]";
    std::optional<HostPort> address = ReadAddress(element, element_path);
    if (!address) continue;
    const auto same = std::find_if(out->begin(), out->end(), [&](const auto& endpoint) {
      return endpoint.host == address->host && endpoint.port == address->port;
    });
    if (same != out->end()) {
      Error(element_path, LineOf(element.source()),
            "duplicate endpoint " + Quote(*element.value<std::string>()) + " (same as [" +
                std::to_string(indices[same - out->begin()]) + "])");
      continue;
    }
    out->push_back(routing::EndpointSpec{.host = std::move(address->host), .port = address->port});
    indices.push_back(i);
  }
}

void Loader::ParseRouting(const toml::table& root, routing::RoutingSpec* spec) {
  const toml::table* routing = Section(root, "routing");
  const toml::node* weights = nullptr;
  if (routing != nullptr) {
    RejectUnknownKeys(*routing, "routing", {"baseline", "candidate", "weights"});
    ParsePoolName(*routing, "baseline", *spec, &spec->baseline);
    ParsePoolName(*routing, "candidate", *spec, &spec->candidate);
    if (!spec->candidate.empty() && spec->candidate == spec->baseline) {
      Error("routing.candidate", LineOf(routing->get("candidate")->source()),
            "must differ from baseline");
    }
    weights = routing->get("weights");
  }
  if (weights != nullptr) {
    ParseWeights(*weights, spec);
  } else {
    DefaultWeights(routing != nullptr ? LineOf(routing->source()) : 0, spec);
  }
  CheckWeightedPoolsHaveEndpoints(*spec);
}

routing::PoolSpec* FindPool(routing::RoutingSpec* spec, std::string_view name) {
  for (routing::PoolSpec& pool : spec->pools)
    if (pool.name == name) return &pool;
  return nullptr;
}

void Loader::ParsePoolName(const toml::table& routing, std::string_view key,
                           const routing::RoutingSpec& spec, std::string* out) {
  const toml::node* node = routing.get(key);
  if (node == nullptr) return;
  const std::string path = KeyPath("routing", key);
  std::optional<std::string> name = ReadString(*node, path);
  if (!name) return;
  const bool known = std::any_of(spec.pools.begin(), spec.pools.end(),
                                 [&](const auto& pool) { return pool.name == *name; });
  // With no pools at all that is the error already reported; every name would be unknown.
  if (!known && !spec.pools.empty()) {
    Error(path, LineOf(node->source()), "unknown pool " + Quote(*name));
    return;
  }
  *out = std::move(*name);
}

void Loader::ParseWeights(const toml::node& node, routing::RoutingSpec* spec) {
  const toml::table* weights = ExpectTable(node, "routing.weights");
  if (weights == nullptr) return;
  bool complete = true;
  uint64_t sum = 0;
  for (const auto& [key, value] : *weights) {
    const std::string path = KeyPath("routing.weights", key.str());
    routing::PoolSpec* pool = FindPool(spec, key.str());
    if (pool == nullptr) {
      if (!spec->pools.empty()) Error(path, LineOf(key.source()), "unknown pool");
      complete = false;
      continue;
    }
    const std::optional<uint32_t> basis_points = ParsePercent(value, path);
    if (!basis_points) {
      complete = false;
      continue;
    }
    pool->basis_points = *basis_points;
    sum += *basis_points;
  }
  // A sum over weights that are partly wrong would only repeat the errors above.
  if (complete && sum != kFullWeight) {
    Error("routing.weights", LineOf(node.source()),
          "weights must sum to 100, they sum to " + FormatPercent(sum));
  }
}

// Percent to basis points. Floats are allowed because operators ramp in steps like 0.5 %, but
// only to two decimals: a third one would be rounded away silently by the bucket resolution.
std::optional<uint32_t> Loader::ParsePercent(const toml::node& node, const std::string& path) {
  const int line = LineOf(node.source());
  if (node.is_integer()) {
    const std::optional<int64_t> percent = ReadInteger(node, path, 0, 100);
    if (!percent) return std::nullopt;
    return static_cast<uint32_t>(*percent * 100);
  }
  if (!node.is_floating_point()) {
    TypeError(node, path, "a number");
    return std::nullopt;
  }
  const double percent = **node.as_floating_point();
  if (!(percent >= 0.0 && percent <= 100.0)) {  // also rejects nan
    Error(path, line, "must be between 0 and 100, got " + FormatDouble(percent));
    return std::nullopt;
  }
  const double scaled = percent * 100.0;
  const double rounded = std::round(scaled);
  // Binary floats cannot hold 33.33 exactly; 1e-6 basis points of slack absorbs that and
  // still rejects 10.005 (0.5 basis points off).
  if (std::fabs(scaled - rounded) > 1e-6) {
    Error(path, line, "at most two decimals are allowed, got " + FormatDouble(percent));
    return std::nullopt;
  }
  return static_cast<uint32_t>(rounded);
}

void Loader::DefaultWeights(int routing_line, routing::RoutingSpec* spec) {
  if (spec->pools.size() == 1) {
    spec->pools.front().basis_points = kFullWeight;
  } else if (spec->pools.size() > 1) {
    Error("routing.weights", routing_line, "required when there is more than one pool");
  }
}

void Loader::CheckWeightedPoolsHaveEndpoints(const routing::RoutingSpec& spec) {
  for (std::size_t i = 0; i < spec.pools.size(); ++i) {
    const routing::PoolSpec& pool = spec.pools[i];
    if (pool.basis_points == 0 || !pool_origins_[i].endpoints_empty) continue;
    Error(KeyPath(KeyPath("pools", pool.name), "endpoints"), pool_origins_[i].endpoints_line,
          "must not be empty: the pool has a weight of " + FormatPercent(pool.basis_points) + "%");
  }
}

void Loader::ParseTimeouts(const toml::table& root, TimeoutConfig* out) {
  const toml::table* timeouts = Section(root, "timeouts");
  if (timeouts == nullptr) return;
  RejectUnknownKeys(*timeouts, "timeouts",
                    {"header_read", "idle", "upstream_connect", "upstream_response",
                     "upstream_idle", "tunnel_idle", "drain"});
  ReadDuration(*timeouts, "timeouts", "header_read", &out->header_read);
  ReadDuration(*timeouts, "timeouts", "idle", &out->idle);
  ReadDuration(*timeouts, "timeouts", "upstream_connect", &out->upstream_connect);
  ReadDuration(*timeouts, "timeouts", "upstream_response", &out->upstream_response);
  ReadDuration(*timeouts, "timeouts", "upstream_idle", &out->upstream_idle);
  ReadDuration(*timeouts, "timeouts", "tunnel_idle", &out->tunnel_idle);
  ReadDuration(*timeouts, "timeouts", "drain", &out->drain);
}

void Loader::ParseLimits(const toml::table& root, LimitConfig* out) {
  const toml::table* limits = Section(root, "limits");
  if (limits == nullptr) return;
  RejectUnknownKeys(*limits, "limits",
                    {"header_bytes", "header_count", "uri_bytes", "body_bytes", "connections",
                     "upstream_idle_per_endpoint"});
  ReadLimit(*limits, "header_bytes", 1024, 1 << 20, &out->header_bytes);
  ReadLimit(*limits, "header_count", 1, 1000, &out->header_count);
  ReadLimit(*limits, "uri_bytes", 64, 1 << 20, &out->uri_bytes);
  ReadLimit(*limits, "body_bytes", 0, INT64_MAX, &out->body_bytes);
  ReadLimit(*limits, "connections", 0, UINT32_MAX, &out->connections);
  ReadLimit(*limits, "upstream_idle_per_endpoint", 0, 100'000, &out->upstream_idle_per_endpoint);
}

void Loader::ParseLog(const toml::table& root, LogConfig* out) {
  const toml::table* log = Section(root, "log");
  if (log == nullptr) return;
  RejectUnknownKeys(*log, "log", {"access", "access_path", "level"});
  ReadFlag(*log, "log", "access", &out->access);
  if (const toml::node* node = log->get("access_path")) {
    std::optional<std::string> path = ReadString(*node, "log.access_path");
    if (path && path->empty()) {
      Error("log.access_path", LineOf(node->source()), "must not be empty (\"-\" is stdout)");
    } else if (path) {
      out->access_path = std::move(*path);
    }
  }
  if (const toml::node* node = log->get("level")) {
    std::optional<std::string> level = ReadString(*node, "log.level");
    if (level && *level != "error" && *level != "warn" && *level != "info" && *level != "debug") {
      Error("log.level", LineOf(node->source()),
            "must be one of \"error\", \"warn\", \"info\", \"debug\", got " + Quote(*level));
    } else if (level) {
      out->level = std::move(*level);
    }
  }
}

void Loader::ParseHeaders(const toml::table& root, HeaderConfig* out) {
  const toml::table* headers = Section(root, "headers");
  if (headers == nullptr) return;
  RejectUnknownKeys(*headers, "headers", {"x_forwarded_for", "x_forwarded_proto"});
  ReadFlag(*headers, "headers", "x_forwarded_for", &out->x_forwarded_for);
  ReadFlag(*headers, "headers", "x_forwarded_proto", &out->x_forwarded_proto);
}

void Loader::CheckRoutingTable(const toml::table& root, const routing::RoutingSpec& spec) {
  std::string error;
  if (routing::RoutingTable::Build(spec, 1, &error) != nullptr) return;
  const toml::node* weights = root.at_path("routing.weights").node();
  Error("routing.weights", weights != nullptr ? LineOf(weights->source()) : 0, error);
}

const toml::table* Loader::Section(const toml::table& root, std::string_view name) {
  const toml::node* node = root.get(name);
  return node == nullptr ? nullptr : ExpectTable(*node, std::string(name));
}

const toml::table* Loader::ExpectTable(const toml::node& node, const std::string& path) {
  if (const toml::table* table = node.as_table()) return table;
  TypeError(node, path, "a table");
  return nullptr;
}

std::optional<std::string> Loader::ReadString(const toml::node& node, const std::string& path) {
  if (const auto* value = node.as_string()) return value->get();
  TypeError(node, path, "a string");
  return std::nullopt;
}

std::optional<bool> Loader::ReadBool(const toml::node& node, const std::string& path) {
  if (const auto* value = node.as_boolean()) return value->get();
  TypeError(node, path, "a boolean");
  return std::nullopt;
}

std::optional<int64_t> Loader::ReadInteger(const toml::node& node, const std::string& path,
                                           int64_t min, int64_t max) {
  const auto* value = node.as_integer();
  if (value == nullptr) {
    TypeError(node, path, "an integer");
    return std::nullopt;
  }
  const int64_t number = value->get();
  if (number >= min && number <= max) return number;
  const std::string range =
      max == INT64_MAX ? "must be " + std::to_string(min) + " or more"
                       : "must be between " + std::to_string(min) + " and " + std::to_string(max);
  Error(path, LineOf(node.source()), range + ", got " + std::to_string(number));
  return std::nullopt;
}

std::optional<HostPort> Loader::ReadAddress(const toml::node& node, const std::string& path) {
  std::optional<std::string> text = ReadString(node, path);
  if (!text) return std::nullopt;
  std::string why;
  std::optional<HostPort> address = ParseHostPort(*text, &why);
  if (!address) Error(path, LineOf(node.source()), "invalid address " + Quote(*text) + ": " + why);
  return address;
}

void Loader::ReadDuration(const toml::table& table, std::string_view section, std::string_view key,
                          Millis* out) {
  const toml::node* node = table.get(key);
  if (node == nullptr) return;
  const std::string path = KeyPath(section, key);
  const std::optional<std::string> text = ReadString(*node, path);
  if (!text) return;
  const std::optional<Millis> duration = ParseDuration(*text);
  const int line = LineOf(node->source());
  if (!duration) {
    Error(path, line,
          "invalid duration " + Quote(*text) +
              ": expected an integer and a unit (ms, s, m, h), e.g. \"250ms\" or \"10s\"");
  } else if (duration->count() == 0) {
    Error(path, line, "must be greater than 0");
  } else {
    *out = *duration;
  }
}

template <typename T>
void Loader::ReadLimit(const toml::table& table, std::string_view key, int64_t min, int64_t max,
                       T* out) {
  if (const toml::node* node = table.get(key)) {
    const std::optional<int64_t> value = ReadInteger(*node, KeyPath("limits", key), min, max);
    if (value) *out = static_cast<T>(*value);
  }
}

void Loader::ReadFlag(const toml::table& table, std::string_view section, std::string_view key,
                      bool* out) {
  if (const toml::node* node = table.get(key)) {
    const std::optional<bool> value = ReadBool(*node, KeyPath(section, key));
    if (value) *out = *value;
  }
}

// A misspelt key would otherwise leave its default in force without a word, which for a
// timeout or a limit is exactly the kind of silent surprise a migration cannot afford.
void Loader::RejectUnknownKeys(const toml::table& table, std::string_view path,
                               std::initializer_list<std::string_view> known) {
  for (const auto& [key, value] : table) {
    if (std::find(known.begin(), known.end(), key.str()) != known.end()) continue;
    Error(KeyPath(path, key.str()), LineOf(key.source()), "unknown key");
  }
}

void Loader::TypeError(const toml::node& node, const std::string& path, std::string_view expected) {
  Error(path, LineOf(node.source()),
        "expected " + std::string(expected) + ", got " + std::string(TypeName(node.type())));
}

// Errors come out in file order, whatever order the checks ran in; errors that belong to no
// line (a missing section) come last.
void SortByLine(std::vector<ConfigError>* errors) {
  std::stable_sort(errors->begin(), errors->end(), [](const auto& a, const auto& b) {
    return (a.line == 0 ? INT_MAX : a.line) < (b.line == 0 ? INT_MAX : b.line);
  });
}

// Reads `path` into `out`; returns 0 or the errno of the failure (a directory gives EISDIR).
int ReadWholeFile(const std::string& path, std::string* out) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno;
  std::array<char, 65536> buf{};
  int read_errno = 0;
  for (;;) {
    const ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n > 0) {
      out->append(buf.data(), static_cast<std::size_t>(n));
    } else if (n == 0) {
      break;
    } else if (errno != EINTR) {
      read_errno = errno;
      break;
    }
  }
  ::close(fd);
  return read_errno;
}

}  // namespace

std::string ConfigError::ToString(std::string_view source) const {
  std::string out(source);
  if (line > 0) out += ":" + std::to_string(line);
  out += ": ";
  if (!key_path.empty()) out += key_path + ": ";
  return out + message;
}

ConfigLoadResult LoadConfigString(std::string_view toml_text, std::string_view source_name) {
  ConfigLoadResult result;
  toml::table root;
  try {
    root = toml::parse(toml_text, source_name);
  } catch (const toml::parse_error& error) {
    const toml::source_position where = error.source().begin;
    result.errors.push_back(ConfigError{.key_path = "",
                                        .line = static_cast<int>(where.line),
                                        .message = "invalid TOML at column " +
                                                   std::to_string(where.column) + ": " +
                                                   std::string(error.description())});
    return result;
  }
  Config config;
  Loader(&result.errors).Load(root, &config);
  SortByLine(&result.errors);
  if (result.errors.empty()) result.config = std::move(config);
  return result;
}

ConfigLoadResult LoadConfigFile(const std::string& path) {
  std::string text;
  if (const int read_errno = ReadWholeFile(path, &text); read_errno != 0) {
    ConfigLoadResult result;
    result.errors.push_back(
        ConfigError{.key_path = "",
                    .line = 0,
                    .message = "cannot read: " + std::string(std::strerror(read_errno))});
    return result;
  }
  return LoadConfigString(text, path);
}

}  // namespace cutover::proxy
