#include "routing/pin.h"

#include <charconv>

namespace cutover::routing {
namespace {

constexpr std::size_t kSignatureHexDigits = 64;  // HMAC-SHA256 is 32 bytes

bool IsLowerHex(std::string_view text) {
  for (const char c : text) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

// Strict decimal: digits only (a '-' only where allowed), no '+', no spaces, no overflow.
template <typename T>
bool ParseNumber(std::string_view text, bool allow_minus, T* value) {
  if (text.empty() || text.front() == '+' || (text.front() == '-' && !allow_minus)) return false;
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, *value);
  return ec == std::errc() && ptr == end;
}

}  // namespace

bool ParsePinCookie(std::string_view value, PinClaim* claim) {
  // Fields are taken from the right, so a pool name containing '.' still parses; the
  // signature then decides whether the claim is believed.
  const std::size_t sig_dot = value.rfind('.');
  if (sig_dot == std::string_view::npos) return false;
  const std::size_t issued_dot = value.rfind('.', sig_dot == 0 ? 0 : sig_dot - 1);
  if (issued_dot == std::string_view::npos || issued_dot >= sig_dot) return false;
  const std::size_t epoch_dot =
      issued_dot == 0 ? std::string_view::npos : value.rfind('.', issued_dot - 1);
  if (epoch_dot == std::string_view::npos || epoch_dot == 0) return false;

  PinClaim parsed;
  parsed.pool = value.substr(0, epoch_dot);
  parsed.signed_part = value.substr(0, sig_dot);
  parsed.signature = value.substr(sig_dot + 1);
  if (parsed.signature.size() != kSignatureHexDigits || !IsLowerHex(parsed.signature)) return false;
  if (!ParseNumber(value.substr(epoch_dot + 1, issued_dot - epoch_dot - 1), false, &parsed.epoch) ||
      !ParseNumber(value.substr(issued_dot + 1, sig_dot - issued_dot - 1), true,
                   &parsed.issued_unix)) {
    return false;
  }
  *claim = parsed;
  return true;
}

void FormatPinPayload(std::string_view pool, uint64_t epoch, int64_t issued_unix,
                      std::string* out) {
  out->assign(pool);
  out->push_back('.');
  out->append(std::to_string(epoch));
  out->push_back('.');
  out->append(std::to_string(issued_unix));
}

}  // namespace cutover::routing
