#include "proxy/demo_command.h"

#include <stdlib.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <optional>

#include "proxy/config.h"
#include "proxy/ctl/hash_token.h"
#include "proxy/demo_backend.h"
#include "proxy/server.h"

namespace cutover::proxy {
namespace {

bool SplitHostPort(const std::string& address, std::string* host, uint16_t* port) {
  const std::size_t colon = address.rfind(':');
  if (colon == std::string::npos) return false;
  *host = address.substr(0, colon);
  if (host->size() >= 2 && host->front() == '[' && host->back() == ']') {
    *host = host->substr(1, host->size() - 2);
  }
  try {
    const unsigned long value = std::stoul(address.substr(colon + 1));
    if (value > 65535) return false;
    *port = static_cast<uint16_t>(value);
  } catch (const std::exception&) {
    return false;
  }
  return true;
}

// This binary's absolute path, so the printed commands work from any directory.
std::string SelfPath() {
  char path[4096];
  const ssize_t length = readlink("/proc/self/exe", path, sizeof path - 1);
  return length > 0 ? std::string(path, static_cast<std::size_t>(length)) : "cutover";
}

// A host for a URL: an IPv6 address goes in brackets (RFC 3986 §3.2.2).
std::string UrlHost(const std::string& host) {
  return host.find(':') == std::string::npos ? host : "[" + host + "]";
}

// A fresh viewer token for the dashboard, its hash in `dir`/tokens.toml (the file format of
// docs/admin-api.md, as `cutover ctl hash-token` writes it). The token itself is only printed.
std::optional<std::string> MakeDashboardToken(const std::string& dir, std::string* tokens_file) {
  const std::optional<std::string> token = ctl::GenerateToken();
  if (!token) return std::nullopt;
  *tokens_file = dir + "/tokens.toml";
  std::ofstream out(*tokens_file, std::ios::trunc);
  out << ctl::TokenStanza("dashboard", "viewer", ctl::TokenHash(*token));
  out.close();
  if (!out) return std::nullopt;
  return token;
}

}  // namespace

int RunDemo(const DemoOptions& options) {
  const std::string& listen_address = options.listen;
  const std::string& admin_socket = options.admin_socket;
  std::string error;
  auto backends = DemoBackends::Start({"blue", "green"}, "127.0.0.1", &error);
  if (!backends) {
    std::fprintf(stderr, "cutover demo: cannot start the demo backends: %s\n", error.c_str());
    return 1;
  }
  Config config;
  if (!SplitHostPort(listen_address, &config.listener.host, &config.listener.port)) {
    std::fprintf(stderr, "cutover demo: --listen wants HOST:PORT, got '%s'\n",
                 listen_address.c_str());
    return 2;
  }
  config.listener.workers = options.workers;
  const char* names[] = {"blue", "green"};
  const uint32_t weights[] = {9000, 1000};
  for (std::size_t i = 0; i < 2; ++i) {
    routing::PoolSpec pool;
    pool.name = names[i];
    routing::EndpointSpec endpoint;
    endpoint.host = "127.0.0.1";
    endpoint.port = backends->port(i);
    pool.endpoints.push_back(endpoint);
    pool.basis_points = weights[i];
    config.routing.pools.push_back(std::move(pool));
  }
  config.routing.baseline = "blue";
  config.routing.candidate = "green";
  config.timeouts.drain = Millis(2000);

  // The admin API, with its state file and audit log in a fresh directory per run: the demo
  // always starts at 90/10, and the audit trail of the session stays behind to look at.
  char state_dir[] = "/tmp/cutover-demo-XXXXXX";
  if (mkdtemp(state_dir) == nullptr) {
    std::fprintf(stderr, "cutover demo: cannot create a directory in /tmp\n");
    return 1;
  }
  config.admin.enabled = true;
  config.admin.socket = admin_socket;
  config.admin.state_file = std::string(state_dir) + "/state.json";
  config.admin.audit_log = std::string(state_dir) + "/audit.log";
  // Guardrails on, with the defaults: the verdict shows in `ctl status` and the dashboard,
  // and a rollout started from the demo ramps on it.
  config.guardrails.enabled = true;
  std::string token;
  if (!options.admin_address.empty()) {
    if (!SplitHostPort(options.admin_address, &config.admin.host, &config.admin.port)) {
      std::fprintf(stderr, "cutover demo: --admin-address wants HOST:PORT, got '%s'\n",
                   options.admin_address.c_str());
      return 2;
    }
    const std::optional<std::string> made =
        MakeDashboardToken(state_dir, &config.admin.tokens_file);
    if (!made) {
      std::fprintf(stderr, "cutover demo: cannot make a token in %s\n", state_dir);
      return 1;
    }
    token = *made;
  }

  Server server("");
  if (!server.Start(config, &error)) {
    std::fprintf(stderr,
                 "cutover demo: %s\n(--listen, --admin-socket and --admin-address choose other "
                 "places; --admin-address \"\" turns the dashboard off)\n",
                 error.c_str());
    return 1;
  }
  const std::string url = "http://" + listen_address + "/";
  const std::string ctl = SelfPath() + " ctl --socket " + admin_socket;
  // With a TCP listener: where it is, the dashboard's URL, and a call with the same token.
  std::string dashboard, compare;
  if (!token.empty()) {
    const std::string admin_url =
        "http://" + UrlHost(config.admin.host) + ":" + std::to_string(server.admin_port());
    dashboard = "  admin TCP     " + admin_url + " (a viewer token; its hash is in " +
                config.admin.tokens_file + ")\n  dashboard     " + admin_url + "/#token=" + token +
                "\n";
    compare = "  curl -s -H 'Authorization: Bearer " + token + "' " + admin_url + "/v1/compare\n";
  }
  std::printf(
      "\ncutover demo is running: blue (current) 90%% / green (new) 10%%\n"
      "  proxy         %s\n"
      "  blue backend  127.0.0.1:%u\n"
      "  green backend 127.0.0.1:%u\n"
      "  admin API     %s (audit log and state in %s)\n"
      "%s\n"
      "Try:\n"
      "  curl -s %s                       # one request: the body says which pool answered\n"
      "  for i in $(seq 100); do curl -s %s; done | sort | uniq -c   # about 90 blue, 10 green\n"
      "  %s weights set green=50   # live, no restart\n"
      "  %s status\n"
      "  %s rollout start 10,25,50,100 --every 10s   # ramps while the verdict is healthy\n"
      "  %s guardrails\n"
      "  %s rollback --reason \"demo\"\n"
      "  %s audit\n"
      "  curl -s --unix-socket %s http://cutover/v1/state\n"
      "%s\n"
      "Ctrl-C stops the proxy and the backends.\n\n",
      url.c_str(), backends->port(0), backends->port(1), admin_socket.c_str(), state_dir,
      dashboard.c_str(), url.c_str(), url.c_str(), ctl.c_str(), ctl.c_str(), ctl.c_str(),
      ctl.c_str(), ctl.c_str(), ctl.c_str(), admin_socket.c_str(), compare.c_str());
  std::fflush(stdout);
  const int code = server.Run();
  std::printf("\ncutover demo: served blue %llu, green %llu requests\n",
              static_cast<unsigned long long>(server.RequestsForPool(0)),
              static_cast<unsigned long long>(server.RequestsForPool(1)));
  return code;
}

}  // namespace cutover::proxy
