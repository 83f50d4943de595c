// Bearer tokens for the admin API over TCP (DESIGN §6, issue 4 item 5). The tokens file holds
// only SHA-256 hashes, so reading it (or a backup of it) does not reveal a usable token:
//
//   [[token]]
//   name = "ci-bot"          # shown as the actor in the audit log
//   role = "operator"        # viewer | operator | admin
//   sha256 = "<64 hex>"      # `cutover ctl hash-token` prints it
//
// No error message ever quotes a hash, a token, or a value that might be one (a bad name is
// not echoed either: a token pasted into the wrong field must not reach a log).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cutover::proxy::admin {

// Ordered: each role may do everything the ones before it may.
enum class Role { kViewer, kOperator, kAdmin };

std::string_view RoleName(Role role);
// "viewer", "operator" or "admin"; nullopt for anything else.
std::optional<Role> ParseRole(std::string_view text);

// True if a caller holding `have` may call an endpoint that needs `need`.
bool Allows(Role have, Role need);

struct Token {
  std::string name;
  Role role = Role::kViewer;
  std::string sha256_hex;  // 64 lowercase hex digits
};

// An immutable, validated set of tokens. Built on the admin thread (at start and on SIGHUP);
// a reload builds a new set and replaces the old one only if it loaded without errors, so a bad
// edit never locks operators out. Const methods may be called from any thread.
class TokenSet {
 public:
  // Reads and validates the file at `path`. On any problem, nullopt and one message per
  // problem in `errors` (the token's number, line and, if valid, name; never a secret).
  static std::optional<TokenSet> Load(const std::string& path, std::vector<std::string>* errors);

  // Same, from text; `source_name` prefixes the messages. Separate so fuzzers need no files.
  static std::optional<TokenSet> Parse(std::string_view text, std::string_view source_name,
                                       std::vector<std::string>* errors);

  // The token whose hash matches SHA-256(`bearer`), or nullptr. Compares against every stored
  // hash in constant time and keeps going after a match, so response timing says nothing about
  // which token matched or how close a guess came. The pointer lives as long as this set.
  const Token* Authenticate(std::string_view bearer) const;

  const std::vector<Token>& tokens() const { return tokens_; }

 private:
  std::vector<Token> tokens_;
};

// SHA-256 of `token` as 64 lowercase hex digits: what goes into the tokens file.
std::string HashToken(std::string_view token);

}  // namespace cutover::proxy::admin
