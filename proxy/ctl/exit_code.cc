#include "proxy/ctl/exit_code.h"

namespace cutover::proxy::ctl {

ExitCode ExitCodeForStatus(int status) {
  if (status >= 200 && status < 300) return ExitCode::kOk;
  if (status == 401 || status == 403) return ExitCode::kUnauthorised;
  if (status == 409) return ExitCode::kConflict;
  if (status >= 400 && status < 500) return ExitCode::kRefused;
  if (status >= 500 && status < 600) return ExitCode::kServerError;
  return ExitCode::kUnreachable;
}

std::string_view ExitCodeHelp() {
  return "Exit codes:\n"
         "  0  ok\n"
         "  1  the server refused the request (400, 404, 405, 413)\n"
         "  2  usage error or a local check failed (nothing was sent)\n"
         "  3  conflict (409): the state changed since it was read, or the name is taken\n"
         "  4  not authorised (401, 403)\n"
         "  5  cannot reach the server (connect, timeout, malformed response)\n"
         "  6  server error (5xx; nothing changed)\n"
         "\n"
         "Environment: CUTOVER_SOCKET, CUTOVER_URL, CUTOVER_TOKEN. See docs/ctl.md.";
}

}  // namespace cutover::proxy::ctl
