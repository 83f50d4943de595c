#include "proxy/demo_command.h"

#include <cstdio>

#include "proxy/config.h"
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

}  // namespace

int RunDemo(const std::string& listen_address, unsigned workers) {
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
  config.listener.workers = workers;
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

  Server server("");
  if (!server.Start(config, &error)) {
    std::fprintf(stderr, "cutover demo: %s\n", error.c_str());
    return 1;
  }
  const std::string url = "http://" + listen_address + "/";
  std::printf(
      "\ncutover demo is running: blue (current) 90%% / green (new) 10%%\n"
      "  proxy         %s\n"
      "  blue backend  127.0.0.1:%u\n"
      "  green backend 127.0.0.1:%u\n\n"
      "Try:\n"
      "  curl -s %s                       # one request: the body says which pool answered\n"
      "  for i in $(seq 100); do curl -s %s; done | sort | uniq -c   # about 90 blue, 10 green\n"
      "  curl -si %s | grep X-Backend\n\n"
      "Ctrl-C stops the proxy and the backends.\n\n",
      url.c_str(), backends->port(0), backends->port(1), url.c_str(), url.c_str(), url.c_str());
  std::fflush(stdout);
  const int code = server.Run();
  std::printf("\ncutover demo: served blue %llu, green %llu requests\n",
              static_cast<unsigned long long>(server.RequestsForPool(0)),
              static_cast<unsigned long long>(server.RequestsForPool(1)));
  return code;
}

}  // namespace cutover::proxy
