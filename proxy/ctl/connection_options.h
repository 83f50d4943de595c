// Which admin API `cutover ctl` talks to, with which token and reason: the global flags and the
// environment resolved into one Connection, before anything is sent. Flags win over the
// environment; two flags that contradict each other are a usage error rather than a guess.
//
//   address: --url, else --socket, else $CUTOVER_URL, else $CUTOVER_SOCKET,
//            else /run/cutover/admin.sock
//   token:   --token, else --token-file, else $CUTOVER_TOKEN, else none
//   TLS (https:// only): --cacert, --cert, --key, else $CUTOVER_CACERT, $CUTOVER_CERT,
//            $CUTOVER_KEY; the variables are ignored for other addresses, the flags refused
#pragma once

#include <chrono>
#include <functional>
#include <string>

#include "proxy/ctl/admin_client.h"

namespace cutover::proxy::ctl {

inline constexpr const char* kDefaultSocket = "/run/cutover/admin.sock";
// The server's limit on X-Cutover-Reason (docs/admin-api.md, Endpoints).
inline constexpr std::size_t kMaxReasonBytes = 1024;

// The global flags as CLI11 filled them; "" means not given.
struct GlobalFlags {
  std::string socket;
  std::string url;
  std::string token;
  std::string token_file;
  std::string cacert;
  std::string cert;
  std::string key;
  std::string reason;
  double timeout_seconds = 10;
  bool json = false;
};

struct Connection {
  AdminAddress address;
  // https:// only: the CA bundle that signed the listener's certificate ("" = the system's
  // trust store), and the client certificate and key to present ("" = none).
  std::string ca_file;
  std::string cert_file;
  std::string key_file;
  std::string token;   // "" = send no Authorization header
  std::string reason;  // "" = send no X-Cutover-Reason header
  std::chrono::milliseconds timeout{10'000};
};

// Returns the variable's value or nullptr; std::getenv in the binary, a map in tests.
using GetEnv = std::function<const char*(const char*)>;

// False with *error (never quoting a token) when the flags contradict each other, the URL is
// malformed, the token file cannot be read, a value cannot go into an HTTP header, TLS files
// are given for an address that is not https://, or --cert comes without --key (or the other
// way round). The TLS files themselves are read when the first call is made.
bool ResolveConnection(const GlobalFlags& flags, const GetEnv& getenv, Connection* out,
                       std::string* error);

}  // namespace cutover::proxy::ctl
