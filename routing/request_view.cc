#include "routing/request_view.h"

#include <array>
#include <cstring>

namespace cutover::routing {
namespace {

bool IsSpace(char c) {
  return c == ' ' || c == '\t';
}

// Calls fn(name, value) for each cookie pair of one Cookie header value (RFC 6265 §5.4
// syntax, "a=1; b=2") until fn returns true; returns whether it did. Clients and
// intermediaries differ in the spaces they leave, so whitespace around names and values is
// dropped; pairs without '=' or with an empty name are malformed and skipped rather than
// failing the whole header. Both ends are found with memchr: this runs on every request
// that has cookies, and values (session ids, analytics blobs) are long.
template <typename Fn>
bool ForEachCookie(std::string_view header, Fn&& fn) {
  const char* p = header.data();
  const char* const end = p + header.size();
  while (p < end) {
    const auto* semicolon =
        static_cast<const char*>(std::memchr(p, ';', static_cast<std::size_t>(end - p)));
    const char* const pair_end = semicolon != nullptr ? semicolon : end;
    const auto* equals =
        static_cast<const char*>(std::memchr(p, '=', static_cast<std::size_t>(pair_end - p)));
    const char* name_begin = p;
    p = pair_end + 1;
    if (equals == nullptr) continue;
    while (name_begin < equals && IsSpace(*name_begin)) ++name_begin;
    const char* name_end = equals;
    while (name_end > name_begin && IsSpace(name_end[-1])) --name_end;
    if (name_end == name_begin) continue;
    const char* value_begin = equals + 1;
    const char* value_end = pair_end;
    while (value_begin < value_end && IsSpace(*value_begin)) ++value_begin;
    while (value_end > value_begin && IsSpace(value_end[-1])) --value_end;
    // cookie-value may be wrapped in DQUOTEs (RFC 6265 §4.1.1); the quotes are not part of it.
    if (value_end - value_begin >= 2 && *value_begin == '"' && value_end[-1] == '"') {
      ++value_begin;
      --value_end;
    }
    if (fn(std::string_view(name_begin, static_cast<std::size_t>(name_end - name_begin)),
           std::string_view(value_begin, static_cast<std::size_t>(value_end - value_begin)))) {
      return true;
    }
  }
  return false;
}

bool IsCookieHeader(const HeaderView& header) {
  return EqualsIgnoreCaseAscii(header.name, "cookie");
}

}  // namespace

bool IsHttpToken(std::string_view text) {
  if (text.empty()) return false;
  for (const char c : text) {
    const bool alnum = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    if (!alnum && std::string_view("!#$%&'*+-.^_`|~").find(c) == std::string_view::npos) {
      return false;
    }
  }
  return true;
}

std::string_view FindHeader(const RequestView& request, std::string_view name, bool* found) {
  for (const HeaderView& header : request.headers) {
    if (EqualsIgnoreCaseAscii(header.name, name)) {
      *found = true;
      return header.value;
    }
  }
  *found = false;
  return {};
}

std::string_view FindCookie(const RequestView& request, std::string_view name, bool* found) {
  *found = false;
  if (name.empty()) return {};
  // A client may split its cookies over several Cookie headers (and HTTP/2 front ends do);
  // the first occurrence wins, as RFC 6265 §5.4 orders the more specific cookie first.
  std::string_view result;
  for (const HeaderView& header : request.headers) {
    if (!IsCookieHeader(header)) continue;
    const bool hit = ForEachCookie(header.value, [&](std::string_view n, std::string_view v) {
      if (n != name) return false;
      result = v;
      return true;
    });
    if (hit) {
      *found = true;
      return result;
    }
  }
  return {};
}

std::string_view FindQueryParam(std::string_view query, std::string_view name, bool* found) {
  *found = false;
  if (name.empty()) return {};
  while (!query.empty()) {
    const std::size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    const std::size_t equals = pair.find('=');
    if (pair.substr(0, equals) != name) continue;
    *found = true;
    // "?debug" carries the parameter with an empty value.
    return equals == std::string_view::npos ? std::string_view() : pair.substr(equals + 1);
  }
  return {};
}

void CookieJar::Parse() const {
  state_ = State::kParsed;
  for (const HeaderView& header : request_.headers) {
    if (!IsCookieHeader(header)) continue;
    const bool too_many =
        ForEachCookie(header.value, [this](std::string_view name, std::string_view value) {
          if (count_ == kMaxCookies) return true;
          cookies_[count_++] = Cookie{name.data(), value.data(), static_cast<uint32_t>(name.size()),
                                      static_cast<uint32_t>(value.size())};
          return false;
        });
    if (too_many) {
      state_ = State::kTooMany;
      return;
    }
  }
}

std::string_view CookieJar::Find(std::string_view name, bool* found) const {
  if (state_ == State::kUnparsed) Parse();
  if (state_ == State::kTooMany) return FindCookie(request_, name, found);
  *found = false;
  if (name.empty()) return {};
  for (uint32_t i = 0; i < count_; ++i) {
    const Cookie& cookie = cookies_[i];
    if (std::string_view(cookie.name, cookie.name_size) == name) {
      *found = true;
      return {cookie.value, cookie.value_size};
    }
  }
  return {};
}

}  // namespace cutover::routing
