// `cutover demo`: built-in blue and green backends on loopback and the proxy in front of
// them at 90/10, so a newcomer sees a split at once, and the admin API on a Unix socket so
// they can change it live.
#pragma once

#include <string>

namespace cutover::proxy {

// Runs until SIGINT/SIGTERM; returns the exit code.
int RunDemo(const std::string& listen_address, unsigned workers, const std::string& admin_socket);

}  // namespace cutover::proxy
