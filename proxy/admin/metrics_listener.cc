#include "proxy/admin/metrics_listener.h"

#include <utility>

namespace cutover::proxy::admin {
namespace {

AdminResponse JsonAnswer(int status, nlohmann::json body) {
  AdminResponse response;
  response.status = status;
  response.body = std::move(body);
  return response;
}

}  // namespace

AdminHandler MetricsOnlyHandler(std::function<std::string()> scrape) {
  return [scrape = std::move(scrape)](const AdminRequest& request) {
    const bool known = request.path == "/metrics" || request.path == "/healthz";
    if (!known) {
      return JsonAnswer(404, {{"error",
                               "only /metrics and /healthz are served here: the admin "
                               "API is on the admin listener"},
                              {"field", ""}});
    }
    // HEAD is GET without the body; the transport leaves the body out.
    if (request.method != "GET" && request.method != "HEAD") {
      AdminResponse response =
          JsonAnswer(405, {{"error", "method not allowed; use GET"}, {"field", ""}});
      response.headers.emplace_back("Allow", "GET, HEAD");
      return response;
    }
    if (request.path == "/healthz") return JsonAnswer(200, {{"status", "ok"}});
    AdminResponse response;
    response.text_body = scrape();
    response.text_content_type = "text/plain; version=0.0.4; charset=utf-8";
    return response;
  };
}

}  // namespace cutover::proxy::admin
