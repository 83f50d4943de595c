#include "routing/endpoint_balancer.h"

namespace cutover::routing {
namespace {

bool Eligible(const EndpointLoad& endpoint) {
  return endpoint.available && endpoint.weight > 0;
}

// Maps 32 random bits onto [0, total) by multiply-shift (no modulo bias worth measuring).
uint64_t Scale(uint32_t random, uint64_t total) {
  return static_cast<uint64_t>((static_cast<unsigned __int128>(random) * total) >> 32);
}

// The eligible endpoint owning position `point` in [0, sum of eligible weights except
// `skip`), walking them in index order.
int WeightedAt(std::span<const EndpointLoad> endpoints, uint64_t point, int skip) {
  int last = -1;
  for (std::size_t i = 0; i < endpoints.size(); ++i) {
    if (!Eligible(endpoints[i]) || static_cast<int>(i) == skip) continue;
    last = static_cast<int>(i);
    if (point < endpoints[i].weight) return last;
    point -= endpoints[i].weight;
  }
  return last;
}

}  // namespace

int WeightedRoundRobin::Pick(std::span<const EndpointLoad> endpoints) {
  // Allocates only when the pool's endpoint count changes (a new snapshot), not per request.
  if (current_.size() != endpoints.size()) current_.assign(endpoints.size(), 0);
  int64_t total = 0;
  int best = -1;
  for (std::size_t i = 0; i < endpoints.size(); ++i) {
    if (!Eligible(endpoints[i])) continue;
    current_[i] += endpoints[i].weight;
    total += endpoints[i].weight;
    if (best < 0 || current_[i] > current_[static_cast<std::size_t>(best)]) {
      best = static_cast<int>(i);
    }
  }
  if (best >= 0) current_[static_cast<std::size_t>(best)] -= total;
  return best;
}

int PickPowerOfTwo(std::span<const EndpointLoad> endpoints, uint64_t random) {
  uint64_t total = 0;
  int eligible = 0;
  for (const EndpointLoad& endpoint : endpoints) {
    if (!Eligible(endpoint)) continue;
    total += endpoint.weight;
    ++eligible;
  }
  if (eligible == 0) return -1;
  if (eligible == 1) return WeightedAt(endpoints, 0, -1);
  // Two independent draws from the two halves of the random word; the second excludes the
  // first so the choice is always between two distinct endpoints.
  const int first = WeightedAt(endpoints, Scale(static_cast<uint32_t>(random), total), -1);
  const uint64_t rest = total - endpoints[static_cast<std::size_t>(first)].weight;
  const int second = WeightedAt(endpoints, Scale(static_cast<uint32_t>(random >> 32), rest), first);
  const EndpointLoad& a = endpoints[static_cast<std::size_t>(first)];
  const EndpointLoad& b = endpoints[static_cast<std::size_t>(second)];
  // in_flight/weight compared without division; a tie keeps the first (random) draw.
  const uint64_t load_a = static_cast<uint64_t>(a.in_flight) * b.weight;
  const uint64_t load_b = static_cast<uint64_t>(b.in_flight) * a.weight;
  return load_b < load_a ? second : first;
}

}  // namespace cutover::routing
