#include "proxy/admin/tokens.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <map>

#include <toml++/toml.h>

#include "tls/hmac.h"
#include "tls/sha256.h"

namespace cutover::proxy::admin {
namespace {

constexpr std::size_t kMaxNameLength = 64;

// Names appear in audit lines and access logs, so they are kept to characters that need no
// quoting there.
bool IsValidName(std::string_view name) {
  if (name.empty() || name.size() > kMaxNameLength) return false;
  for (const char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_' || c == '.' || c == '@';
    if (!ok) return false;
  }
  return true;
}

// Field names are echoed in messages so operators find their typo, but a long key could be a
// token pasted on the wrong side of '='; those are described, not quoted.
std::string DescribeKey(std::string_view key) {
  if (key.size() <= 24 && IsValidName(key)) return "\"" + std::string(key) + "\"";
  return "(a long or unusual name, not shown)";
}

// Lowercases valid hex so comparisons see one spelling; nullopt unless 64 hex digits.
std::optional<std::string> NormalizeSha256Hex(std::string_view text) {
  if (text.size() != 64) return std::nullopt;
  std::string out(text);
  for (char& c : out) {
    if (c >= 'A' && c <= 'F') c = static_cast<char>(c - 'A' + 'a');
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return std::nullopt;
  }
  return out;
}

bool ReadWholeFile(const std::string& path, std::string* text, std::string* error) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    *error = "tokens file " + path + ": cannot open: " + std::strerror(errno);
    return false;
  }
  char buffer[8192];
  while (true) {
    const ssize_t n = ::read(fd, buffer, sizeof(buffer));
    if (n == 0) break;
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      *error = "tokens file " + path + ": cannot read: " + std::strerror(errno);
      ::close(fd);
      return false;
    }
    text->append(buffer, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return true;
}

// Validates one [[token]] table. Messages name the token by number, line and (valid) name only.
class TokenParser {
 public:
  TokenParser(std::string_view source_name, std::vector<std::string>* errors)
      : source_name_(source_name), errors_(errors) {}

  void Add(const toml::node& node, std::size_t number, std::vector<Token>* out) {
    prefix_ = std::string(source_name_) + ": line " + std::to_string(node.source().begin.line) +
              ": token #" + std::to_string(number);
    const toml::table* table = node.as_table();
    if (table == nullptr) return Error("must be a table: write [[token]] sections");
    const std::size_t errors_before = errors_->size();
    Token token;
    ParseName(*table, &token);  // first, so later messages carry the name
    for (const auto& [key, value] : *table) {
      if (key.str() != "name" && key.str() != "role" && key.str() != "sha256") {
        Error("unknown key " + DescribeKey(key.str()) + " (expected name, role, sha256)");
      }
    }
    ParseRoleField(*table, &token);
    ParseHash(*table, &token);
    if (errors_->size() == errors_before) CheckUnique(number, std::move(token), out);
  }

 private:
  void Error(const std::string& message) { errors_->push_back(prefix_ + ": " + message); }

  void ParseName(const toml::table& table, Token* token) {
    const std::optional<std::string_view> name = table["name"].value<std::string_view>();
    if (!name) return Error("needs a string \"name\"");
    if (!IsValidName(*name)) {
      return Error("\"name\" must be 1 to 64 letters, digits, '-', '_', '.' or '@'");
    }
    token->name = *name;
    prefix_ += " \"" + token->name + "\"";
  }

  void ParseRoleField(const toml::table& table, Token* token) {
    const std::optional<std::string_view> text = table["role"].value<std::string_view>();
    const std::optional<Role> role = text ? ParseRole(*text) : std::nullopt;
    if (!role) return Error("\"role\" must be \"viewer\", \"operator\" or \"admin\"");
    token->role = *role;
  }

  void ParseHash(const toml::table& table, Token* token) {
    const std::optional<std::string_view> text = table["sha256"].value<std::string_view>();
    const std::optional<std::string> hex = text ? NormalizeSha256Hex(*text) : std::nullopt;
    if (!hex) {
      return Error(
          "\"sha256\" must be the 64 hex digits of the token's SHA-256 (not the token itself; "
          "`cutover ctl hash-token` prints it)");
    }
    token->sha256_hex = *hex;
  }

  void CheckUnique(std::size_t number, Token token, std::vector<Token>* out) {
    bool unique = true;
    if (const auto [it, inserted] = names_.emplace(token.name, number); !inserted) {
      Error("duplicate name (also token #" + std::to_string(it->second) + ")");
      unique = false;
    }
    // Two names for one secret would make the audit actor ambiguous.
    if (const auto [it, inserted] = hashes_.emplace(token.sha256_hex, number); !inserted) {
      Error("same sha256 as token #" + std::to_string(it->second));
      unique = false;
    }
    if (unique) out->push_back(std::move(token));
  }

  std::string_view source_name_;
  std::vector<std::string>* errors_;
  std::string prefix_;
  std::map<std::string, std::size_t> names_;
  std::map<std::string, std::size_t> hashes_;
};

}  // namespace

std::optional<Role> ParseRole(std::string_view text) {
  if (text == "viewer") return Role::kViewer;
  if (text == "operator") return Role::kOperator;
  if (text == "admin") return Role::kAdmin;
  return std::nullopt;
}

std::string_view RoleName(Role role) {
  switch (role) {
    case Role::kViewer:
      return "viewer";
    case Role::kOperator:
      return "operator";
    case Role::kAdmin:
      return "admin";
  }
  return "viewer";
}

bool Allows(Role have, Role need) {
  return static_cast<int>(have) >= static_cast<int>(need);
}

std::optional<TokenSet> TokenSet::Load(const std::string& path, std::vector<std::string>* errors) {
  std::string text;
  std::string error;
  if (!ReadWholeFile(path, &text, &error)) {
    errors->push_back(error);
    return std::nullopt;
  }
  return Parse(text, "tokens file " + path, errors);
}

std::optional<TokenSet> TokenSet::Parse(std::string_view text, std::string_view source_name,
                                        std::vector<std::string>* errors) {
  toml::table root;
  try {
    root = toml::parse(text);
  } catch (const toml::parse_error& parse_error) {
    // Only the position: the parser's description may quote the file, and the file may hold a
    // token pasted where its hash belongs.
    const toml::source_position where = parse_error.source().begin;
    errors->push_back(std::string(source_name) + ": line " + std::to_string(where.line) +
                      ", column " + std::to_string(where.column) + ": not valid TOML");
    return std::nullopt;
  }
  const std::size_t errors_before = errors->size();
  TokenSet set;
  for (const auto& [key, value] : root) {
    if (key.str() != "token") {
      errors->push_back(std::string(source_name) + ": line " +
                        std::to_string(value.source().begin.line) + ": unknown key " +
                        DescribeKey(key.str()) + " (expected [[token]] sections)");
    }
  }
  if (const toml::node* tokens = root.get("token")) {
    const toml::array* array = tokens->as_array();
    if (array == nullptr) {
      errors->push_back(std::string(source_name) + ": line " +
                        std::to_string(tokens->source().begin.line) +
                        ": \"token\" must be written as [[token]] sections");
    } else {
      TokenParser parser(source_name, errors);
      for (std::size_t i = 0; i < array->size(); ++i)
        parser.Add(*array->get(i), i + 1, &set.tokens_);
    }
  }
  if (errors->size() != errors_before) return std::nullopt;
  return set;
}

const Token* TokenSet::Authenticate(std::string_view bearer) const {
  // An empty bearer says nothing secret by failing fast, and must never match.
  if (bearer.empty()) return nullptr;
  char hex[64];
  tls::Sha256Hex(bearer, hex);
  const std::string_view presented(hex, sizeof(hex));
  // Branch-free selection: every stored hash is compared in full and the loop does the same
  // work whether or not, and wherever, a match happens. Load rejects duplicate hashes, so at
  // most one bit pattern is ever selected.
  std::uintptr_t found = 0;
  for (const Token& token : tokens_) {
    const std::uintptr_t match = tls::ConstantTimeEquals(presented, token.sha256_hex) ? 1 : 0;
    const std::uintptr_t mask = ~(match - 1);  // all ones on a match, zero otherwise
    found |= reinterpret_cast<std::uintptr_t>(&token) & mask;
  }
  return reinterpret_cast<const Token*>(found);
}

std::string HashToken(std::string_view token) {
  char hex[64];
  tls::Sha256Hex(token, hex);
  return std::string(hex, sizeof(hex));
}

}  // namespace cutover::proxy::admin
