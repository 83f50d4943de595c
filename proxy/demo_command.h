// `cutover demo`: built-in blue and green backends on loopback and the proxy in front of
// them at 90/10, so a newcomer sees a split at once; the admin API on a Unix socket so they
// can change it live, and on TCP with a fresh viewer token so they can watch the dashboard.
#pragma once

#include <string>

namespace cutover::proxy {

struct DemoOptions {
  std::string listen = "127.0.0.1:8080";  // the proxy
  unsigned workers = 1;
  std::string admin_socket = "/tmp/cutover-demo.sock";  // the admin API for cutover ctl
  std::string admin_address = "127.0.0.1:9901";         // the dashboard; "" = no TCP listener
};

// Runs until SIGINT/SIGTERM; returns the exit code.
int RunDemo(const DemoOptions& options);

}  // namespace cutover::proxy
