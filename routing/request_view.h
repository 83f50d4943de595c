// What the router may look at in one request: plain views into the parsed head, valid for
// the duration of one Decide() call. Built by the proxy without allocating.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace cutover::routing {

struct HeaderView {
  std::string_view name;   // as received; compared case-insensitively
  std::string_view value;  // optional whitespace already trimmed
};

struct ClientAddress {
  uint8_t family = 0;               // 4 or 6; 0 = unknown (matches no CIDR)
  std::array<uint8_t, 16> bytes{};  // network order; IPv4 uses the first 4 bytes
};

struct RequestView {
  std::string_view method;  // "GET"
  std::string_view path;    // origin-form path, without the query
  std::string_view query;   // after '?', without it; empty if none
  std::span<const HeaderView> headers;
  ClientAddress client;
};

// Helpers shared by matchers and affinity extraction (pure, no allocation).
// ASCII case-insensitive equality (field names, RFC 9110 §5.1). Inline: rules call it once
// per header per condition, and almost every call ends at the length check.
inline bool EqualsIgnoreCaseAscii(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (a[i] == b[i]) continue;
    // Differing only in bit 0x20 is the same letter in another case, for letters only.
    const char lower = static_cast<char>(a[i] | 0x20);
    if (lower != static_cast<char>(b[i] | 0x20) || lower < 'a' || lower > 'z') return false;
  }
  return true;
}

// RFC 9110 §5.6.2 token (field names, methods, cookie names): one or more tchar.
bool IsHttpToken(std::string_view text);
// First value of header `name`, or nullptr-data view when absent (use `found`).
std::string_view FindHeader(const RequestView& request, std::string_view name, bool* found);
// Value of cookie `name` across all Cookie headers (RFC 6265 §5.4 syntax: "a=1; b=2").
std::string_view FindCookie(const RequestView& request, std::string_view name, bool* found);
// Value of query parameter `name` ("a=1&b=2"; no percent-decoding).
std::string_view FindQueryParam(std::string_view query, std::string_view name, bool* found);

// The request's cookies split once, on the first lookup, so that several rules and the
// affinity key do not each parse the Cookie headers again; lookups answer as FindCookie.
// Lives on the caller's stack for one decision (about 0.8 KiB, nothing allocated); a request
// with more than kMaxCookies cookies is answered by FindCookie itself.
class CookieJar {
 public:
  explicit CookieJar(const RequestView& request) : request_(request) {}
  CookieJar(const CookieJar&) = delete;
  CookieJar& operator=(const CookieJar&) = delete;

  std::string_view Find(std::string_view name, bool* found) const;

 private:
  static constexpr std::size_t kMaxCookies = 32;
  enum class State : uint8_t { kUnparsed, kParsed, kTooMany };
  struct Cookie {  // trivially constructible: the array is not cleared on every request
    const char* name;
    const char* value;
    uint32_t name_size;
    uint32_t value_size;
  };
  void Parse() const;

  const RequestView& request_;
  mutable State state_ = State::kUnparsed;
  mutable uint32_t count_ = 0;
  mutable std::array<Cookie, kMaxCookies> cookies_;  // [0, count_) valid once parsed
};

}  // namespace cutover::routing
