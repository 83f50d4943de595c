#include "routing/ip_address.h"

#include <algorithm>
#include <cstring>

namespace cutover::routing {
namespace {

bool ParseDecimal(std::string_view text, std::size_t max_digits, uint32_t* value) {
  if (text.empty() || text.size() > max_digits) return false;
  uint32_t result = 0;
  for (const char c : text) {
    if (c < '0' || c > '9') return false;
    result = result * 10 + static_cast<uint32_t>(c - '0');
  }
  *value = result;
  return true;
}

bool ParseIpv4(std::string_view text, uint8_t* out) {
  for (int part = 0; part < 4; ++part) {
    const std::size_t dot = text.find('.');
    if ((part < 3) == (dot == std::string_view::npos)) return false;
    const std::string_view digits = text.substr(0, dot);
    uint32_t value = 0;
    // A leading zero reads as octal to inet_aton and as decimal elsewhere: refuse it.
    if (!ParseDecimal(digits, 3, &value) || value > 255) return false;
    if (digits.size() > 1 && digits[0] == '0') return false;
    out[part] = static_cast<uint8_t>(value);
    text = dot == std::string_view::npos ? std::string_view() : text.substr(dot + 1);
  }
  return true;
}

bool ParseHexGroup(std::string_view text, uint16_t* value) {
  if (text.empty() || text.size() > 4) return false;
  uint32_t result = 0;
  for (const char c : text) {
    uint32_t digit = 0;
    if (c >= '0' && c <= '9') {
      digit = static_cast<uint32_t>(c - '0');
    } else if (c >= 'a' && c <= 'f') {
      digit = static_cast<uint32_t>(c - 'a' + 10);
    } else if (c >= 'A' && c <= 'F') {
      digit = static_cast<uint32_t>(c - 'A' + 10);
    } else {
      return false;
    }
    result = result * 16 + digit;
  }
  *value = static_cast<uint16_t>(result);
  return true;
}

// RFC 4291 §2.2: eight hex groups, at most one "::" standing for one or more zero groups,
// optionally ending in a dotted quad for the low 32 bits.
bool ParseIpv6(std::string_view text, uint8_t* out) {
  std::array<uint16_t, 8> groups{};
  int count = 0;
  int gap = -1;  // index in `groups` where "::" stands
  std::size_t i = 0;
  if (text.starts_with("::")) {
    gap = 0;
    i = 2;
  } else if (text.starts_with(":")) {
    return false;
  }
  while (i < text.size()) {
    if (count == 8) return false;
    const std::size_t colon = text.find(':', i);
    const std::string_view segment =
        text.substr(i, colon == std::string_view::npos ? colon : colon - i);
    if (segment.find('.') != std::string_view::npos) {
      uint8_t v4[4];
      if (colon != std::string_view::npos || count > 6 || !ParseIpv4(segment, v4)) return false;
      groups[count++] = static_cast<uint16_t>(v4[0] << 8 | v4[1]);
      groups[count++] = static_cast<uint16_t>(v4[2] << 8 | v4[3]);
      break;
    }
    if (!ParseHexGroup(segment, &groups[count])) return false;
    ++count;
    if (colon == std::string_view::npos) break;
    i = colon + 1;
    if (i < text.size() && text[i] == ':') {
      if (gap >= 0) return false;
      gap = count;
      ++i;
    } else if (i == text.size()) {
      return false;  // a single trailing ':'
    }
  }
  if (gap < 0 ? count != 8 : count > 7) return false;
  std::array<uint16_t, 8> expanded{};
  if (gap < 0) {
    expanded = groups;
  } else {
    const int tail = count - gap;
    std::copy_n(groups.begin(), gap, expanded.begin());
    std::copy_n(groups.begin() + gap, tail, expanded.end() - tail);
  }
  for (int g = 0; g < 8; ++g) {
    out[2 * g] = static_cast<uint8_t>(expanded[g] >> 8);
    out[2 * g + 1] = static_cast<uint8_t>(expanded[g] & 0xff);
  }
  return true;
}

// The `length` leading bits of a 64-bit word set (0 <= length <= 64).
uint64_t LeadingMask(uint32_t length) {
  return length == 0 ? 0 : ~uint64_t{0} << (64 - length);
}

bool IsMapped(const ClientAddress& address) {
  if (address.family != 6) return false;
  uint64_t high = 0;
  uint64_t low = 0;
  IpAddressWords(address, &high, &low);
  return high == 0 && low >> 32 == 0xffff;
}

std::size_t FormatIpv4(const uint8_t* bytes, char* out) {
  std::size_t n = 0;
  for (int part = 0; part < 4; ++part) {
    if (part > 0) out[n++] = '.';
    const uint8_t v = bytes[part];
    if (v >= 100) out[n++] = static_cast<char>('0' + v / 100);
    if (v >= 10) out[n++] = static_cast<char>('0' + v / 10 % 10);
    out[n++] = static_cast<char>('0' + v % 10);
  }
  return n;
}

std::size_t FormatHexGroup(uint16_t group, char* out) {
  constexpr char kDigits[] = "0123456789abcdef";
  std::size_t n = 0;
  bool started = false;
  for (int shift = 12; shift >= 0; shift -= 4) {
    const int digit = group >> shift & 0xf;
    if (digit == 0 && !started && shift > 0) continue;  // RFC 5952 §4.1: no leading zeros
    started = true;
    out[n++] = kDigits[digit];
  }
  return n;
}

std::size_t FormatIpv6(const ClientAddress& address, char* out) {
  if (IsMapped(address)) {  // RFC 5952 §5: mixed notation for IPv4-mapped addresses
    std::memcpy(out, "::ffff:", 7);
    return 7 + FormatIpv4(address.bytes.data() + 12, out + 7);
  }
  std::array<uint16_t, 8> groups{};
  for (int g = 0; g < 8; ++g) {
    groups[g] = static_cast<uint16_t>(address.bytes[2 * g] << 8 | address.bytes[2 * g + 1]);
  }
  // RFC 5952 §4.2: "::" replaces the longest run of two or more zero groups, the first one
  // when runs tie.
  int best_start = -1;
  int best_length = 1;
  for (int g = 0; g < 8;) {
    if (groups[g] != 0) {
      ++g;
      continue;
    }
    int end = g;
    while (end < 8 && groups[end] == 0) ++end;
    if (end - g > best_length) {
      best_start = g;
      best_length = end - g;
    }
    g = end;
  }
  std::size_t n = 0;
  for (int g = 0; g < 8; ++g) {
    if (g == best_start) {
      out[n++] = ':';
      out[n++] = ':';
      g += best_length - 1;
      continue;
    }
    if (g > 0 && g != best_start + best_length) out[n++] = ':';
    n += FormatHexGroup(groups[g], out + n);
  }
  return n;
}

}  // namespace

bool ParseIpAddress(std::string_view text, ClientAddress* out) {
  ClientAddress address;
  if (text.find(':') != std::string_view::npos) {
    if (!ParseIpv6(text, address.bytes.data())) return false;
    address.family = 6;
  } else {
    if (!ParseIpv4(text, address.bytes.data())) return false;
    address.family = 4;
  }
  *out = address;
  return true;
}

bool ParseIpPrefix(std::string_view text, IpPrefix* out) {
  const std::size_t slash = text.find('/');
  IpPrefix prefix;
  if (!ParseIpAddress(text.substr(0, slash), &prefix.network)) return false;
  const uint32_t max_length = prefix.network.family == 4 ? 32 : 128;
  uint32_t length = max_length;
  if (slash != std::string_view::npos && !ParseDecimal(text.substr(slash + 1), 3, &length)) {
    return false;
  }
  if (length > max_length) return false;
  prefix.length = static_cast<uint8_t>(length);
  for (uint32_t bit = length; bit < max_length; ++bit) {
    prefix.network.bytes[bit / 8] &= static_cast<uint8_t>(~(0x80u >> (bit % 8)));
  }
  IpAddressWords(prefix.network, &prefix.high, &prefix.low);
  const uint32_t bits = prefix.network.family == 4 ? 96 + length : length;
  prefix.high_mask = LeadingMask(std::min<uint32_t>(bits, 64));
  prefix.low_mask = LeadingMask(bits > 64 ? bits - 64 : 0);
  *out = prefix;
  return true;
}

ClientAddress UnmapIpv4(const ClientAddress& address) {
  if (!IsMapped(address)) return address;
  ClientAddress v4;
  v4.family = 4;
  std::copy_n(address.bytes.begin() + 12, 4, v4.bytes.begin());
  return v4;
}

std::size_t FormatIpAddress(const ClientAddress& address, char* out) {
  if (address.family == 4) return FormatIpv4(address.bytes.data(), out);
  if (address.family == 6) return FormatIpv6(address, out);
  return 0;
}

}  // namespace cutover::routing
