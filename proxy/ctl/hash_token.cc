#include "proxy/ctl/hash_token.h"

#include <array>

#include "tls/random.h"
#include "tls/sha256.h"

namespace cutover::proxy::ctl {
namespace {

// A TOML basic string: names are the operator's choice, so quote what TOML needs quoted.
std::string TomlString(std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "\"";
  for (char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte == 0x7f) {  // TOML allows no raw control character in a string
      out += "\\u00";
      out += kHex[byte >> 4];
      out += kHex[byte & 0xf];
      continue;
    }
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

}  // namespace

std::optional<std::string> GenerateToken() {
  static constexpr char kHex[] = "0123456789abcdef";
  std::array<unsigned char, 32> bytes{};
  if (!tls::RandomBytes(bytes.data(), bytes.size())) return std::nullopt;
  std::string token;
  for (unsigned char byte : bytes) {
    token += kHex[byte >> 4];
    token += kHex[byte & 0xf];
  }
  return token;
}

std::string TokenHash(std::string_view token) {
  char hex[64];
  tls::Sha256Hex(token, hex);
  return std::string(hex, sizeof(hex));
}

std::string TokenStanza(std::string_view name, std::string_view role, std::string_view hash) {
  return "[[token]]\nname = " + TomlString(name) + "\nrole = " + TomlString(role) +
         "\nsha256 = " + TomlString(hash) + "\n";
}

std::string FirstLine(std::string_view input) {
  std::string_view line = input.substr(0, input.find('\n'));
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return std::string(line);
}

}  // namespace cutover::proxy::ctl
