// Loads the TOML configuration file into a validated Config (DESIGN §10). The loader is the only
// code that reads TOML. It checks everything a running proxy would otherwise trip over later:
// unknown keys (a typo must not silently fall back to a default), types, ranges, addresses,
// pool names, the weight split, endpoint balancing, outlier ejection, health checks, affinity and
// rules (every matcher's syntax: header names, regexes, CIDRs), and finally passes the routing
// part through routing::RoutingTable::Build so a config it accepts is never one the router
// rejects. It reports every problem it finds, not just the first, so an operator fixes a file in
// one round.
//
// Pure apart from reading files (LoadConfigFile's file, and `routing.affinity.pin_key_file` when
// mode is "pin") and the CPU count used for `workers = 0`; safe to call from any thread. The pin
// key is a secret: no message ever contains it, only its length.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "proxy/config.h"

namespace cutover::proxy {

struct ConfigError {
  std::string key_path;  // dotted TOML path, e.g. "pools.blue.endpoints[1]"; empty for syntax
  int line = 0;          // 1-based line in the file; 0 when no single line is to blame
  std::string message;

  // "FILE:LINE: key.path: message"; ":LINE" is left out when line is 0 and "key.path: " when
  // key_path is empty. `source` is the file name shown to the operator.
  std::string ToString(std::string_view source) const;
};

struct ConfigLoadResult {
  std::optional<Config> config;     // set exactly when `errors` is empty
  std::vector<ConfigError> errors;  // in file order as far as the checks allow
};

// Reads and loads `path`; an unreadable file is one error with line 0.
ConfigLoadResult LoadConfigFile(const std::string& path);

// Loads TOML text; `source_name` only labels toml++'s source regions (e.g. the file path).
ConfigLoadResult LoadConfigString(std::string_view toml_text, std::string_view source_name);

}  // namespace cutover::proxy
