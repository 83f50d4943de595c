// The live dashboard page (docs/metrics.md, "Dashboard"): proxy/admin/dashboard.html, embedded
// into the binary at build time (proxy/admin/embed_page.py), so it needs no file at run time.
// The page carries no data: it polls the admin API with the caller's own token.
#pragma once

#include <string_view>

namespace cutover::proxy::admin {

// The page's HTML, UTF-8; valid for the life of the process.
std::string_view DashboardHtml();

}  // namespace cutover::proxy::admin
