// One `cutover ctl` invocation's view of the admin API: sends requests with the token and the
// reason, turns every failure into the documented exit code (exit_code.h) and prints it in one
// place, so each command handles only its happy path:
//
//   cutover ctl: 409 stale If-Match: the live version is 8 (field: If-Match)
//
// Ownership: owns its Connection; one thread. Standard output carries the answer, standard
// error carries errors and nothing else, so `--json | jq` never sees a message.
#pragma once

#include <cstdio>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "proxy/ctl/connection_options.h"
#include "proxy/ctl/exit_code.h"

namespace cutover::tls {
class ClientContext;
}  // namespace cutover::tls

namespace cutover::proxy::ctl {

struct Reply {
  ExitCode code = ExitCode::kOk;
  int status = 0;       // 0 when the server was not reached
  nlohmann::json body;  // the parsed body (the error object on a refusal)

  bool ok() const { return code == ExitCode::kOk; }
};

class Session {
 public:
  Session(Connection connection, bool json_output);

  // A read: no reason header.
  Reply Get(std::string_view target);
  // The same, for an extra that a command shows when it can: prints no error, so a server
  // without the endpoint (an older version) or a refusal leaves the command's output alone.
  Reply TryGet(std::string_view target);

  // A change: sends X-Cutover-Reason (when a reason is set) and the headers given, e.g.
  // If-Match. `body` may be null for DELETE.
  Reply Change(std::string_view method, std::string_view target, const nlohmann::json* body,
               std::vector<std::pair<std::string, std::string>> headers = {});

  // The reason of this invocation (--reason), "" if none.
  const std::string& reason() const { return connection_.reason; }
  void set_reason(std::string reason) { connection_.reason = std::move(reason); }

  bool json_output() const { return json_output_; }

  // Writes to standard output and flushes, so progress shows at once through a pipe.
  void Print(std::string_view text) const;
  // The server's body as is, pretty: what --json promises.
  void PrintJson(const nlohmann::json& body) const;
  // "cutover ctl: MESSAGE" on standard error.
  void PrintError(std::string_view message) const;
  // PrintError, then the usage exit code: a local check failed and nothing was sent.
  int UsageError(std::string_view message) const;

 private:
  Reply Send(std::string_view method, std::string_view target, const nlohmann::json* body,
             std::vector<std::pair<std::string, std::string>> headers, bool quiet = false);
  // https:// only: the TLS client, made from the connection's files on the first call.
  bool LoadTls(std::string* error);

  Connection connection_;
  bool json_output_;
  std::shared_ptr<const tls::ClientContext> tls_;
};

// A rule name as one path segment: RFC 3986 §3.3 pchar, everything else percent-encoded, so
// "/v1/rules/" + name never reaches another path.
std::string PathSegment(std::string_view text);

// "cutover ctl: 404 unknown rule 'x' (field: name)" from an error answer; "(field: ...)" is left
// out when the field is "" (the request as a whole), the error when the body has none.
std::string ErrorLine(int status, const nlohmann::json& body);

}  // namespace cutover::proxy::ctl
