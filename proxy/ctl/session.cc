#include "proxy/ctl/session.h"

#include "proxy/ctl/admin_client.h"
#include "proxy/ctl/table.h"
#include "tls/client_context.h"

namespace cutover::proxy::ctl {
namespace {

using nlohmann::json;

std::string Dump(const json& body, int indent) {
  // replace: a body with invalid UTF-8 is still shown rather than throwing.
  return body.dump(indent, ' ', false, json::error_handler_t::replace);
}

}  // namespace

Session::Session(Connection connection, bool json_output)
    : connection_(std::move(connection)), json_output_(json_output) {}

Reply Session::Get(std::string_view target) {
  return Send("GET", target, nullptr, {});
}

Reply Session::TryGet(std::string_view target) {
  return Send("GET", target, nullptr, {}, /*quiet=*/true);
}

bool Session::LoadTls(std::string* error) {
  if (tls_ != nullptr || !connection_.address.tls) return true;
  tls_ = LoadClientTls(connection_.ca_file, connection_.cert_file, connection_.key_file, error);
  return tls_ != nullptr;
}

Reply Session::Change(std::string_view method, std::string_view target, const json* body,
                      std::vector<std::pair<std::string, std::string>> headers) {
  if (!connection_.reason.empty()) headers.emplace_back("X-Cutover-Reason", connection_.reason);
  return Send(method, target, body, std::move(headers));
}

Reply Session::Send(std::string_view method, std::string_view target, const json* body,
                    std::vector<std::pair<std::string, std::string>> headers, bool quiet) {
  HttpRequest request;
  request.method = std::string(method);
  request.target = std::string(target);
  request.headers = std::move(headers);
  if (!connection_.token.empty()) {
    request.headers.emplace_back("Authorization", "Bearer " + connection_.token);
  }
  if (body != nullptr) {
    request.body = Dump(*body, -1);
    request.has_body = true;
  }
  Reply reply;
  HttpResponse response;
  std::string error;
  if (!LoadTls(&error)) {
    // A local problem (a missing or unreadable --cacert, a key that does not match --cert):
    // nothing was sent.
    reply.code = ExitCode::kUsage;
    if (!quiet) PrintError(error);
    return reply;
  }
  if (!Exchange(connection_.address, request, connection_.timeout, &response, &error, tls_)) {
    reply.code = ExitCode::kUnreachable;
    if (!quiet) PrintError(error);
    return reply;
  }
  reply.status = response.status;
  reply.code = ExitCodeForStatus(response.status);
  reply.body = json::parse(response.body, nullptr, false);
  if (reply.ok() && reply.body.is_discarded()) {
    reply.code = ExitCode::kUnreachable;
    if (!quiet) {
      PrintError(connection_.address.Describe() + ": the answer to " + request.method + " " +
                 request.target + " is not JSON (is this cutover's admin API?)");
    }
    return reply;
  }
  if (quiet) return reply;
  if (!reply.ok()) {
    if (reply.body.is_discarded()) reply.body = json();
    PrintError(ErrorLine(response.status, reply.body).substr(sizeof("cutover ctl: ") - 1));
    if (response.status == 401 && connection_.token.empty()) {
      PrintError("the TCP listener needs a token: --token-file FILE, --token or CUTOVER_TOKEN");
    }
  }
  return reply;
}

void Session::Print(std::string_view text) const {
  std::fwrite(text.data(), 1, text.size(), stdout);
  std::fflush(stdout);
}

void Session::PrintJson(const json& body) const {
  Print(Dump(body, 2) + "\n");
}

// Sanitised: an error may quote what a caller sent (a pool name, a reason), and an escape
// sequence in it must not reach the operator's terminal.
int Session::UsageError(std::string_view message) const {
  PrintError(message);
  return ToInt(ExitCode::kUsage);
}

void Session::PrintError(std::string_view message) const {
  const std::string line = "cutover ctl: " + SanitizeCell(message) + "\n";
  std::fwrite(line.data(), 1, line.size(), stderr);
}

std::string PathSegment(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    const bool unreserved = (byte >= 'a' && byte <= 'z') || (byte >= 'A' && byte <= 'Z') ||
                            (byte >= '0' && byte <= '9') || c == '-' || c == '.' || c == '_' ||
                            c == '~';
    if (unreserved) {
      out += c;
    } else {
      out += '%';
      out += kHex[byte >> 4];
      out += kHex[byte & 0xf];
    }
  }
  return out;
}

std::string ErrorLine(int status, const json& body) {
  std::string line = "cutover ctl: " + std::to_string(status);
  const auto error = body.is_object() ? body.find("error") : body.end();
  if (body.is_object() && error != body.end() && error->is_string()) {
    line += " " + error->get<std::string>();
  } else {
    line += " (no error message in the answer)";
  }
  const auto field = body.is_object() ? body.find("field") : body.end();
  if (body.is_object() && field != body.end() && field->is_string() &&
      !field->get_ref<const std::string&>().empty()) {
    line += " (field: " + field->get<std::string>() + ")";
  }
  return line;
}

}  // namespace cutover::proxy::ctl
