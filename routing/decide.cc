// RoutingTable::Decide: the one question a worker asks per request (DESIGN §4). Rules
// first, then a valid pin, then the weighted split by affinity bucket, then failover.
// Nothing here allocates: keys are views into the request or into stack buffers.
#include "routing/ip_address.h"
#include "routing/routing_table.h"
#include "routing/weighted_split.h"

namespace cutover::routing {

std::string_view RouteReasonName(RouteReason reason) {
  switch (reason) {
    case RouteReason::kWeight:
      return "weight";
    case RouteReason::kRule:
      return "rule";
    case RouteReason::kPin:
      return "pin";
    case RouteReason::kFailover:
      return "failover";
    case RouteReason::kUnavailable:
      return "unavailable";
  }
  return "unknown";
}

Decision RoutingTable::Decide(const RequestView& request, const DecideInput& input) const {
  Decision decision;
  const CookieJar cookies(request);  // parsed on first use, shared by rules and affinity
  std::string_view key;
  char scratch[kMaxIpAddressText + 1];
  const bool has_key =
      needs_key_ && ExtractAffinityKey(spec_.affinity, request, cookies, scratch, &key);

  // Expired flags keep routing: expiry is reported (ExpiredRules), never enforced here.
  const int32_t rule = chain_.FirstMatch(request, cookies, has_key ? key : std::string_view());
  if (rule >= 0) {
    decision.pool = rules_[static_cast<std::size_t>(rule)]->pool();
    decision.reason = RouteReason::kRule;
    decision.rule = rule;
    ApplyFailover(input.pool_available, &decision);
    return decision;
  }

  const bool pin_mode = spec_.affinity.mode == AffinityMode::kPin;
  if (pin_mode && input.pin.present && input.pin.pool < basis_points_.size()) {
    // A rollback (candidate at weight 0) overrides pins to the candidate: safety first.
    const bool rolled_back =
        static_cast<int>(input.pin.pool) == candidate_ && basis_points_[input.pin.pool] == 0;
    if (!rolled_back) {
      decision.pool = input.pin.pool;
      decision.reason = RouteReason::kPin;
      ApplyFailover(input.pool_available, &decision);
      return decision;
    }
  }

  char minted[kMintedKeyLength];  // must outlive `key` when the key is minted
  if (spec_.affinity.mode == AffinityMode::kHash && !has_key) {
    // The minted key is hashed exactly as it will be when the client presents it in the
    // affinity cookie, so minting does not move the client on its next request.
    decision.mint_key = true;
    decision.minted_key = input.random;
    FormatMintedKey(input.random, minted);
    Split(true, std::string_view(minted, kMintedKeyLength), input.random, &decision);
  } else {
    Split(has_key, key, input.random, &decision);
  }
  decision.write_pin = pin_mode;
  ApplyFailover(input.pool_available, &decision);
  return decision;
}

Decision RoutingTable::Decide(uint64_t random) const {
  Decision decision;
  Split(false, {}, random, &decision);
  return decision;
}

void RoutingTable::Split(bool has_key, std::string_view key, uint64_t random,
                         Decision* decision) const {
  // Mode none splits each request afresh; hash and pin modes key the bucket on the
  // affinity key when there is one (pin mode without a key falls back to the draw).
  const bool keyed = has_key && spec_.affinity.mode != AffinityMode::kNone;
  decision->bucket = BucketFromRandom(keyed ? AffinityHashSeeded(affinity_seed_, key) : random);
  decision->pool = static_cast<uint32_t>(PoolForBucket(basis_points_, decision->bucket));
  decision->reason = RouteReason::kWeight;
}

}  // namespace cutover::routing
