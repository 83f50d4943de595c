#include "metrics/worker_counters.h"

#include <gtest/gtest.h>

namespace cutover::metrics {
namespace {

TEST(WorkerCounters, CountsByPoolAndStatusClass) {
  WorkerCounters counters(2);
  counters.Record({.pool = 0, .status = 200});
  counters.Record({.pool = 0, .status = 503, .upstream_error = true});
  counters.Record({.pool = 1, .status = 204});
  EXPECT_EQ(counters.Requests(0), 2u);
  EXPECT_EQ(counters.RequestsInClass(0, 2), 1u);
  EXPECT_EQ(counters.RequestsInClass(0, 5), 1u);
  EXPECT_EQ(counters.Requests(1), 1u);
}

TEST(WorkerCounters, IgnoresUnknownPoolAndOddStatus) {
  WorkerCounters counters(1);
  counters.Record({.pool = 3, .status = 200});
  counters.Record({.pool = 0, .status = 42});
  EXPECT_EQ(counters.Requests(0), 1u);
  EXPECT_EQ(counters.RequestsInClass(0, 0), 1u);
  EXPECT_EQ(StatusClass(599), 5u);
  EXPECT_EQ(StatusClass(600), 0u);
}

TEST(WorkerCounters, CountsDecisionsRetriesAndEjections) {
  WorkerCounters counters(2);
  counters.RecordDecision(1, 1);
  counters.RecordDecision(1, 1);
  counters.RecordDecision(0, 0);
  counters.RecordDecision(0, kRouteReasonCount);  // out of range: ignored
  counters.RecordRetry(1);
  counters.RecordEjection();
  EXPECT_EQ(counters.Decisions(1, 1), 2u);
  EXPECT_EQ(counters.Decisions(0, 0), 1u);
  EXPECT_EQ(counters.Decisions(0, 1), 0u);
  EXPECT_EQ(counters.Retries(1), 1u);
  EXPECT_EQ(counters.Retries(0), 0u);
  EXPECT_EQ(counters.Ejections(), 1u);
}

}  // namespace
}  // namespace cutover::metrics
