// The exit codes of `cutover ctl`. Scripts (a CI job ramping a release, a pager runbook) branch
// on them, so each outcome an operator reacts to differently has its own code: a conflict means
// "re-read and decide again", an unreachable server means "retry or page", a refusal means
// "fix the request".
#pragma once

#include <string_view>

namespace cutover::proxy::ctl {

enum class ExitCode : int {
  kOk = 0,
  kRefused = 1,       // 400, 404, 405, 413 and any other 4xx not below
  kUsage = 2,         // bad flags or arguments, or a local check failed; nothing was sent
  kConflict = 3,      // 409: the state changed since it was read, or the rule name is taken
  kUnauthorised = 4,  // 401, 403
  kUnreachable = 5,   // connect, timeout, transport or a response that is not HTTP/JSON
  kServerError = 6,   // 5xx: the server could not apply the change (nothing changed)
};

// The exit code for an HTTP status of the admin API (docs/admin-api.md, Errors). A status the
// API never sends (1xx, 3xx) counts as a malformed answer.
ExitCode ExitCodeForStatus(int status);

// The table above as the footer of `cutover ctl --help`.
std::string_view ExitCodeHelp();

inline int ToInt(ExitCode code) {
  return static_cast<int>(code);
}

}  // namespace cutover::proxy::ctl
