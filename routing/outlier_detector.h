// Passive outlier ejection for one endpoint: after `consecutive_failures` connect errors or
// 5xx in a row, the endpoint is ejected for base_ejection_ms * 2^(ejections - 1), capped at
// max_ejection_ms, where `ejections` counts ejections since the endpoint last succeeded
// after one ran out. A success resets the consecutive failures. Failures while ejected (late
// answers to requests sent before) are ignored. Pure: time is a parameter (milliseconds on
// any monotonic clock). One per endpoint per worker; not thread-safe.
#pragma once

#include <cstdint>

namespace cutover::routing {

struct OutlierSpec {
  uint32_t consecutive_failures = 5;  // 0 disables ejection
  int64_t base_ejection_ms = 10'000;
  int64_t max_ejection_ms = 300'000;
};

class OutlierDetector {
 public:
  // Returns true when this failure ejected the endpoint.
  bool OnFailure(const OutlierSpec& spec, int64_t now_ms);
  // A success seen after the ejection ran out also resets the repeat count, so the next
  // ejection starts from the base backoff again; one during an ejection (a request sent
  // before it) does not. Prefer this form.
  void OnSuccess(int64_t now_ms);
  // The same when the time is not at hand: treated as seen after any ejection.
  void OnSuccess();
  bool Ejected(int64_t now_ms) const { return now_ms < ejected_until_ms_; }
  uint32_t ejections() const { return ejections_; }
  int64_t ejected_until_ms() const { return ejected_until_ms_; }

 private:
  uint32_t consecutive_ = 0;
  uint32_t ejections_ = 0;  // how many times in a row it was ejected (drives the backoff)
  int64_t ejected_until_ms_ = 0;
};

}  // namespace cutover::routing
