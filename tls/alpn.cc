#include "tls/alpn.h"

namespace cutover::tls {

bool EncodeAlpnProtocols(const std::vector<std::string>& names, std::string* wire,
                         std::string* error) {
  wire->clear();
  for (const std::string& name : names) {
    if (name.empty() || name.size() > 255) {
      *error = "alpn: protocol name \"" + name + "\" must be 1 to 255 bytes (RFC 7301 §3.1)";
      return false;
    }
    wire->push_back(static_cast<char>(name.size()));
    wire->append(name);
  }
  return true;
}

}  // namespace cutover::tls
