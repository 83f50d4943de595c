// The admin API on arbitrary request bytes: the admin server's own request reader
// (AdminRequestParser: llhttp, limits, Expect), AdminApi::Handle with a real ControlPlane, and
// the response serializer, as one admin connection runs them, minus the socket.
//
// Input: byte 0 picks the caller (bit 0: the Unix socket as root, else TCP, where the three
// tokens below authenticate; bit 1: the proxy is draining); byte 1, when not 0, cuts the rest
// into reads of that many bytes, as a slow client would send them; the rest is the
// connection's bytes, any number of pipelined requests.
//
// Each input gets a fresh ControlPlane on a fresh state file and audit log in one temporary
// directory, so an input replays the same way alone or in a run, and no iteration leaves
// anything behind that the next one reads or that grows.
#include <stdlib.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

#include "proxy/admin/admin_api.h"
#include "proxy/admin/admin_request_parser.h"
#include "proxy/admin/admin_response_serializer.h"
#include "proxy/config_loader.h"
#include "proxy/control_plane.h"
#include "proxy/log.h"

namespace cutover::proxy::admin {
namespace {

constexpr uint32_t kBodyLimit = 4096;  // small, so the 413 paths are reachable

// What every iteration starts from: the config, and the tokens (named after their roles; the
// seeds and the dictionary send "Bearer admin-token" and friends).
struct Fixture {
  std::string dir;
  std::string state_file;
  std::string audit_log;
  Config config;
  std::shared_ptr<const TokenSet> tokens;

  Fixture() {
    SetLogLevel(LogLevel::kError);
    // Every change fsyncs the state file and the audit log: on a disk that is most of an
    // iteration, on tmpfs nothing. TMPDIR wins when set.
    const char* base = std::getenv("TMPDIR");
    if (base == nullptr) base = ::access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    std::string pattern = std::string(base) + "/cutover-fuzz-XXXXXX";
    if (::mkdtemp(pattern.data()) == nullptr) std::abort();
    dir = pattern;
    state_file = dir + "/state.json";
    audit_log = dir + "/audit.log";
    const std::string text =
        "[admin]\nsocket = \"\"\naddress = \"127.0.0.1:9\"\ntokens_file = \"unused\"\nbody_bytes "
        "= " +
        std::to_string(kBodyLimit) + "\nstate_file = \"" + state_file + "\"\naudit_log = \"" +
        audit_log +
        "\"\n"
        "[pools.blue]\nendpoints = [\"127.0.0.1:1\", \"127.0.0.1:2\"]\n"
        "[pools.green]\nendpoints = [\"127.0.0.1:3\"]\n"
        "[routing]\nbaseline = \"blue\"\ncandidate = \"green\"\n"
        "weights = { blue = 90, green = 10 }\n"
        "[[routing.rules]]\nname = \"beta\"\npool = \"green\"\n"
        "match = { header = { \"X-Beta\" = \"1\" } }\n"
        "kind = \"targeted\"\nowner = \"fuzz\"\n";
    ConfigLoadResult loaded = LoadConfigString(text, "fuzz.toml");
    for (const ConfigError& error : loaded.errors) {
      std::fprintf(stderr, "%s\n", error.ToString("fuzz.toml").c_str());
    }
    if (!loaded.config) std::abort();
    config = std::move(*loaded.config);
    std::string token_text;
    for (const char* role : {"viewer", "operator", "admin"}) {
      token_text += std::string("[[token]]\nname = \"") + role + "\"\nrole = \"" + role +
                    "\"\nsha256 = \"" + HashToken(std::string(role) + "-token") + "\"\n";
    }
    std::vector<std::string> errors;
    std::optional<TokenSet> parsed = TokenSet::Parse(token_text, "tokens.toml", &errors);
    if (!parsed) std::abort();
    tokens = std::make_shared<const TokenSet>(std::move(*parsed));
  }
  ~Fixture() {
    std::error_code ignored;
    std::filesystem::remove_all(dir, ignored);
  }
};

Fixture& TheFixture() {
  static Fixture fixture;
  return fixture;
}

// One admin connection's worth of answers, as AdminConnection writes them.
class Connection final : public AdminRequestParser::Listener {
 public:
  Connection(AdminApi* api, bool unix_socket) : api_(api), parser_(this, kBodyLimit) {
    parser_.request().unix_socket = unix_socket;
    parser_.request().peer_uid = 0;
    parser_.request().peer_address = unix_socket ? "unix" : "127.0.0.1:40000";
  }

  AdminRequestParser& parser() { return parser_; }

  void OnContinue() override { written_ += "HTTP/1.1 100 Continue\r\n\r\n"; }

  void OnRequest(const AdminRequest& request, bool close_after) override {
    const AdminResponse response = api_->Handle(request);
    if (response.status < 100 || response.status > 599) std::abort();
    // Errors are {"error", "field"} (DESIGN §6); a draining /readyz is a state, not an error.
    if (response.status >= 400 && response.text_content_type.empty() && request.path != "/readyz" &&
        !response.body.contains("error")) {
      std::abort();
    }
    written_ += SerializeAdminResponse(response, request, close_after);
  }

  void OnMalformed(int status, std::string message) override {
    AdminResponse response;
    response.status = status;
    response.body = {{"error", std::move(message)}, {"field", ""}};
    written_ += SerializeAdminResponse(response, parser_.request(), true);
  }

 private:
  AdminApi* api_;
  AdminRequestParser parser_;
  std::string written_;
};

}  // namespace
}  // namespace cutover::proxy::admin

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  using namespace cutover::proxy;
  using namespace cutover::proxy::admin;
  if (size < 2) return 0;
  Fixture& fixture = TheFixture();
  const bool unix_socket = (data[0] & 1) != 0;
  const bool draining = (data[0] & 2) != 0;
  const std::size_t piece = data[1] == 0 ? size : data[1];
  const char* bytes = reinterpret_cast<const char*>(data + 2);
  const std::size_t length = size - 2;

  ::unlink(fixture.state_file.c_str());
  ::unlink(fixture.audit_log.c_str());
  HealthRegistry health;
  SwitchSignal switched;
  ControlPlane control(&health, &switched);
  std::string error;
  if (!control.Start(fixture.config, false, &error)) std::abort();
  AdminApi api(&control);
  api.SetTokens(fixture.tokens);
  if (draining) api.SetDraining();
  api.SetMetrics([] { return std::string("cutover_up 1\n"); });
  api.SetCompare([](int64_t window_ms) { return nlohmann::json{{"window_ms", window_ms}}; });
  api.SetSeries([](int64_t window_ms) { return nlohmann::json{{"window_ms", window_ms}}; });
  api.SetReload([](const Caller&) -> std::optional<std::vector<std::string>> {
    return std::vector<std::string>{};
  });
  api.SetTls([] { return nlohmann::json::object(); },
             []() -> std::optional<std::string> { return std::nullopt; });

  Connection connection(&api, unix_socket);
  for (std::size_t at = 0; at < length && !connection.parser().stopped(); at += piece) {
    connection.parser().Feed(bytes + at, std::min(piece, length - at));
  }
  return 0;
}
