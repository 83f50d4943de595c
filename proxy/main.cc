// The `cutover` binary: run, check, demo, ctl, version.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <ctime>
#include <memory>
#include <string>

#include "proxy/config_loader.h"
#include "proxy/ctl/ctl_command.h"
#include "proxy/demo_command.h"
#include "proxy/listener_tls.h"
#include "proxy/server.h"
#include "proxy/upstream_tls.h"
#include "proxy/version.h"
#include "tls/openssl_info.h"

namespace {

using cutover::proxy::ConfigLoadResult;

void PrintErrors(const ConfigLoadResult& result, const std::string& path) {
  for (const auto& error : result.errors) {
    std::fprintf(stderr, "%s\n", error.ToString(path).c_str());
  }
}

int Check(const std::string& path) {
  const ConfigLoadResult result = cutover::proxy::LoadConfigFile(path);
  if (!result.config) {
    PrintErrors(result, path);
    return 1;
  }
  // The same loads a start does, so a certificate that would stop the start fails here.
  const auto keys = std::make_shared<cutover::tls::TicketKeys>(time(nullptr));
  std::string error;
  if (const cutover::proxy::ListenerTlsConfig& tls = result.config->listener.tls;
      tls.enabled && !cutover::proxy::ListenerTls::Build(tls, keys, &error)) {
    std::fprintf(stderr, "%s: %s\n", path.c_str(), error.c_str());
    return 1;
  }
  if (const cutover::proxy::AdminTlsConfig& tls = result.config->admin.tls;
      tls.server.enabled && !cutover::proxy::ListenerTls::Build(tls, keys, &error)) {
    std::fprintf(stderr, "%s: %s\n", path.c_str(), error.c_str());
    return 1;
  }
  // Every pool's upstream TLS files, as a start loads them; all problems, not just the first.
  bool tls_ok = true;
  for (const auto& [pool, upstream_tls] : result.config->upstream_tls) {
    std::string error;
    if (!cutover::proxy::LoadUpstreamTls(pool, upstream_tls, &error)) {
      std::fprintf(stderr, "%s: %s\n", path.c_str(), error.c_str());
      tls_ok = false;
    } else if (!upstream_tls.verify) {
      std::fprintf(stderr, "%s: warning: %s\n", path.c_str(),
                   cutover::proxy::UnverifiedUpstreamWarning(pool).c_str());
    }
  }
  if (!tls_ok) return 1;
  std::printf("config OK: %s\n", path.c_str());
  return 0;
}

int Run(const std::string& path, bool discard_state) {
  const ConfigLoadResult result = cutover::proxy::LoadConfigFile(path);
  if (!result.config) {
    std::fprintf(stderr, "cutover: refusing to start, %s is invalid:\n", path.c_str());
    PrintErrors(result, path);
    return 1;
  }
  cutover::proxy::Server server(path);
  server.set_discard_state(discard_state);
  std::string error;
  if (!server.Start(*result.config, &error)) {
    std::fprintf(stderr, "cutover: %s\n", error.c_str());
    return 1;
  }
  return server.Run();
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"cutover: an L7 traffic-splitting reverse proxy for blue/green migrations"};
  app.require_subcommand(1);

  std::string config_path;
  auto* run = app.add_subcommand("run", "Run the proxy with a config file");
  run->add_option("-c,--config", config_path, "TOML config file")->required();
  bool discard_state = false;
  run->add_flag("--discard-state", discard_state,
                "Start from the config's weights and rules, not the admin state file's; an "
                "unreadable or corrupt state file is kept aside as STATE_FILE.discarded.TIME");
  auto* check = app.add_subcommand("check", "Validate a config file and print every error");
  check->add_option("-c,--config", config_path, "TOML config file")->required();

  cutover::proxy::DemoOptions demo_options;
  auto* demo = app.add_subcommand("demo", "Built-in blue/green backends behind the proxy, 90/10");
  demo->add_option("--listen", demo_options.listen, "HOST:PORT for the proxy")
      ->capture_default_str();
  demo->add_option("--workers", demo_options.workers, "worker threads")->capture_default_str();
  demo->add_option("--admin-socket", demo_options.admin_socket,
                   "Unix socket for the admin API and cutover ctl")
      ->capture_default_str();
  demo->add_option("--admin-address", demo_options.admin_address,
                   "HOST:PORT of the admin API over TCP, for the dashboard (port 0: any free "
                   "one; \"\": none)")
      ->capture_default_str();

  auto* version = app.add_subcommand("version", "Print version information");

  auto ctl = cutover::proxy::ctl::AddCommand(app);

  // Not CLI11_PARSE: `ctl` maps its usage errors to its documented exit code 2.
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    return ctl->Exit(error);
  }
  if (*run) return Run(config_path, discard_state);
  if (*check) return Check(config_path);
  if (*demo) return cutover::proxy::RunDemo(demo_options);
  if (ctl->parsed()) return ctl->Run();
  if (*version) {
    std::printf("cutover %s (%s, libuv %s)\n", cutover::proxy::kCutoverVersion,
                cutover::tls::OpenSslVersion().c_str(), uv_version_string());
    return 0;
  }
  return 2;
}
