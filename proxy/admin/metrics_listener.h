// The dedicated metrics listener (`[metrics] address`, docs/metrics.md): an AdminServer whose
// handler answers only `GET /metrics` (and `/healthz`), without credentials, so Prometheus
// can scrape from the network without an admin token that could also read the audit log.
// Bind it to loopback or an internal interface: it reveals pool and endpoint names.
#pragma once

#include <functional>
#include <string>

#include "proxy/admin/admin_server.h"

namespace cutover::proxy::admin {

// `scrape` returns the Prometheus text of the moment; it runs on the listener's thread.
AdminHandler MetricsOnlyHandler(std::function<std::string()> scrape);

}  // namespace cutover::proxy::admin
