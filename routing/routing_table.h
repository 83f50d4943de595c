// The routing snapshot: an immutable value built and validated once, then shared read-only
// by every worker. A worker asks it one question per request, Decide(), and gets a plain
// value back. Pure: no I/O, no clock, no randomness of its own (the caller passes the draw).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "routing/affinity.h"
#include "routing/endpoint_balancer.h"
#include "routing/outlier_detector.h"
#include "routing/request_view.h"
#include "routing/rule.h"

namespace cutover::routing {

struct EndpointSpec {
  std::string host;  // numeric IPv4/IPv6 address or a name resolved at load time
  uint16_t port = 0;
  uint32_t weight = 1;
};

// What happens to a pool's traffic when none of its endpoints is available.
enum class FailoverPolicy : uint8_t { kOtherPool, kUnavailable };  // "other-pool" | "503"

// Active HTTP health checks (run by the proxy; the spec is plain data).
struct HealthCheckSpec {
  bool enabled = false;
  std::string path = "/healthz";
  int64_t interval_ms = 5'000;
  int64_t timeout_ms = 2'000;
  uint32_t healthy_threshold = 2;    // consecutive passes to mark healthy
  uint32_t unhealthy_threshold = 3;  // consecutive failures to mark unhealthy
};

struct PoolSpec {
  std::string name;
  std::vector<EndpointSpec> endpoints;
  uint32_t basis_points = 0;  // share of traffic, 10000 = 100 %
  FailoverPolicy failover = FailoverPolicy::kOtherPool;
  BalanceMode balance = BalanceMode::kRoundRobin;
  OutlierSpec outlier;
  HealthCheckSpec health_check;
};

struct RoutingSpec {
  std::vector<PoolSpec> pools;  // order fixes the bucket ranges
  std::string baseline;
  std::string candidate;
  std::vector<RuleSpec> rules;  // first match wins
  AffinitySpec affinity;
  uint64_t epoch = 1;  // pin cookies from an older epoch are ignored
};

enum class RouteReason : uint8_t { kWeight, kRule, kPin, kFailover, kUnavailable };

std::string_view RouteReasonName(RouteReason reason);

// A verified pin cookie, as the proxy found it (signature already checked by the caller).
struct PinView {
  bool present = false;  // a well-formed, correctly signed, unexpired pin for this epoch
  uint32_t pool = 0;
};

// Everything Decide needs besides the request. Time and randomness come from the caller.
struct DecideInput {
  uint64_t random = 0;  // uniformly random 64 bits (per-request split, minted keys)
  PinView pin;
  // Per pool (parallel to pools()): does it have at least one available endpoint? Empty
  // span = all available.
  std::span<const bool> pool_available;
};

struct Decision {
  uint32_t pool = 0;  // index into RoutingTable::pools()
  RouteReason reason = RouteReason::kWeight;
  int32_t rule = -1;         // index into rules() when reason == kRule
  bool unavailable = false;  // no pool can serve: answer 503
  bool mint_key = false;     // set the affinity cookie to the minted key
  bool write_pin = false;    // set a pin cookie naming `pool`
  uint64_t minted_key = 0;   // FormatMintedKey(minted_key) is the cookie value
  uint32_t bucket = 0;       // the affinity or random bucket used by the weighted split
};

class RoutingTable {
 public:
  // Validates `spec` completely; on failure returns nullptr and fills `error`.
  static std::shared_ptr<const RoutingTable> Build(RoutingSpec spec, uint64_t version,
                                                   std::string* error);

  // Rules first (first enabled match wins), then pin (mode pin), then the weighted split
  // keyed by the affinity key (or by `input.random` when there is none), then failover.
  // No allocation on any path, but for an evaluated header-regex condition (std::regex_match
  // allocates its matcher state; see header_regex.h). About 65 ns without rules and 170 ns with 20
  // non-matching rules on the development VM (tests/bench/decide_bench.cc).
  Decision Decide(const RequestView& request, const DecideInput& input) const;
  // The per-request random split alone (no rules, no affinity): what Decide does for a
  // table without rules or affinity.
  Decision Decide(uint64_t random) const;

  uint64_t version() const { return version_; }
  const std::vector<PoolSpec>& pools() const { return spec_.pools; }
  const std::string& baseline() const { return spec_.baseline; }
  const std::string& candidate() const { return spec_.candidate; }
  // Index of the pool named `name`, or -1.
  int PoolIndex(std::string_view name) const;
  // Indices of the baseline and candidate pools, -1 when not configured.
  int baseline_index() const { return baseline_; }
  int candidate_index() const { return candidate_; }
  const std::vector<std::unique_ptr<CompiledRule>>& rules() const { return rules_; }
  const AffinitySpec& affinity() const { return spec_.affinity; }
  const RoutingSpec& spec() const { return spec_; }
  // Where traffic meant for `from` goes when `from` has no available endpoint: per that
  // pool's policy, the baseline if it is another available pool, else the first available
  // pool in order; -1 when the policy is "503" or no pool is available.
  int FailoverPool(uint32_t from, std::span<const bool> available) const;
  // Names of enabled rules whose `expires` has passed at `now_unix` (flag debt).
  std::vector<std::string> ExpiredRules(int64_t now_unix) const;

 private:
  RoutingTable(RoutingSpec spec, uint64_t version);
  // Validates and compiles spec_.rules into rules_ (Build's last step).
  bool CompileRules(std::string* error);
  // Weighted split keyed by the affinity key (or minting one, or by the random draw).
  void Split(bool has_key, std::string_view key, uint64_t random, Decision* decision) const;
  // Moves the decision off a pool without an available endpoint, per its failover policy.
  void ApplyFailover(std::span<const bool> pool_available, Decision* decision) const;

  RoutingSpec spec_;
  uint64_t version_;
  std::vector<uint32_t> basis_points_;                // parallel to spec_.pools, for the hot path
  std::vector<std::unique_ptr<CompiledRule>> rules_;  // parallel to spec_.rules
  RuleChain chain_;                                   // the enabled ones, for Decide
  int baseline_ = -1;
  int candidate_ = -1;
  bool needs_key_ = false;      // affinity on, or an enabled rule matches affinity keys
  uint64_t affinity_seed_ = 0;  // AffinitySeed(spec_.affinity.salt), hashed once
};

}  // namespace cutover::routing
