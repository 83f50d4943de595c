#include "routing/outlier_detector.h"

namespace cutover::routing {

bool OutlierDetector::OnFailure(const OutlierSpec& spec, int64_t now_ms) {
  if (spec.consecutive_failures == 0) return false;
  // Requests that were in flight when the endpoint was ejected still fail afterwards; they
  // say nothing new, and counting them would eject it again the moment it comes back.
  if (Ejected(now_ms)) return false;
  if (++consecutive_ < spec.consecutive_failures) return false;
  consecutive_ = 0;
  ++ejections_;
  // base * 2^(ejections - 1), capped; the shift is bounded so it cannot overflow.
  int64_t backoff = spec.max_ejection_ms;
  const uint32_t doublings = ejections_ - 1;
  if (doublings < 62 && spec.base_ejection_ms <= (spec.max_ejection_ms >> doublings)) {
    backoff = spec.base_ejection_ms << doublings;
  }
  ejected_until_ms_ = now_ms + backoff;
  return true;
}

void OutlierDetector::OnSuccess() {
  consecutive_ = 0;
  ejections_ = 0;
}

void OutlierDetector::OnSuccess(int64_t now_ms) {
  consecutive_ = 0;
  // A success from a request sent before the ejection proves nothing about the endpoint
  // now; one after the ejection ran out means it came back, so the next ejection starts
  // again from the base backoff.
  if (!Ejected(now_ms)) ejections_ = 0;
}

}  // namespace cutover::routing
