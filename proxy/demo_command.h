// `cutover demo`: built-in blue and green backends on loopback and the proxy in front of
// them at 90/10, so a newcomer sees a split at once.
#pragma once

#include <string>

namespace cutover::proxy {

// Runs until SIGINT/SIGTERM; returns the exit code.
int RunDemo(const std::string& listen_address, unsigned workers);

}  // namespace cutover::proxy
