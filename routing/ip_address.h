// Client addresses and address prefixes (CIDR) for the client-IP affinity source and the
// client-CIDR rule condition. Parsing is strict (no octal or short IPv4 forms, no zone ids),
// because a rule that silently parses "010.0.0.0/8" differently from what its author meant
// routes the wrong users.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "routing/request_view.h"

namespace cutover::routing {

// Longest text FormatIpAddress writes: "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255".
inline constexpr std::size_t kMaxIpAddressText = 45;

struct IpPrefix {
  ClientAddress network;  // host bits cleared
  uint8_t length = 0;     // 0..32 for IPv4, 0..128 for IPv6
  // Set by ParseIpPrefix for PrefixContains: the prefix as 128 bits (IPv4 as its IPv4-mapped
  // IPv6 form, ::ffff:a.b.c.d/96+length) and the mask of its leading bits.
  uint64_t high = 0;
  uint64_t low = 0;
  uint64_t high_mask = 0;
  uint64_t low_mask = 0;
};

// Dotted-quad IPv4 (RFC 791 text form, no leading zeros) or IPv6 (RFC 4291 §2.2, including
// "::" and a trailing dotted quad).
bool ParseIpAddress(std::string_view text, ClientAddress* out);
// "address/length", or a bare address meaning the whole address (/32 or /128). Host bits
// set in the address are cleared: "10.1.2.3/8" is 10.0.0.0/8, as in most proxies' ACLs.
bool ParseIpPrefix(std::string_view text, IpPrefix* out);

// An IPv4-mapped IPv6 address (::ffff:a.b.c.d, what a dual-stack socket reports for an IPv4
// peer, RFC 4291 §2.5.5.2) as the IPv4 address it stands for; any other address unchanged.
ClientAddress UnmapIpv4(const ClientAddress& address);

// The address as 128 bits, IPv4 as its IPv4-mapped IPv6 form (RFC 4291 §2.5.5.2).
inline void IpAddressWords(const ClientAddress& address, uint64_t* high, uint64_t* low) {
  uint64_t words[2] = {0, 0};
  if (address.family == 4) {
    words[1] = uint64_t{0xffff} << 32;
    for (int i = 0; i < 4; ++i) words[1] |= uint64_t{address.bytes[i]} << (24 - 8 * i);
  } else {
    for (int i = 0; i < 16; ++i) words[i / 8] = words[i / 8] << 8 | address.bytes[i];
  }
  *high = words[0];
  *low = words[1];
}

// IPv4 prefixes match IPv4 clients and IPv4-mapped IPv6 clients (the same peer seen through
// a dual-stack listener); IPv6 prefixes match IPv6 clients only. Family 0 matches nothing.
// Inline and word-wide: it runs for every client-CIDR rule of every request.
inline bool PrefixContains(const IpPrefix& prefix, const ClientAddress& address) {
  if (address.family == 0 || (prefix.network.family == 6 && address.family != 6)) return false;
  uint64_t high = 0;
  uint64_t low = 0;
  IpAddressWords(address, &high, &low);
  return ((high ^ prefix.high) & prefix.high_mask) == 0 &&
         ((low ^ prefix.low) & prefix.low_mask) == 0;
}

// The same for an address already in IpAddressWords form (`family` 4 or 6), so a request's
// address is converted once for all its CIDR conditions.
inline bool PrefixContainsWords(const IpPrefix& prefix, uint8_t family, uint64_t high,
                                uint64_t low) {
  if (family == 0 || (prefix.network.family == 6 && family != 6)) return false;
  return ((high ^ prefix.high) & prefix.high_mask) == 0 &&
         ((low ^ prefix.low) & prefix.low_mask) == 0;
}

// Canonical text (RFC 5952 for IPv6: lowercase, longest zero run as "::", mixed notation for
// IPv4-mapped addresses). Writes at most kMaxIpAddressText bytes, no terminator; returns the
// length, 0 for family 0.
std::size_t FormatIpAddress(const ClientAddress& address, char* out);

}  // namespace cutover::routing
