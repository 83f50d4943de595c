// `cutover ctl hash-token`: makes admin API tokens and the lines for tokens_file. The server
// stores only SHA-256(token) (proxy/admin/tokens.h), so the token is shown once, here, and
// never again. Needs no server.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace cutover::proxy::ctl {

// 32 random bytes as 64 lowercase hex digits: 256 bits, more than any guessing can reach, and
// safe in a header, a shell variable and a TOML string without quoting. nullopt if the random
// generator failed.
std::optional<std::string> GenerateToken();

// SHA-256(token) as 64 lowercase hex digits, exactly what tokens_file's `sha256` holds.
std::string TokenHash(std::string_view token);

// A ready-to-paste tokens_file entry:
//   [[token]]
//   name = "NAME"
//   role = "ROLE"
//   sha256 = "HASH"
std::string TokenStanza(std::string_view name, std::string_view role, std::string_view hash);

// The first line of `input` without its line ending ("\n" or "\r\n"): how a token piped in
// with `echo "$T" | cutover ctl hash-token -` arrives.
std::string FirstLine(std::string_view input);

}  // namespace cutover::proxy::ctl
