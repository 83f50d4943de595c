#include "proxy/config_loader.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <climits>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <initializer_list>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <toml++/toml.h>

#include "proxy/duration.h"
#include "routing/condition_names.h"
#include "routing/weighted_split.h"

namespace cutover::proxy {
namespace {

constexpr int64_t kMaxWorkers = 256;
constexpr uint32_t kFullWeight = 10'000;  // basis points, 100 %
constexpr std::size_t kMaxPoolName = 64;
constexpr std::size_t kMaxRuleName = 64;
constexpr int64_t kMaxEndpointWeight = 1'000;
constexpr int64_t kMaxConsecutiveFailures = 1'000;
constexpr int64_t kMaxHealthThreshold = 100;
constexpr std::size_t kMinPinKeyBytes = 16;  // HMAC-SHA256 key; shorter keys are guessable
// A key file holds a short secret; a config file is text an operator wrote. Past these sizes
// the path names something else (/dev/zero, a log), which must not be read until memory runs out.
constexpr std::size_t kMaxPinKeyFileBytes = 4096;
constexpr std::size_t kMaxConfigFileBytes = 16 << 20;
constexpr int64_t kMillisPerDay = 86'400'000;
// Browsers cap cookie lifetimes at 400 days (RFC 6265bis); a longer Max-Age would be shortened
// silently.
constexpr int64_t kMaxCookieAgeDays = 400;

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

std::string FormatDouble(double value) {
  std::array<char, 32> buf{};
  const auto result = std::to_chars(buf.data(), buf.data() + buf.size(), value);
  return std::string(buf.data(), result.ptr);
}

// 300000 -> "5m", 1500 -> "1500ms": the largest unit that divides exactly, as a config would say.
std::string FormatMillis(int64_t millis) {
  for (const auto& [per_unit, unit] :
       {std::pair<int64_t, std::string_view>{3'600'000, "h"}, {60'000, "m"}, {1'000, "s"}}) {
    if (millis != 0 && millis % per_unit == 0)
      return std::to_string(millis / per_unit) + std::string(unit);
  }
  return std::to_string(millis) + "ms";
}

// Which units a duration key accepts. Cookie lifetimes are naturally written in days; the
// timeouts are not, and there ParseDuration's narrower syntax keeps "1d" an error.
enum class DurationUnits : uint8_t { kUpToHours, kUpToDays };

// ParseDuration plus "Nd" (N * 24 hours).
std::optional<Millis> ParseDurationWithDays(std::string_view text) {
  if (text.size() < 2 || text.back() != 'd') return ParseDuration(text);
  const std::optional<Millis> hours =
      ParseDuration(std::string(text.substr(0, text.size() - 1)) + "h");
  if (!hours || hours->count() > INT64_MAX / 24) return std::nullopt;
  return *hours * 24;
}

// RFC 9110 §5.6.2 tchar; header field names (§5.1) and cookie names (RFC 6265 §4.1.1) are tokens.
bool IsTokenChar(char c) {
  if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool IsToken(std::string_view text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), IsTokenChar);
}

bool IsValidRuleName(std::string_view name) {
  if (name.empty() || name.size() > kMaxRuleName) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '.' || c == '-';
  });
}

// Visible ASCII only: anything else would need percent-encoding in a request target.
bool IsVisibleAscii(std::string_view text) {
  return std::all_of(text.begin(), text.end(), [](char c) { return c > 0x20 && c < 0x7f; });
}

// Why `text` is not a CIDR ("10.0.0.0/8", "2001:db8::/32") or a bare address, or "" if it is.
// Host bits beyond the prefix are allowed and ignored, as routing/ip_address.h documents.
std::string CidrProblem(std::string_view text) {
  const std::size_t slash = text.find('/');
  const std::string address(text.substr(0, slash));
  std::array<unsigned char, sizeof(in6_addr)> bytes{};
  int max_bits = 32;
  if (inet_pton(AF_INET, address.c_str(), bytes.data()) != 1) {
    if (inet_pton(AF_INET6, address.c_str(), bytes.data()) != 1) {
      return "not a numeric IPv4 or IPv6 address";
    }
    max_bits = 128;
  }
  if (slash == std::string_view::npos) return "";
  const std::string_view length = text.substr(slash + 1);
  int bits = -1;
  const auto [end, ec] = std::from_chars(length.data(), length.data() + length.size(), bits);
  if (length.empty() || length.size() > 3 || ec != std::errc() ||
      end != length.data() + length.size() || bits < 0 || bits > max_bits) {
    return "the prefix length must be an integer from 0 to " + std::to_string(max_bits);
  }
  return "";
}

// Why the router would refuse `pattern` as a header regex, or "" if it accepts it. The router
// owns the dialect and the flags (routing/rule.cc; DESIGN §4 allows a switch to another
// engine), so it is asked rather than imitated; the loader only adds the line. Its message is
// not shown whole because it quotes the pattern unescaped; the engine's reason is.
std::string RegexProblem(const std::string& pattern) {
  routing::ConditionSpec condition;
  condition.kind = routing::ConditionSpec::Kind::kHeaderRegex;
  condition.name = "X";  // the real name is checked on its own
  condition.values = {pattern};
  routing::RuleSpec rule;
  rule.conditions.push_back(std::move(condition));
  std::string error;
  if (routing::CompiledRule::Compile(rule, 0, &error) != nullptr) return "";
  constexpr std::string_view kCause = "does not compile: ";
  const std::size_t cause = error.find(kCause);
  if (cause == std::string::npos) return "the router refuses it";
  return error.substr(cause + kCause.size());
}

// Why `text` cannot be the name an upstream's certificate is verified against (and sent as
// SNI), or "" if it can: a host name (RFC 1123 labels: letters, digits and '-', 1 to 63
// each, 253 in all, no wildcard) or a numeric IPv4/IPv6 address, checked against IP SANs.
std::string ServerNameProblem(std::string_view text) {
  if (text.empty()) return "must not be empty (leave it out to verify each endpoint's address)";
  std::array<unsigned char, sizeof(in6_addr)> bytes{};
  const std::string host(text);
  if (inet_pton(AF_INET, host.c_str(), bytes.data()) == 1 ||
      inet_pton(AF_INET6, host.c_str(), bytes.data()) == 1) {
    return "";
  }
  constexpr std::string_view kWhat = "must be a host name or a numeric IP address";
  if (text.size() > 253) return std::string(kWhat) + " (at most 253 characters)";
  std::size_t start = 0;
  while (start <= text.size()) {
    const std::size_t dot = std::min(text.find('.', start), text.size());
    const std::string_view label = text.substr(start, dot - start);
    const bool valid = !label.empty() && label.size() <= 63 && label.front() != '-' &&
                       label.back() != '-' && std::all_of(label.begin(), label.end(), [](char c) {
                         return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                                (c >= '0' && c <= '9') || c == '-';
                       });
    if (!valid) {
      return std::string(kWhat) +
             " (dot-separated labels of 1 to 63 letters, digits and '-'; no wildcard)";
    }
    start = dot + 1;
  }
  return "";
}

// Seconds since the epoch of 00:00 UTC on `date`.
int64_t UnixDayStart(const toml::date& date) {
  const std::chrono::sys_days day{std::chrono::year{date.year} / std::chrono::month{date.month} /
                                  std::chrono::day{date.day}};
  return static_cast<int64_t>(day.time_since_epoch().count()) * 86'400;
}

// Reads `path` into `out`; returns 0 or the errno of the failure (a directory gives EISDIR,
// more than `max_bytes` EFBIG).
int ReadWholeFile(const std::string& path, std::size_t max_bytes, std::string* out) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno;
  std::array<char, 65536> buf{};
  int read_errno = 0;
  for (;;) {
    const ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n > 0) {
      out->append(buf.data(), static_cast<std::size_t>(n));
      if (out->size() > max_bytes) {
        read_errno = EFBIG;
        break;
      }
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

// One string of a value written as "a string or an array of strings", with where it was written.
struct ListItem {
  std::string value;
  std::string path;  // the key's path, or path[i] for an array element
  int line = 0;
};

// How a key of a rule's `match` table is written, and which conditions it becomes.
using routing::kMatchKeys;
using routing::MatchKey;
using routing::MatchShape;

using ConditionKind = routing::ConditionSpec::Kind;

// One pass over a parsed document. Each Parse* function handles one table; all of them add to
// the same error list and carry on, so one run reports every problem.
class Loader {
 public:
  explicit Loader(std::vector<ConfigError>* errors) : errors_(errors) {}

  void Load(const toml::table& root, Config* config);

 private:
  void ParseListener(const toml::table& root, ListenerConfig* out);
  void ParsePools(const toml::table& root, Config* config);
  void ParsePool(const toml::key& name, const toml::node& node, Config* config);
  void ParsePoolTls(const toml::node& node, const std::string& path, UpstreamTlsConfig* out);
  void ParseEndpoints(const toml::node& node, const std::string& path,
                      std::vector<routing::EndpointSpec>* out);
  std::optional<routing::EndpointSpec> ParseEndpoint(const toml::node& node,
                                                     const std::string& path, std::string* text);
  void ParsePoolPolicies(const toml::table& pool, const std::string& path, routing::PoolSpec* out);
  void ParseOutlier(const toml::node& node, const std::string& path, routing::OutlierSpec* out);
  void ParseHealthCheck(const toml::node& node, const std::string& path,
                        routing::HealthCheckSpec* out);
  void ParseRouting(const toml::table& root, routing::RoutingSpec* spec);
  void ParseAffinity(const toml::node& node, routing::AffinitySpec* out);
  void ParseAffinityCookie(const toml::table& affinity, routing::AffinitySpec* out);
  void ParseAffinitySource(const toml::node& node, const std::string& path,
                           routing::AffinitySpec* out);
  void CheckAffinityMode(const toml::table& affinity, const routing::AffinitySpec& spec);
  void ParsePinKey(const toml::table& affinity, bool pin_mode, std::string* out);
  void ReadPinKeyFile(const toml::node& node, const std::string& file, std::string* out);
  void ReadCookieName(const toml::table& table, std::string_view section, std::string_view key,
                      std::string* out);
  void ReadCookieAge(const toml::table& table, std::string_view section, std::string_view key,
                     int64_t* out_seconds);
  void ParseRules(const toml::node& node, routing::RoutingSpec* spec);
  void ParseRule(const toml::table& table, const std::string& path,
                 const routing::RoutingSpec& spec, routing::RuleSpec* out);
  void ParseRulePool(const toml::table& table, const std::string& path,
                     const routing::RoutingSpec& spec, routing::RuleSpec* out);
  std::optional<int64_t> ReadExpires(const toml::node& node, const std::string& path);
  void ParseMatch(const toml::node& node, const std::string& path,
                  std::vector<routing::ConditionSpec>* out);
  void ParseMatchKey(const MatchKey& key, const toml::node& node, const std::string& path,
                     std::vector<routing::ConditionSpec>* out);
  void ParseMatchList(const MatchKey& key, const toml::node& node, const std::string& path,
                      std::vector<routing::ConditionSpec>* out);
  bool ReadMatchValues(ConditionKind kind, const toml::node& node, const std::string& path,
                       std::vector<std::string>* out);
  bool ReadMatchRegex(const toml::node& node, const std::string& path,
                      std::vector<std::string>* out);
  bool CheckMatchName(ConditionKind kind, std::string_view name, const std::string& path, int line);
  bool CheckMatchValue(ConditionKind kind, const ListItem& item);
  void ParsePoolName(const toml::table& routing, std::string_view key,
                     const routing::RoutingSpec& spec, std::string* out);
  void ParseWeights(const toml::node& node, routing::RoutingSpec* spec);
  std::optional<uint32_t> ParsePercent(const toml::node& node, const std::string& path);
  void DefaultWeights(int routing_line, routing::RoutingSpec* spec);
  void CheckWeightedPoolsHaveEndpoints(const routing::RoutingSpec& spec);
  void ParseTimeouts(const toml::table& root, TimeoutConfig* out);
  void ParseLimits(const toml::table& root, LimitConfig* out);
  void ParseLog(const toml::table& root, LogConfig* out);
  void ParseAdmin(const toml::table& root, AdminConfig* out);
  void ParseMetrics(const toml::table& root, MetricsConfig* out);
  void ParseGuardrails(const toml::table& root, GuardrailsConfig* out);
  void ParseRollout(const toml::table& root, RolloutConfig* out);
  void ParseListenerTls(const toml::table& listener, ListenerTlsConfig* out);
  void ParseAdminTls(const toml::table& admin, AdminTlsConfig* out);
  // The keys [listener.tls] and [admin.tls] share (certificates, min_version, ciphers,
  // ciphersuites); `section` names them in errors. Unknown keys are the caller's to reject.
  void ParseTlsTermination(const toml::table& tls, std::string_view section,
                           ListenerTlsConfig* out);
  void ParseClientRoles(const toml::node& node, AdminTlsConfig* out);
  void ReadPath(const toml::table& table, std::string_view section, std::string_view key,
                bool may_be_empty, std::string* out);
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
  // A number (integer or float) in [min, max].
  std::optional<double> ReadNumber(const toml::node& node, const std::string& path, double min,
                                   double max);
  // A string that must be one of `choices`; returns its index.
  std::optional<std::size_t> ReadChoice(const toml::node& node, const std::string& path,
                                        std::initializer_list<std::string_view> choices);
  // "v" or ["v1", "v2"]; an empty array is an error (it could never match).
  std::optional<std::vector<ListItem>> ReadStringList(const toml::node& node,
                                                      const std::string& path);
  std::optional<Millis> ReadDurationValue(const toml::node& node, const std::string& path,
                                          DurationUnits units);
  // Absent keys leave *out alone. Returns false only when the key is present and invalid.
  bool ReadDuration(const toml::table& table, std::string_view section, std::string_view key,
                    Millis* out, DurationUnits units = DurationUnits::kUpToHours);
  template <typename T>
  void ReadLimit(const toml::table& table, std::string_view key, int64_t min, int64_t max, T* out);
  template <typename T>
  void ReadBounded(const toml::table& table, std::string_view section, std::string_view key,
                   int64_t min, int64_t max, T* out);
  void ReadFlag(const toml::table& table, std::string_view section, std::string_view key,
                bool* out);

  void RejectUnknownKeys(const toml::table& table, std::string_view path,
                         std::initializer_list<std::string_view> known);
  template <typename Range>
  void RejectKeysNotIn(const toml::table& table, std::string_view path, const Range& known);
  void TypeError(const toml::node& node, const std::string& path, std::string_view expected);
  void Error(std::string key_path, int line, std::string message) {
    errors_->push_back(ConfigError{std::move(key_path), line, std::move(message)});
  }

  std::vector<ConfigError>* errors_;
  std::vector<PoolOrigin> pool_origins_;  // parallel to RoutingSpec::pools
};

void Loader::Load(const toml::table& root, Config* config) {
  RejectUnknownKeys(root, "",
                    {"listener", "admin", "metrics", "pools", "routing", "timeouts", "limits",
                     "log", "headers", "guardrails", "rollout"});
  ParseListener(root, &config->listener);
  ParseAdmin(root, &config->admin);
  ParseMetrics(root, &config->metrics);
  ParsePools(root, config);
  ParseRouting(root, &config->routing);
  ParseTimeouts(root, &config->timeouts);
  ParseLimits(root, &config->limits);
  ParseLog(root, &config->log);
  ParseHeaders(root, &config->headers);
  ParseGuardrails(root, &config->guardrails);
  ParseRollout(root, &config->rollout);
  if (config->guardrails.enabled && !config->admin.enabled) {
    Error("guardrails", LineOf(root.get("guardrails")->source()),
          "needs the [admin] section: the admin thread runs the guardrails, its audit log "
          "records their actions and its API acknowledges a breach");
  }
  // Only a config that passed every check of ours goes to the router, so its error (which
  // should then be impossible) is never a duplicate of one already reported.
  if (errors_->empty()) CheckRoutingTable(root, config->routing);
}

void Loader::ParseListener(const toml::table& root, ListenerConfig* out) {
  if (const toml::table* listener = Section(root, "listener")) {
    RejectUnknownKeys(*listener, "listener", {"address", "workers", "tls"});
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
    ParseListenerTls(*listener, &out->tls);
  }
  if (out->workers == 0) {
    // hardware_concurrency() may return 0 when unknown; cap like an explicit value.
    const unsigned cores = std::thread::hardware_concurrency();
    out->workers = std::clamp<unsigned>(cores, 1, kMaxWorkers);
  }
}

void Loader::ParsePools(const toml::table& root, Config* config) {
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
  for (const auto& [key, value] : ordered) ParsePool(*key, *value, config);
}

void Loader::ParsePool(const toml::key& name, const toml::node& node, Config* config) {
  const std::string path = KeyPath("pools", name.str());
  if (!IsValidPoolName(name.str())) {
    Error(path, LineOf(name.source()),
          "a pool name must be 1 to 64 characters from A-Z, a-z, 0-9, '_' and '-'");
  }
  // The pool is kept even when invalid so that later checks (weights, baseline) do not
  // report it a second time as unknown.
  routing::PoolSpec pool;
  pool.name = std::string(name.str());
  PoolOrigin origin{.endpoints_line = LineOf(node.source()), .endpoints_empty = false};
  if (const toml::table* table = ExpectTable(node, path)) {
    RejectUnknownKeys(*table, path,
                      {"endpoints", "failover", "balance", "outlier", "health_check", "tls"});
    if (const toml::node* endpoints = table->get("endpoints")) {
      origin.endpoints_line = LineOf(endpoints->source());
      origin.endpoints_empty = endpoints->is_array() && endpoints->as_array()->empty();
      ParseEndpoints(*endpoints, path + ".endpoints", &pool.endpoints);
    } else {
      Error(path + ".endpoints", LineOf(node.source()), "missing required key");
    }
    ParsePoolPolicies(*table, path, &pool);
    if (const toml::node* tls = table->get("tls")) {
      ParsePoolTls(*tls, KeyPath(path, "tls"), &config->upstream_tls[pool.name]);
    }
  }
  config->routing.pools.push_back(std::move(pool));
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
    std::string text;
    std::optional<routing::EndpointSpec> endpoint = ParseEndpoint(element, element_path, &text);
    if (!endpoint) continue;
    const auto same = std::find_if(out->begin(), out->end(), [&](const auto& other) {
      return other.host == endpoint->host && other.port == endpoint->port;
    });
    if (same != out->end()) {
      Error(element_path, LineOf(element.source()),
            "duplicate endpoint " + Quote(text) + " (same as [" +
                std::to_string(indices[same - out->begin()]) + "])");
      continue;
    }
    out->push_back(std::move(*endpoint));
    indices.push_back(i);
  }
}

// An endpoint is "host:port" or { address = "host:port", weight = N }; `text` gets the address
// as written, for messages.
std::optional<routing::EndpointSpec> Loader::ParseEndpoint(const toml::node& node,
                                                           const std::string& path,
                                                           std::string* text) {
  const toml::node* address_node = &node;
  std::string address_path = path;
  std::optional<int64_t> weight = 1;
  if (const toml::table* table = node.as_table()) {
    RejectUnknownKeys(*table, path, {"address", "weight"});
    if (const toml::node* weight_node = table->get("weight")) {
      weight = ReadInteger(*weight_node, path + ".weight", 1, kMaxEndpointWeight);
    }
    address_path = path + ".address";
    address_node = table->get("address");
    if (address_node == nullptr) {
      Error(address_path, LineOf(node.source()), "missing required key");
      return std::nullopt;
    }
  } else if (!node.is_string()) {
    TypeError(node, path, "a string or a table");
    return std::nullopt;
  }
  std::optional<HostPort> address = ReadAddress(*address_node, address_path);
  if (!address || !weight) return std::nullopt;
  *text = *address_node->value<std::string>();
  return routing::EndpointSpec{.host = std::move(address->host),
                               .port = address->port,
                               .weight = static_cast<uint32_t>(*weight)};
}

void Loader::ParsePoolPolicies(const toml::table& pool, const std::string& path,
                               routing::PoolSpec* out) {
  if (const toml::node* node = pool.get("failover")) {
    const std::optional<std::size_t> choice =
        ReadChoice(*node, KeyPath(path, "failover"), {"other-pool", "503"});
    if (choice) {
      out->failover = *choice == 0 ? routing::FailoverPolicy::kOtherPool
                                   : routing::FailoverPolicy::kUnavailable;
    }
  }
  if (const toml::node* node = pool.get("balance")) {
    const std::optional<std::size_t> choice =
        ReadChoice(*node, KeyPath(path, "balance"), {"round-robin", "power-of-two"});
    if (choice) {
      out->balance =
          *choice == 0 ? routing::BalanceMode::kRoundRobin : routing::BalanceMode::kPowerOfTwo;
    }
  }
  if (const toml::node* node = pool.get("outlier")) {
    ParseOutlier(*node, KeyPath(path, "outlier"), &out->outlier);
  }
  if (const toml::node* node = pool.get("health_check")) {
    ParseHealthCheck(*node, KeyPath(path, "health_check"), &out->health_check);
  }
}

// `[pools.NAME.tls]`: its presence turns TLS on; every key is optional. The files themselves
// are read when the snapshot is built (proxy/upstream_tls.h), like the listener's.
void Loader::ParsePoolTls(const toml::node& node, const std::string& path, UpstreamTlsConfig* out) {
  const toml::table* tls = ExpectTable(node, path);
  if (tls == nullptr) return;
  RejectUnknownKeys(*tls, path, {"ca_file", "server_name", "cert", "key", "verify", "min_version"});
  ReadPath(*tls, path, "ca_file", false, &out->ca_file);
  ReadPath(*tls, path, "cert", false, &out->cert);
  ReadPath(*tls, path, "key", false, &out->key);
  // A client certificate is useless without its key and the other way round; blame the one
  // that was written.
  const toml::node* cert = tls->get("cert");
  const toml::node* key = tls->get("key");
  if ((cert == nullptr) != (key == nullptr)) {
    const bool has_cert = cert != nullptr;
    Error(KeyPath(path, has_cert ? "cert" : "key"), LineOf((has_cert ? cert : key)->source()),
          has_cert ? "needs `key` too (the client certificate's private key)"
                   : "needs `cert` too (the client certificate this key belongs to)");
  }
  if (const toml::node* name = tls->get("server_name")) {
    const std::string key_path = KeyPath(path, "server_name");
    if (std::optional<std::string> text = ReadString(*name, key_path)) {
      if (const std::string why = ServerNameProblem(*text); !why.empty()) {
        Error(key_path, LineOf(name->source()), why + ", got " + Quote(*text));
      } else {
        out->server_name = std::move(*text);
      }
    }
  }
  ReadFlag(*tls, path, "verify", &out->verify);
  if (const toml::node* version = tls->get("min_version")) {
    const std::string key_path = KeyPath(path, "min_version");
    if (std::optional<std::string> text = ReadString(*version, key_path)) {
      if (*text != "1.2" && *text != "1.3") {
        Error(key_path, LineOf(version->source()),
              "must be \"1.2\" or \"1.3\", got " + Quote(*text) +
                  " (older versions are not offered)");
      } else {
        out->min_version = *text;
      }
    }
  }
}

void Loader::ParseOutlier(const toml::node& node, const std::string& path,
                          routing::OutlierSpec* out) {
  const toml::table* outlier = ExpectTable(node, path);
  if (outlier == nullptr) return;
  RejectUnknownKeys(*outlier, path, {"consecutive_failures", "base_ejection", "max_ejection"});
  ReadBounded(*outlier, path, "consecutive_failures", 0, kMaxConsecutiveFailures,
              &out->consecutive_failures);
  Millis base(out->base_ejection_ms);
  Millis max(out->max_ejection_ms);
  const bool base_ok = ReadDuration(*outlier, path, "base_ejection", &base);
  const bool max_ok = ReadDuration(*outlier, path, "max_ejection", &max);
  if (!base_ok || !max_ok) return;
  out->base_ejection_ms = base.count();
  out->max_ejection_ms = max.count();
  if (max >= base) return;
  // Blame the key that was written; with both written, the cap is the one that is off.
  if (const toml::node* max_node = outlier->get("max_ejection")) {
    Error(KeyPath(path, "max_ejection"), LineOf(max_node->source()),
          "must not be shorter than base_ejection (" + FormatMillis(base.count()) + ")");
  } else {
    Error(KeyPath(path, "base_ejection"), LineOf(outlier->get("base_ejection")->source()),
          "must not be longer than max_ejection (" + FormatMillis(max.count()) + ", the default)");
  }
}

void Loader::ParseHealthCheck(const toml::node& node, const std::string& path,
                              routing::HealthCheckSpec* out) {
  const toml::table* check = ExpectTable(node, path);
  if (check == nullptr) return;
  RejectUnknownKeys(
      *check, path,
      {"enabled", "path", "interval", "timeout", "healthy_threshold", "unhealthy_threshold"});
  out->enabled = true;  // writing the table is what asks for health checks
  ReadFlag(*check, path, "enabled", &out->enabled);
  if (const toml::node* path_node = check->get("path")) {
    const std::string key_path = KeyPath(path, "path");
    std::optional<std::string> request_path = ReadString(*path_node, key_path);
    const int line = LineOf(path_node->source());
    if (request_path && (request_path->empty() || request_path->front() != '/')) {
      Error(key_path, line, "must start with '/', got " + Quote(*request_path));
    } else if (request_path &&
               (!IsVisibleAscii(*request_path) || request_path->find('#') != std::string::npos)) {
      // It is sent as the origin-form request target (RFC 9112 §3.2.1).
      Error(key_path, line,
            "must be a request target: visible ASCII, no spaces and no '#', got " +
                Quote(*request_path));
    } else if (request_path) {
      out->path = std::move(*request_path);
    }
  }
  Millis interval(out->interval_ms);
  Millis timeout(out->timeout_ms);
  const bool interval_ok = ReadDuration(*check, path, "interval", &interval);
  const bool timeout_ok = ReadDuration(*check, path, "timeout", &timeout);
  ReadBounded(*check, path, "healthy_threshold", 1, kMaxHealthThreshold, &out->healthy_threshold);
  ReadBounded(*check, path, "unhealthy_threshold", 1, kMaxHealthThreshold,
              &out->unhealthy_threshold);
  if (!interval_ok || !timeout_ok) return;
  out->interval_ms = interval.count();
  out->timeout_ms = timeout.count();
  if (timeout <= interval) return;
  // A probe still running when the next one is due would overlap it.
  if (const toml::node* timeout_node = check->get("timeout")) {
    Error(KeyPath(path, "timeout"), LineOf(timeout_node->source()),
          "must not be longer than interval (" + FormatMillis(interval.count()) + ")");
  } else {
    Error(KeyPath(path, "interval"), LineOf(check->get("interval")->source()),
          "must not be shorter than timeout (" + FormatMillis(timeout.count()) + ", the default)");
  }
}

void Loader::ParseRouting(const toml::table& root, routing::RoutingSpec* spec) {
  const toml::table* routing = Section(root, "routing");
  const toml::node* weights = nullptr;
  if (routing != nullptr) {
    RejectUnknownKeys(*routing, "routing",
                      {"baseline", "candidate", "weights", "affinity", "rules"});
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
  if (routing == nullptr) return;
  if (const toml::node* affinity = routing->get("affinity")) {
    ParseAffinity(*affinity, &spec->affinity);
  }
  if (const toml::node* rules = routing->get("rules")) ParseRules(*rules, spec);
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
          "weights must sum to 100, they sum to " + routing::FormatPercent(sum));
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
          "must not be empty: the pool has a weight of " +
              routing::FormatPercent(pool.basis_points) + "%");
  }
}

void Loader::ParseAffinity(const toml::node& node, routing::AffinitySpec* out) {
  const std::string path = "routing.affinity";
  const toml::table* affinity = ExpectTable(node, path);
  if (affinity == nullptr) return;
  RejectUnknownKeys(*affinity, path,
                    {"mode", "source", "cookie", "cookie_path", "cookie_max_age", "cookie_secure",
                     "cookie_http_only", "cookie_same_site", "salt", "pin_cookie", "pin_max_age",
                     "pin_key", "pin_key_file"});
  // Writing the table asks for affinity; "hash", the stateless mode, is the default (DESIGN §4).
  out->mode = routing::AffinityMode::kHash;
  bool mode_known = true;
  if (const toml::node* mode = affinity->get("mode")) {
    const std::optional<std::size_t> choice =
        ReadChoice(*mode, path + ".mode", {"hash", "pin", "none"});
    mode_known = choice.has_value();
    if (choice) {
      constexpr std::array<routing::AffinityMode, 3> kModes = {
          routing::AffinityMode::kHash, routing::AffinityMode::kPin, routing::AffinityMode::kNone};
      out->mode = kModes[*choice];
    }
  }
  if (const toml::node* source = affinity->get("source")) {
    ParseAffinitySource(*source, path + ".source", out);
  }
  ParseAffinityCookie(*affinity, out);
  if (const toml::node* salt = affinity->get("salt")) {
    if (std::optional<std::string> value = ReadString(*salt, path + ".salt")) {
      out->salt = std::move(*value);
    }
  }
  ReadCookieName(*affinity, path, "pin_cookie", &out->pin_cookie);
  ReadCookieAge(*affinity, path, "pin_max_age", &out->pin_max_age_seconds);
  ParsePinKey(*affinity, mode_known && out->mode == routing::AffinityMode::kPin, &out->pin_key);
  if (mode_known) CheckAffinityMode(*affinity, *out);
}

// The proxy's own key cookie and the attributes it is set with (also used for the pin cookie).
void Loader::ParseAffinityCookie(const toml::table& affinity, routing::AffinitySpec* out) {
  const std::string path = "routing.affinity";
  ReadCookieName(affinity, path, "cookie", &out->cookie);
  if (const toml::node* cookie_path = affinity.get("cookie_path")) {
    std::optional<std::string> value = ReadString(*cookie_path, path + ".cookie_path");
    // RFC 6265 §4.1.1 path-value: any CHAR except CTLs or ';'; it must be absolute to apply.
    if (value && (value->empty() || value->front() != '/')) {
      Error(path + ".cookie_path", LineOf(cookie_path->source()),
            "must start with '/', got " + Quote(*value));
    } else if (value && (!IsVisibleAscii(*value) || value->find(';') != std::string::npos)) {
      Error(path + ".cookie_path", LineOf(cookie_path->source()),
            "must be visible ASCII without spaces or ';' (RFC 6265 §4.1.1), got " + Quote(*value));
    } else if (value) {
      out->cookie_path = std::move(*value);
    }
  }
  ReadCookieAge(affinity, path, "cookie_max_age", &out->cookie_max_age_seconds);
  ReadFlag(affinity, path, "cookie_secure", &out->cookie_secure);
  ReadFlag(affinity, path, "cookie_http_only", &out->cookie_http_only);
  if (const toml::node* same_site = affinity.get("cookie_same_site")) {
    const std::optional<std::size_t> choice =
        ReadChoice(*same_site, path + ".cookie_same_site", {"Strict", "Lax", "None"});
    if (choice) out->cookie_same_site = std::string(std::array{"Strict", "Lax", "None"}[*choice]);
    if (choice && *choice == 2 && !out->cookie_secure) {
      // Browsers drop a SameSite=None cookie that is not also Secure (RFC 6265bis), so the
      // key would be minted afresh on every request.
      Error(path + ".cookie_same_site", LineOf(same_site->source()),
            "\"None\" requires cookie_secure = true: browsers reject SameSite=None cookies "
            "without Secure");
    }
  }
}

// "cookie:NAME", "header:NAME" or "ip".
void Loader::ParseAffinitySource(const toml::node& node, const std::string& path,
                                 routing::AffinitySpec* out) {
  const std::optional<std::string> source = ReadString(node, path);
  if (!source) return;
  const int line = LineOf(node.source());
  const std::string invalid = "invalid source " + Quote(*source) + ": ";
  if (*source == "ip") {
    out->source = routing::AffinitySource::kClientIp;
    out->source_name.clear();
    return;
  }
  const std::size_t colon = source->find(':');
  const std::string_view kind = std::string_view(*source).substr(0, colon);
  if (colon == std::string::npos || (kind != "cookie" && kind != "header")) {
    Error(path, line, invalid + "expected \"cookie:NAME\", \"header:NAME\" or \"ip\"");
    return;
  }
  const std::string name = source->substr(colon + 1);
  if (!IsToken(name)) {
    Error(path, line,
          invalid + (kind == "cookie" ? "the cookie name must be a token (RFC 6265 §4.1.1)"
                                      : "the header name must be a token (RFC 9110 §5.1)"));
    return;
  }
  out->source =
      kind == "cookie" ? routing::AffinitySource::kCookie : routing::AffinitySource::kHeader;
  out->source_name = name;
}

// What each mode requires, checked once every key has been read.
void Loader::CheckAffinityMode(const toml::table& affinity, const routing::AffinitySpec& spec) {
  const std::string path = "routing.affinity";
  if (spec.mode == routing::AffinityMode::kHash) {
    // Without a salt of its own, a fleet's bucket assignment is predictable from the key alone.
    if (const toml::node* salt = affinity.get("salt")) {
      if (spec.salt.empty() && salt->is_string()) {
        Error(path + ".salt", LineOf(salt->source()), "must not be empty when mode is \"hash\"");
      }
    } else {
      Error(path + ".salt", LineOf(affinity.source()), "required when mode is \"hash\"");
    }
  }
  if (spec.mode == routing::AffinityMode::kPin && spec.pin_cookie == spec.cookie) {
    const toml::node* pin_cookie = affinity.get("pin_cookie");
    const toml::node* cookie = affinity.get("cookie");
    const toml::node* blame = pin_cookie != nullptr ? pin_cookie : cookie;
    Error(path + (pin_cookie != nullptr ? ".pin_cookie" : ".cookie"),
          LineOf(blame != nullptr ? blame->source() : affinity.source()),
          "the pin cookie and the affinity cookie must have different names, both are " +
              Quote(spec.cookie));
  }
}

// The HMAC key of mode "pin", inline or from a file. It is a secret: messages give its length,
// never its bytes.
void Loader::ParsePinKey(const toml::table& affinity, bool pin_mode, std::string* out) {
  const std::string path = "routing.affinity";
  const toml::node* inline_key = affinity.get("pin_key");
  const toml::node* key_file = affinity.get("pin_key_file");
  if (inline_key != nullptr && key_file != nullptr) {
    Error(path + ".pin_key_file", LineOf(key_file->source()),
          "set either pin_key or pin_key_file, not both");
    return;
  }
  if (inline_key != nullptr) {
    std::optional<std::string> key = ReadString(*inline_key, path + ".pin_key");
    if (key && key->size() < kMinPinKeyBytes) {
      Error(path + ".pin_key", LineOf(inline_key->source()),
            "must be at least " + std::to_string(kMinPinKeyBytes) + " bytes long, got " +
                std::to_string(key->size()));
    } else if (key) {
      *out = std::move(*key);
    }
    return;
  }
  if (key_file != nullptr) {
    std::optional<std::string> file = ReadString(*key_file, path + ".pin_key_file");
    if (file && file->empty()) {
      Error(path + ".pin_key_file", LineOf(key_file->source()), "must not be empty");
    } else if (file && pin_mode) {
      // Only mode "pin" uses the key, so only then must the file be there.
      ReadPinKeyFile(*key_file, *file, out);
    }
    return;
  }
  if (pin_mode) {
    const toml::node* mode = affinity.get("mode");
    Error(path, LineOf(mode != nullptr ? mode->source() : affinity.source()),
          "mode \"pin\" needs a signing key: set pin_key or pin_key_file");
  }
}

void Loader::ReadPinKeyFile(const toml::node& node, const std::string& file, std::string* out) {
  const std::string path = "routing.affinity.pin_key_file";
  const int line = LineOf(node.source());
  std::string key;
  if (const int read_errno = ReadWholeFile(file, kMaxPinKeyFileBytes, &key); read_errno != 0) {
    Error(path, line, "cannot read " + Quote(file) + ": " + std::strerror(read_errno));
    return;
  }
  // A trailing newline from `echo key > file` or an editor is not part of the key.
  while (!key.empty() && std::string_view(" \t\r\n").find(key.back()) != std::string_view::npos) {
    key.pop_back();
  }
  if (key.size() < kMinPinKeyBytes) {
    Error(path, line,
          "the key in " + Quote(file) + " must be at least " + std::to_string(kMinPinKeyBytes) +
              " bytes long (trailing whitespace not counted), got " + std::to_string(key.size()));
    return;
  }
  *out = std::move(key);
}

// Cookie names are RFC 6265 §4.1.1 tokens.
void Loader::ReadCookieName(const toml::table& table, std::string_view section,
                            std::string_view key, std::string* out) {
  const toml::node* node = table.get(key);
  if (node == nullptr) return;
  const std::string path = KeyPath(section, key);
  std::optional<std::string> name = ReadString(*node, path);
  if (name && !IsToken(*name)) {
    Error(path, LineOf(node->source()),
          "a cookie name must be a token (RFC 6265 §4.1.1), got " + Quote(*name));
  } else if (name) {
    *out = std::move(*name);
  }
}

// Max-Age is in whole seconds (RFC 6265 §5.2.2); days are accepted here.
void Loader::ReadCookieAge(const toml::table& table, std::string_view section, std::string_view key,
                           int64_t* out_seconds) {
  Millis age(0);
  const toml::node* node = table.get(key);
  if (node == nullptr || !ReadDuration(table, section, key, &age, DurationUnits::kUpToDays)) return;
  const std::string path = KeyPath(section, key);
  const int line = LineOf(node->source());
  if (age.count() % 1'000 != 0) {
    Error(path, line,
          "must be a whole number of seconds, got " + Quote(*node->value<std::string>()));
  } else if (age.count() > kMaxCookieAgeDays * kMillisPerDay) {
    Error(path, line,
          "must be at most " + std::to_string(kMaxCookieAgeDays) +
              "d: browsers cap cookie lifetimes at 400 days, got " +
              Quote(*node->value<std::string>()));
  } else {
    *out_seconds = age.count() / 1'000;
  }
}

void Loader::ParseRules(const toml::node& node, routing::RoutingSpec* spec) {
  const toml::array* rules = node.as_array();
  if (rules == nullptr) {
    TypeError(node, "routing.rules", "an array of tables ([[routing.rules]])");
    return;
  }
  for (std::size_t i = 0; i < rules->size(); ++i) {
    const toml::node& element = *rules->get(i);
    const std::string path = "routing.rules[" + std::to_string(i) + "]";
    const toml::table* table = ExpectTable(element, path);
    if (table == nullptr) continue;
    routing::RuleSpec rule;
    ParseRule(*table, path, *spec, &rule);
    if (!rule.name.empty()) {
      const auto same = std::find_if(spec->rules.begin(), spec->rules.end(),
                                     [&](const auto& other) { return other.name == rule.name; });
      if (same != spec->rules.end()) {
        Error(path + ".name", LineOf(table->get("name")->source()),
              "duplicate rule name " + Quote(rule.name) + " (same as routing.rules[" +
                  std::to_string(same - spec->rules.begin()) + "])");
      }
    }
    // Kept even when invalid so that indices in later messages match the file.
    spec->rules.push_back(std::move(rule));
  }
}

void Loader::ParseRule(const toml::table& table, const std::string& path,
                       const routing::RoutingSpec& spec, routing::RuleSpec* out) {
  RejectUnknownKeys(table, path, {"name", "pool", "enabled", "kind", "owner", "expires", "match"});
  if (const toml::node* name = table.get("name")) {
    std::optional<std::string> value = ReadString(*name, path + ".name");
    if (value && !IsValidRuleName(*value)) {
      Error(path + ".name", LineOf(name->source()),
            "a rule name must be 1 to 64 characters from A-Z, a-z, 0-9, '_', '.' and '-', got " +
                Quote(*value));
    } else if (value) {
      out->name = std::move(*value);
    }
  } else {
    Error(path + ".name", LineOf(table.source()), "missing required key");
  }
  ReadFlag(table, path, "enabled", &out->enabled);
  ParseRulePool(table, path, spec, out);
  if (const toml::node* kind = table.get("kind")) {
    std::optional<std::string> value = ReadString(*kind, path + ".kind");
    if (value && !routing::ParseFlagKind(*value, &out->kind)) {
      Error(path + ".kind", LineOf(kind->source()),
            "must be one of \"temporary\", \"environment\", \"targeted\", got " + Quote(*value));
    }
  }
  if (const toml::node* owner = table.get("owner")) {
    if (std::optional<std::string> value = ReadString(*owner, path + ".owner")) {
      out->owner = std::move(*value);
    }
  }
  if (const toml::node* expires = table.get("expires")) {
    out->expires_unix = ReadExpires(*expires, path + ".expires");
  }
  if (const toml::node* match = table.get("match")) {
    ParseMatch(*match, path + ".match", &out->conditions);
  }
}

void Loader::ParseRulePool(const toml::table& table, const std::string& path,
                           const routing::RoutingSpec& spec, routing::RuleSpec* out) {
  const toml::node* pool = table.get("pool");
  if (pool == nullptr) {
    Error(path + ".pool", LineOf(table.source()), "missing required key");
    return;
  }
  std::optional<std::string> name = ReadString(*pool, path + ".pool");
  if (!name) return;
  const auto known = std::find_if(spec.pools.begin(), spec.pools.end(),
                                  [&](const auto& candidate) { return candidate.name == *name; });
  const int line = LineOf(pool->source());
  if (known == spec.pools.end()) {
    // With no pools at all that is the error already reported.
    if (!spec.pools.empty()) Error(path + ".pool", line, "unknown pool " + Quote(*name));
    return;
  }
  // An enabled rule into an empty pool would send its requests straight to failover.
  if (out->enabled && pool_origins_[known - spec.pools.begin()].endpoints_empty) {
    Error(path + ".pool", line,
          "pool " + Quote(*name) + " has no endpoints; set enabled = false until it has some");
  }
  out->pool = std::move(*name);
}

// A local date is valid through that whole day, UTC: the rule expires at the start of the next
// day. An offset date-time is the instant itself. A local date-time is refused: which time zone
// it meant would be a guess.
std::optional<int64_t> Loader::ReadExpires(const toml::node& node, const std::string& path) {
  if (const auto* date = node.as_date()) return UnixDayStart(date->get()) + 86'400;
  const auto* date_time = node.as_date_time();
  if (date_time == nullptr) {
    TypeError(node, path, "a date (2027-01-31) or a date-time with offset (2027-01-31T18:00:00Z)");
    return std::nullopt;
  }
  const toml::date_time& value = date_time->get();
  if (!value.offset) {
    Error(path, LineOf(node.source()),
          "a date-time needs a UTC offset, e.g. 2027-01-31T18:00:00Z or "
          "2027-01-31T18:00:00+01:00; or write a date, valid through that day (UTC)");
    return std::nullopt;
  }
  return UnixDayStart(value.date) + value.time.hour * 3'600 + value.time.minute * 60 +
         value.time.second - static_cast<int64_t>(value.offset->minutes) * 60;
}

void Loader::ParseMatch(const toml::node& node, const std::string& path,
                        std::vector<routing::ConditionSpec>* out) {
  const toml::table* match = ExpectTable(node, path);
  if (match == nullptr) return;
  std::array<std::string_view, kMatchKeys.size()> names{};
  std::transform(kMatchKeys.begin(), kMatchKeys.end(), names.begin(),
                 [](const MatchKey& key) { return key.key; });
  RejectKeysNotIn(*match, path, names);
  for (const MatchKey& key : kMatchKeys) {
    if (const toml::node* value = match->get(key.key)) {
      ParseMatchKey(key, *value, KeyPath(path, key.key), out);
    }
  }
}

void Loader::ParseMatchKey(const MatchKey& key, const toml::node& node, const std::string& path,
                           std::vector<routing::ConditionSpec>* out) {
  if (key.shape == MatchShape::kValues || key.shape == MatchShape::kNames) {
    ParseMatchList(key, node, path, out);
    return;
  }
  const toml::table* by_name = ExpectTable(node, path);
  if (by_name == nullptr) return;
  // toml++ iterates keys by name; conditions follow the file, like pools.
  std::vector<std::pair<const toml::key*, const toml::node*>> entries;
  for (const auto& [name, value] : *by_name) entries.emplace_back(&name, &value);
  std::sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) {
    return a.first->source().begin < b.first->source().begin;
  });
  for (const auto& [name, value] : entries) {
    const std::string entry_path = KeyPath(path, name->str());
    const bool name_ok = CheckMatchName(key.kind, name->str(), entry_path, LineOf(name->source()));
    routing::ConditionSpec condition;
    condition.kind = key.kind;
    condition.name = std::string(name->str());
    const bool values_ok = key.shape == MatchShape::kNamedRegex
                               ? ReadMatchRegex(*value, entry_path, &condition.values)
                               : ReadMatchValues(key.kind, *value, entry_path, &condition.values);
    if (name_ok && values_ok) out->push_back(std::move(condition));
  }
}

// `path_prefix = ["/a", "/b"]` is one condition; `header_present = ["A", "B"]` is one per name.
void Loader::ParseMatchList(const MatchKey& key, const toml::node& node, const std::string& path,
                            std::vector<routing::ConditionSpec>* out) {
  if (key.shape == MatchShape::kValues) {
    routing::ConditionSpec condition;
    condition.kind = key.kind;
    if (ReadMatchValues(key.kind, node, path, &condition.values)) {
      out->push_back(std::move(condition));
    }
    return;
  }
  std::optional<std::vector<ListItem>> items = ReadStringList(node, path);
  if (!items) return;
  for (ListItem& item : *items) {
    if (!CheckMatchName(key.kind, item.value, item.path, item.line)) continue;
    routing::ConditionSpec condition;
    condition.kind = key.kind;
    condition.name = std::move(item.value);
    out->push_back(std::move(condition));
  }
}

bool Loader::ReadMatchValues(ConditionKind kind, const toml::node& node, const std::string& path,
                             std::vector<std::string>* out) {
  std::optional<std::vector<ListItem>> items = ReadStringList(node, path);
  if (!items) return false;
  bool all_ok = true;
  for (ListItem& item : *items) {
    if (CheckMatchValue(kind, item)) {
      out->push_back(std::move(item.value));
    } else {
      all_ok = false;
    }
  }
  return all_ok;
}

// One regex, compiled here as the router will compile it so that a bad one is reported with
// its line.
bool Loader::ReadMatchRegex(const toml::node& node, const std::string& path,
                            std::vector<std::string>* out) {
  std::optional<std::string> pattern = ReadString(node, path);
  if (!pattern) return false;
  if (pattern->empty()) {
    Error(path, LineOf(node.source()), "must not be empty (header_present matches any value)");
    return false;
  }
  if (const std::string why = RegexProblem(*pattern); !why.empty()) {
    Error(path, LineOf(node.source()), "invalid regex " + Quote(*pattern) + ": " + why);
    return false;
  }
  out->push_back(std::move(*pattern));
  return true;
}

// Header and cookie names are tokens; query parameter names are compared as written (no
// percent-decoding), so anything that cannot appear unencoded in a query is refused.
bool Loader::CheckMatchName(ConditionKind kind, std::string_view name, const std::string& path,
                            int line) {
  if (kind == ConditionKind::kCookie) {
    if (IsToken(name)) return true;
    Error(path, line, "a cookie name must be a token (RFC 6265 §4.1.1)");
    return false;
  }
  if (kind == ConditionKind::kQuery) {
    if (!name.empty() && IsVisibleAscii(name) &&
        name.find_first_of("&=#") == std::string_view::npos) {
      return true;
    }
    Error(path, line,
          "a query parameter name must be non-empty visible ASCII without '&', '=' or '#'");
    return false;
  }
  if (IsToken(name)) return true;
  Error(path, line, "a header name must be a token (RFC 9110 §5.1)");
  return false;
}

bool Loader::CheckMatchValue(ConditionKind kind, const ListItem& item) {
  std::string problem;
  if (kind == ConditionKind::kPathPrefix && (item.value.empty() || item.value.front() != '/')) {
    problem = "must start with '/', got " + Quote(item.value);
  } else if (kind == ConditionKind::kMethod &&
             (item.value.empty() || !std::all_of(item.value.begin(), item.value.end(),
                                                 [](char c) { return c >= 'A' && c <= 'Z'; }))) {
    // Methods are case-sensitive (RFC 9110 §9.1): "get" would never match a GET.
    problem = "a method must be upper-case letters A-Z, got " + Quote(item.value);
  } else if (kind == ConditionKind::kClientCidr) {
    if (const std::string why = CidrProblem(item.value); !why.empty()) {
      problem = "invalid CIDR " + Quote(item.value) + ": " + why;
    }
  } else if (kind == ConditionKind::kAffinityKeys && item.value.empty()) {
    problem = "must not be empty";
  } else if (kind == ConditionKind::kHeaderPrefix && item.value.empty()) {
    problem = "must not be empty (header_present matches any value)";
  }
  if (problem.empty()) return true;
  Error(item.path, item.line, std::move(problem));
  return false;
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

void Loader::ParseGuardrails(const toml::table& root, GuardrailsConfig* out) {
  const toml::table* guardrails = Section(root, "guardrails");
  if (guardrails == nullptr) return;
  out->enabled = true;
  RejectUnknownKeys(
      *guardrails, "guardrails",
      {"window", "interval", "min_requests", "max_error_rate_increase", "max_error_rate_ratio",
       "max_error_rate", "latency_quantile", "max_p99_ratio", "max_latency_ratio", "max_latency_ms",
       "min_latency_increase_ms", "false_alarm", "budget_false_alarm", "action"});
  if (ReadDuration(*guardrails, "guardrails", "window", &out->window) &&
      (out->window < Millis(1'000) || out->window > Millis(600'000))) {
    Error("guardrails.window", LineOf(guardrails->get("window")->source()),
          "must be between 1s and 10m (the sliding windows keep 10 minutes)");
  }
  if (ReadDuration(*guardrails, "guardrails", "interval", &out->interval) &&
      (out->interval < Millis(100) || out->interval > Millis(60'000))) {
    Error("guardrails.interval", LineOf(guardrails->get("interval")->source()),
          "must be between 100ms and 1m");
  }
  routing::GuardrailSpec& spec = out->spec;
  ReadBounded(*guardrails, "guardrails", "min_requests", 1, 100'000'000, &spec.min_requests);
  const auto number = [&](std::string_view key, double min, double max, double* into) {
    if (const toml::node* node = guardrails->get(key)) {
      if (std::optional<double> value = ReadNumber(*node, KeyPath("guardrails", key), min, max)) {
        *into = *value;
      }
    }
  };
  number("max_error_rate_increase", 0, 1, &spec.max_error_rate_increase);
  number("max_error_rate_ratio", 0, 1e6, &spec.max_error_rate_ratio);
  number("max_error_rate", 0, 1, &spec.max_error_rate);
  number("latency_quantile", 0.5, 0.999, &spec.latency_quantile);
  // DESIGN §10 names it max_p99_ratio; max_latency_ratio says the same for any quantile.
  if (guardrails->get("max_p99_ratio") && guardrails->get("max_latency_ratio")) {
    Error("guardrails.max_latency_ratio", LineOf(guardrails->get("max_latency_ratio")->source()),
          "give max_p99_ratio or max_latency_ratio, not both (they are the same setting)");
  }
  number("max_p99_ratio", 0, 1e6, &spec.max_latency_ratio);
  number("max_latency_ratio", 0, 1e6, &spec.max_latency_ratio);
  number("max_latency_ms", 0, 3'600'000, &spec.max_latency_ms);
  number("min_latency_increase_ms", 0, 3'600'000, &spec.min_latency_increase_ms);
  number("false_alarm", 1e-12, 0.5, &spec.false_alarm);
  number("budget_false_alarm", 1e-12, 0.5, &spec.budget_false_alarm);
  if (const toml::node* node = guardrails->get("action")) {
    if (std::optional<std::size_t> choice =
            ReadChoice(*node, "guardrails.action", {"rollback", "pause"})) {
      out->action =
          *choice == 0 ? GuardrailsConfig::Action::kRollback : GuardrailsConfig::Action::kPause;
    }
  }
  if (const std::string problem = routing::ValidateGuardrailSpec(spec); !problem.empty()) {
    Error("guardrails", LineOf(guardrails->source()), problem);
  }
}

void Loader::ParseRollout(const toml::table& root, RolloutConfig* out) {
  const toml::table* rollout = Section(root, "rollout");
  if (rollout == nullptr) return;
  RejectUnknownKeys(*rollout, "rollout", {"complete_after"});
  ReadDuration(*rollout, "rollout", "complete_after", &out->complete_after,
               DurationUnits::kUpToDays);
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

void Loader::ParseAdmin(const toml::table& root, AdminConfig* out) {
  const toml::table* admin = Section(root, "admin");
  if (admin == nullptr) return;
  out->enabled = true;
  RejectUnknownKeys(*admin, "admin",
                    {"socket", "allow_uids", "address", "tokens_file", "state_file", "audit_log",
                     "body_bytes", "tls"});
  ReadPath(*admin, "admin", "socket", true, &out->socket);
  ReadPath(*admin, "admin", "tokens_file", false, &out->tokens_file);
  ReadPath(*admin, "admin", "state_file", true, &out->state_file);
  ReadPath(*admin, "admin", "audit_log", true, &out->audit_log);
  ReadBounded(*admin, "admin", "body_bytes", 1024, 16 << 20, &out->body_bytes);
  if (const toml::node* node = admin->get("allow_uids")) {
    if (const toml::array* uids = node->as_array()) {
      for (std::size_t i = 0; i < uids->size(); ++i) {
        const std::string path = "admin.allow_uids[" + std::to_string(i) + "]";
        if (auto uid = ReadInteger(*uids->get(i), path, 0, UINT32_MAX - 1)) {
          out->allow_uids.push_back(static_cast<uint32_t>(*uid));
        }
      }
    } else {
      TypeError(*node, "admin.allow_uids", "an array of user ids");
    }
  }
  ParseAdminTls(*admin, &out->tls);
  const AdminTlsConfig& tls = out->tls;
  // Callers who must show a certificate mapped to a role need no token; anyone else does.
  const bool certificates_only = tls.require_client_certificate && !tls.client_roles.empty();
  if (const toml::node* node = admin->get("address")) {
    if (std::optional<HostPort> address = ReadAddress(*node, "admin.address")) {
      out->host = std::move(address->host);
      out->port = address->port;
      if (out->tokens_file.empty() && !certificates_only) {
        Error("admin.tokens_file", LineOf(node->source()),
              "required with admin.address: TCP callers authenticate with bearer tokens "
              "(unless admin.tls requires client certificates and maps them in client_roles)");
      }
    }
  } else if (const toml::node* node = admin->get("tls")) {
    Error("admin.tls", LineOf(node->source()),
          "needs admin.address: TLS is for the TCP listener (the Unix socket checks the "
          "caller's uid)");
  }
  const toml::node* socket = admin->get("socket");
  if (out->socket.empty() && socket != nullptr && admin->get("address") == nullptr) {
    Error("admin.socket", LineOf(socket->source()),
          "is empty and there is no address: the admin API would have no listener");
  }
}

void Loader::ParseListenerTls(const toml::table& listener, ListenerTlsConfig* out) {
  const toml::node* node = listener.get("tls");
  if (node == nullptr) return;
  const toml::table* tls = node->as_table();
  if (tls == nullptr) {
    TypeError(*node, "listener.tls", "a table");
    return;
  }
  RejectUnknownKeys(*tls, "listener.tls",
                    {"certificates", "min_version", "ciphers", "ciphersuites"});
  ParseTlsTermination(*tls, "listener.tls", out);
}

void Loader::ParseAdminTls(const toml::table& admin, AdminTlsConfig* out) {
  const toml::node* node = admin.get("tls");
  if (node == nullptr) return;
  const toml::table* tls = node->as_table();
  if (tls == nullptr) {
    TypeError(*node, "admin.tls", "a table");
    return;
  }
  RejectUnknownKeys(*tls, "admin.tls",
                    {"certificates", "min_version", "ciphers", "ciphersuites", "client_ca_file",
                     "require_client_certificate", "client_roles"});
  ParseTlsTermination(*tls, "admin.tls", &out->server);
  ReadPath(*tls, "admin.tls", "client_ca_file", false, &out->client_ca_file);
  ReadFlag(*tls, "admin.tls", "require_client_certificate", &out->require_client_certificate);
  if (const toml::node* roles = tls->get("client_roles")) ParseClientRoles(*roles, out);
  const bool has_ca = tls->get("client_ca_file") != nullptr;
  if (out->require_client_certificate && !has_ca) {
    Error("admin.tls.require_client_certificate",
          LineOf(tls->get("require_client_certificate")->source()),
          "needs client_ca_file: the certificates are verified against it");
  }
  if (const toml::node* roles = tls->get("client_roles"); roles != nullptr && !has_ca) {
    Error("admin.tls.client_roles", LineOf(roles->source()),
          "needs client_ca_file: only a verified client certificate is mapped to a role");
  }
}

// { "ops-oncall" = "operator", ... }: certificate CN -> role.
void Loader::ParseClientRoles(const toml::node& node, AdminTlsConfig* out) {
  const toml::table* roles = node.as_table();
  if (roles == nullptr) {
    TypeError(node, "admin.tls.client_roles", "a table of certificate CN -> role");
    return;
  }
  for (const auto& [key, value] : *roles) {
    const std::string path = KeyPath("admin.tls.client_roles", key.str());
    if (key.str().empty()) {
      Error(path, LineOf(key.source()), "a certificate common name must not be empty");
      continue;
    }
    const std::optional<std::string> role = ReadString(value, path);
    if (!role) continue;
    if (*role != "viewer" && *role != "operator" && *role != "admin") {
      Error(path, LineOf(value.source()),
            "must be \"viewer\", \"operator\" or \"admin\", got " + Quote(*role));
      continue;
    }
    out->client_roles.emplace_back(std::string(key.str()), *role);
  }
}

void Loader::ParseTlsTermination(const toml::table& tls, std::string_view section,
                                 ListenerTlsConfig* out) {
  out->enabled = true;
  const std::string certificates_path = KeyPath(section, "certificates");
  const toml::node* certificates = tls.get("certificates");
  const toml::array* list = certificates ? certificates->as_array() : nullptr;
  if (certificates == nullptr) {
    Error(certificates_path, LineOf(tls.source()),
          "missing required key: at least one { cert = \"...\", key = \"...\" }");
  } else if (list == nullptr) {
    TypeError(*certificates, certificates_path, "an array of { cert, key } tables");
  } else if (list->empty()) {
    Error(certificates_path, LineOf(certificates->source()),
          "is empty: at least one { cert = \"...\", key = \"...\" }");
  } else {
    for (std::size_t i = 0; i < list->size(); ++i) {
      const std::string path = certificates_path + "[" + std::to_string(i) + "]";
      const toml::table* entry = list->get(i)->as_table();
      if (entry == nullptr) {
        TypeError(*list->get(i), path, "a { cert, key } table");
        continue;
      }
      RejectUnknownKeys(*entry, path, {"cert", "key"});
      ListenerTlsConfig::Certificate certificate;
      for (const auto& [key, field] :
           {std::pair<std::string_view, std::string*>{"cert", &certificate.cert},
            {"key", &certificate.key}}) {
        if (entry->get(key) == nullptr) {
          Error(KeyPath(path, key), LineOf(entry->source()), "missing required key");
        } else {
          ReadPath(*entry, path, key, false, field);
        }
      }
      out->certificates.push_back(std::move(certificate));
    }
  }
  if (const toml::node* version = tls.get("min_version")) {
    const std::string path = KeyPath(section, "min_version");
    if (std::optional<std::string> text = ReadString(*version, path)) {
      if (*text != "1.2" && *text != "1.3") {
        Error(path, LineOf(version->source()),
              "must be \"1.2\" or \"1.3\", got \"" + *text + "\" (older versions are not offered)");
      } else {
        out->min_version = *text;
      }
    }
  }
  for (const auto& [key, field] :
       {std::pair<std::string_view, std::string*>{"ciphers", &out->ciphers},
        {"ciphersuites", &out->ciphersuites}}) {
    if (const toml::node* value = tls.get(key)) {
      if (std::optional<std::string> text = ReadString(*value, KeyPath(section, key))) {
        *field = std::move(*text);
      }
    }
  }
}

void Loader::ParseMetrics(const toml::table& root, MetricsConfig* out) {
  const toml::table* metrics = Section(root, "metrics");
  if (metrics == nullptr) return;
  RejectUnknownKeys(*metrics, "metrics", {"address"});
  const toml::node* node = metrics->get("address");
  if (node == nullptr) {
    Error("metrics.address", LineOf(metrics->source()),
          "missing required key: the [metrics] section is the listener's address");
    return;
  }
  if (std::optional<HostPort> address = ReadAddress(*node, "metrics.address")) {
    out->host = std::move(address->host);
    out->port = address->port;
  }
}

void Loader::ReadPath(const toml::table& table, std::string_view section, std::string_view key,
                      bool may_be_empty, std::string* out) {
  const toml::node* node = table.get(key);
  if (node == nullptr) return;
  std::optional<std::string> path = ReadString(*node, KeyPath(section, key));
  if (!path) return;
  if (path->empty() && !may_be_empty) {
    Error(KeyPath(section, key), LineOf(node->source()), "must not be empty");
  } else if (path->find('\0') != std::string::npos) {
    Error(KeyPath(section, key), LineOf(node->source()), "must not contain a NUL byte");
  } else {
    *out = std::move(*path);
  }
}

void Loader::ParseHeaders(const toml::table& root, HeaderConfig* out) {
  const toml::table* headers = Section(root, "headers");
  if (headers == nullptr) return;
  RejectUnknownKeys(*headers, "headers",
                    {"x_forwarded_for", "x_forwarded_proto", "x_cutover_pool"});
  ReadFlag(*headers, "headers", "x_forwarded_for", &out->x_forwarded_for);
  ReadFlag(*headers, "headers", "x_forwarded_proto", &out->x_forwarded_proto);
  ReadFlag(*headers, "headers", "x_cutover_pool", &out->x_cutover_pool);
}

// The router's error can be about any part of the routing spec (pools, weights, rules,
// affinity), so it is reported against [routing] as a whole.
void Loader::CheckRoutingTable(const toml::table& root, const routing::RoutingSpec& spec) {
  std::string error;
  if (routing::RoutingTable::Build(spec, 1, &error) != nullptr) return;
  const toml::node* routing = root.get("routing");
  Error("routing", routing != nullptr ? LineOf(routing->source()) : 0, error);
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

std::optional<double> Loader::ReadNumber(const toml::node& node, const std::string& path,
                                         double min, double max) {
  double number = 0;
  if (const auto* integer = node.as_integer()) {
    number = static_cast<double>(integer->get());
  } else if (const auto* floating = node.as_floating_point()) {
    number = floating->get();
  } else {
    TypeError(node, path, "a number");
    return std::nullopt;
  }
  if (number >= min && number <= max) return number;  // false for NaN
  char range[128];
  std::snprintf(range, sizeof range, "must be between %g and %g, got %g", min, max, number);
  Error(path, LineOf(node.source()), range);
  return std::nullopt;
}

std::optional<std::size_t> Loader::ReadChoice(const toml::node& node, const std::string& path,
                                              std::initializer_list<std::string_view> choices) {
  const std::optional<std::string> value = ReadString(node, path);
  if (!value) return std::nullopt;
  const auto found = std::find(choices.begin(), choices.end(), *value);
  if (found != choices.end()) return static_cast<std::size_t>(found - choices.begin());
  std::string listed;
  for (const std::string_view choice : choices) {
    listed += (listed.empty() ? "" : ", ") + Quote(choice);
  }
  Error(path, LineOf(node.source()), "must be one of " + listed + ", got " + Quote(*value));
  return std::nullopt;
}

std::optional<std::vector<ListItem>> Loader::ReadStringList(const toml::node& node,
                                                            const std::string& path) {
  const int line = LineOf(node.source());
  if (const auto* value = node.as_string()) {
    return std::vector<ListItem>{ListItem{.value = value->get(), .path = path, .line = line}};
  }
  const toml::array* array = node.as_array();
  if (array == nullptr) {
    TypeError(node, path, "a string or an array of strings");
    return std::nullopt;
  }
  if (array->empty()) {
    Error(path, line, "must not be empty: an empty list matches nothing");
    return std::nullopt;
  }
  std::vector<ListItem> items;
  bool complete = true;
  for (std::size_t i = 0; i < array->size(); ++i) {
    const toml::node& element = *array->get(i);
    const std::string element_path = path + "[" + std::to_string(i) + "]";
    std::optional<std::string> value = ReadString(element, element_path);
    if (!value) {
      complete = false;
      continue;
    }
    items.push_back(ListItem{
        .value = std::move(*value), .path = element_path, .line = LineOf(element.source())});
  }
  if (!complete) return std::nullopt;
  return items;
}

std::optional<HostPort> Loader::ReadAddress(const toml::node& node, const std::string& path) {
  std::optional<std::string> text = ReadString(node, path);
  if (!text) return std::nullopt;
  std::string why;
  std::optional<HostPort> address = ParseHostPort(*text, &why);
  if (!address) Error(path, LineOf(node.source()), "invalid address " + Quote(*text) + ": " + why);
  return address;
}

std::optional<Millis> Loader::ReadDurationValue(const toml::node& node, const std::string& path,
                                                DurationUnits units) {
  const std::optional<std::string> text = ReadString(node, path);
  if (!text) return std::nullopt;
  const bool days = units == DurationUnits::kUpToDays;
  const std::optional<Millis> duration = days ? ParseDurationWithDays(*text) : ParseDuration(*text);
  const int line = LineOf(node.source());
  if (!duration) {
    Error(path, line,
          "invalid duration " + Quote(*text) +
              (days ? ": expected an integer and a unit (ms, s, m, h, d), e.g. \"12h\" or \"30d\""
                    : ": expected an integer and a unit (ms, s, m, h), e.g. \"250ms\" or \"10s\""));
    return std::nullopt;
  }
  if (duration->count() == 0) {
    Error(path, line, "must be greater than 0");
    return std::nullopt;
  }
  return duration;
}

bool Loader::ReadDuration(const toml::table& table, std::string_view section, std::string_view key,
                          Millis* out, DurationUnits units) {
  const toml::node* node = table.get(key);
  if (node == nullptr) return true;
  const std::optional<Millis> duration = ReadDurationValue(*node, KeyPath(section, key), units);
  if (duration) *out = *duration;
  return duration.has_value();
}

template <typename T>
void Loader::ReadLimit(const toml::table& table, std::string_view key, int64_t min, int64_t max,
                       T* out) {
  ReadBounded(table, "limits", key, min, max, out);
}

template <typename T>
void Loader::ReadBounded(const toml::table& table, std::string_view section, std::string_view key,
                         int64_t min, int64_t max, T* out) {
  if (const toml::node* node = table.get(key)) {
    const std::optional<int64_t> value = ReadInteger(*node, KeyPath(section, key), min, max);
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
  RejectKeysNotIn(table, path, known);
}

template <typename Range>
void Loader::RejectKeysNotIn(const toml::table& table, std::string_view path, const Range& known) {
  for (const auto& [key, value] : table) {
    if (std::find(std::begin(known), std::end(known), key.str()) != std::end(known)) continue;
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
  if (const int read_errno = ReadWholeFile(path, kMaxConfigFileBytes, &text); read_errno != 0) {
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
