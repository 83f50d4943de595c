#include "proxy/admin/admin_response_serializer.h"

#include <optional>

#include "proxy/admin/content_coding.h"
#include "proxy/http_head.h"

namespace cutover::proxy::admin {
namespace {

constexpr std::size_t kGzipMinBytes = 1024;  // smaller bodies go out as they are

}  // namespace

std::string SerializeAdminResponse(const AdminResponse& response, const AdminRequest& request,
                                   bool close_after) {
  const bool text = !response.text_content_type.empty();
  // Error messages echo what the caller sent (a path, a rule name), which need not be UTF-8:
  // replace what is not, as the audit log does, rather than let dump() throw on the admin
  // thread, which would end the process.
  const std::string json_body =
      text || response.body.is_null()
          ? std::string()
          : response.body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  const std::string* body = text ? &response.text_body : &json_body;
  // Worth compressing only past a packet or so; a scrape shrinks about tenfold.
  const bool compressible = body->size() >= kGzipMinBytes;
  std::optional<std::string> gzipped;
  if (compressible) {
    const std::string* accept = request.Header("accept-encoding");
    if (accept != nullptr && AcceptsGzip(*accept)) gzipped = Gzip(*body);
    if (gzipped) body = &*gzipped;
  }
  std::string out;
  out.reserve(body->size() + 256);
  out += "HTTP/1.1 " + std::to_string(response.status) + " ";
  out += StatusReason(response.status);
  out += "\r\nContent-Type: ";
  out += text ? response.text_content_type : std::string("application/json");
  if (compressible) out += "\r\nVary: Accept-Encoding";
  if (gzipped) out += "\r\nContent-Encoding: gzip";
  out += "\r\nCache-Control: no-store\r\nContent-Length: ";
  out += std::to_string(body->size());
  out += "\r\n";
  for (const auto& [name, value] : response.headers) out += name + ": " + value + "\r\n";
  if (close_after) out += "Connection: close\r\n";
  out += "\r\n";
  if (request.method != "HEAD") out += *body;  // RFC 9110 §9.3.2: the head alone
  return out;
}

}  // namespace cutover::proxy::admin
