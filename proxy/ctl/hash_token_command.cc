// `cutover ctl hash-token [TOKEN|-] [--name N] [--role R]`: the tokens_file side of access over
// TCP (docs/admin-api.md, Access control). No server is involved.
#include <cstdio>
#include <iostream>
#include <iterator>
#include <string>

#include <nlohmann/json.hpp>

#include "proxy/ctl/commands.h"
#include "proxy/ctl/hash_token.h"

namespace cutover::proxy::ctl {
namespace {

int Usage(const std::string& message) {
  std::fprintf(stderr, "cutover ctl: %s\n", message.c_str());
  return ToInt(ExitCode::kUsage);
}

void Print(const std::string& text) {
  std::fwrite(text.data(), 1, text.size(), stdout);
  std::fflush(stdout);
}

}  // namespace

int RunHashToken(const std::string& token, const std::string& name, const std::string& role,
                 bool json_output) {
  if (role != "viewer" && role != "operator" && role != "admin") {
    return Usage("--role '" + role + "': expected viewer, operator or admin");
  }
  std::string secret = token;
  const bool generated = token.empty();
  if (token == "-") {
    // stdin keeps the token out of `ps` and shell history, unlike an argument.
    const std::string input((std::istreambuf_iterator<char>(std::cin)),
                            std::istreambuf_iterator<char>());
    secret = FirstLine(input);
    if (secret.empty()) return Usage("no token on the first line of standard input");
  } else if (generated) {
    const std::optional<std::string> made = GenerateToken();
    if (!made) {
      // Not a usage error and no server involved: the generic failure code.
      std::fprintf(stderr, "cutover ctl: the random generator failed; no token made\n");
      return 1;
    }
    secret = *made;
  }
  const std::string hash = TokenHash(secret);
  if (json_output) {
    nlohmann::json out = {{"sha256", hash}};
    if (generated) out.update({{"token", secret}, {"name", name}, {"role", role}});
    Print(out.dump(2) + "\n");
  } else if (!generated) {
    Print(hash + "\n");
  } else {
    Print("# Add to tokens_file (it keeps only the hash), then reload (SIGHUP):\n" +
          TokenStanza(name, role, hash) +
          "\n# The token, shown only now; give it to the client (CUTOVER_TOKEN or "
          "--token-file):\n" +
          secret + "\n");
  }
  return ToInt(ExitCode::kOk);
}

}  // namespace cutover::proxy::ctl
