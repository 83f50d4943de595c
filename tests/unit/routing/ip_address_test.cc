#include "routing/ip_address.h"

#include <gtest/gtest.h>

#include <string>

namespace cutover::routing {
namespace {

ClientAddress Ip(std::string_view text) {
  ClientAddress address;
  EXPECT_TRUE(ParseIpAddress(text, &address)) << text;
  return address;
}

std::string Format(const ClientAddress& address) {
  char text[kMaxIpAddressText];
  return std::string(text, FormatIpAddress(address, text));
}

bool Contains(std::string_view prefix_text, std::string_view address) {
  IpPrefix prefix;
  EXPECT_TRUE(ParseIpPrefix(prefix_text, &prefix)) << prefix_text;
  return PrefixContains(prefix, Ip(address));
}

TEST(ParseIpAddress, Ipv4) {
  const ClientAddress address = Ip("192.168.1.20");
  EXPECT_EQ(address.family, 4);
  EXPECT_EQ(address.bytes[0], 192);
  EXPECT_EQ(address.bytes[3], 20);
  EXPECT_EQ(Ip("0.0.0.0").family, 4);
  EXPECT_EQ(Ip("255.255.255.255").bytes[3], 255);
}

TEST(ParseIpAddress, RejectsMalformedIpv4) {
  ClientAddress address;
  for (const char* text : {"", "1.2.3", "1.2.3.4.5", "256.1.1.1", "01.2.3.4", "1.2.3.", ".1.2.3",
                           "1..2.3", "1.2.3.4 ", "a.b.c.d", "1.2.3.-4", "1234.1.1.1"}) {
    EXPECT_FALSE(ParseIpAddress(text, &address)) << text;
  }
}

TEST(ParseIpAddress, Ipv6Forms) {
  const ClientAddress loopback = Ip("::1");
  EXPECT_EQ(loopback.family, 6);
  EXPECT_EQ(loopback.bytes[15], 1);
  EXPECT_EQ(Ip("::").family, 6);
  const ClientAddress full = Ip("2001:DB8:0:0:0:0:0:1");
  EXPECT_EQ(full.bytes[0], 0x20);
  EXPECT_EQ(full.bytes[1], 0x01);
  EXPECT_EQ(full.bytes[2], 0x0d);
  EXPECT_EQ(full.bytes[3], 0xb8);
  EXPECT_EQ(full.bytes, Ip("2001:db8::1").bytes);
  EXPECT_EQ(Ip("fe80::").bytes[0], 0xfe);
  const ClientAddress mixed = Ip("::ffff:10.1.2.3");
  EXPECT_EQ(mixed.bytes[10], 0xff);
  EXPECT_EQ(mixed.bytes[12], 10);
  EXPECT_EQ(mixed.bytes[15], 3);
  EXPECT_EQ(Ip("1:2:3:4:5:6:7:8").bytes[15], 8);
  EXPECT_EQ(Ip("1:2:3:4:5:6:1.2.3.4").bytes[15], 4);
}

TEST(ParseIpAddress, RejectsMalformedIpv6) {
  ClientAddress address;
  for (const char* text : {":", ":::", "1:::2", "1::2::3", "1:2:3:4:5:6:7:8:9", "1:2:3:4:5:6:7",
                           ":1:2:3:4:5:6:7", "1:2:3:4:5:6:7:", "12345::", "g::1", "::1%eth0",
                           "1:2:3:4:5:6:7:1.2.3.4", "::1.2.3", "1.2.3.4::", "1::2:3:4:5:6:7:8"}) {
    EXPECT_FALSE(ParseIpAddress(text, &address)) << text;
  }
}

TEST(FormatIpAddress, Ipv4AndRfc5952Ipv6) {
  EXPECT_EQ(Format(Ip("10.0.0.1")), "10.0.0.1");
  EXPECT_EQ(Format(Ip("255.255.255.255")), "255.255.255.255");
  EXPECT_EQ(Format(Ip("2001:0DB8:0000:0000:0000:0000:0000:0001")), "2001:db8::1");
  EXPECT_EQ(Format(Ip("::")), "::");
  EXPECT_EQ(Format(Ip("::1")), "::1");
  EXPECT_EQ(Format(Ip("1::")), "1::");
  // RFC 5952 §4.2.2: a single zero group is not compressed.
  EXPECT_EQ(Format(Ip("2001:db8:0:1:1:1:1:1")), "2001:db8:0:1:1:1:1:1");
  // §4.2.3: the longest run is compressed; on a tie, the first.
  EXPECT_EQ(Format(Ip("2001:0:0:1:0:0:0:1")), "2001:0:0:1::1");
  EXPECT_EQ(Format(Ip("2001:db8:0:0:1:0:0:1")), "2001:db8::1:0:0:1");
  // §5: IPv4-mapped addresses in mixed notation.
  EXPECT_EQ(Format(Ip("::ffff:10.1.2.3")), "::ffff:10.1.2.3");
  const std::string longest = Format(Ip("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"));
  EXPECT_EQ(longest, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
  EXPECT_EQ(Format(ClientAddress{}), "");
}

TEST(UnmapIpv4, OnlyMappedAddressesChange) {
  const ClientAddress v4 = UnmapIpv4(Ip("::ffff:10.1.2.3"));
  EXPECT_EQ(v4.family, 4);
  EXPECT_EQ(Format(v4), "10.1.2.3");
  EXPECT_EQ(UnmapIpv4(Ip("::10.1.2.3")).family, 6);  // IPv4-compatible, not mapped
  EXPECT_EQ(UnmapIpv4(Ip("2001:db8::1")).family, 6);
}

TEST(ParseIpPrefix, LengthsAndBareAddresses) {
  IpPrefix prefix;
  ASSERT_TRUE(ParseIpPrefix("10.0.0.0/8", &prefix));
  EXPECT_EQ(prefix.length, 8);
  ASSERT_TRUE(ParseIpPrefix("10.1.2.3", &prefix));
  EXPECT_EQ(prefix.length, 32);
  ASSERT_TRUE(ParseIpPrefix("2001:db8::/32", &prefix));
  EXPECT_EQ(prefix.length, 32);
  ASSERT_TRUE(ParseIpPrefix("::1", &prefix));
  EXPECT_EQ(prefix.length, 128);
  ASSERT_TRUE(ParseIpPrefix("0.0.0.0/0", &prefix));
  ASSERT_TRUE(ParseIpPrefix("::/0", &prefix));
  ASSERT_TRUE(ParseIpPrefix("::/128", &prefix));
  // Host bits are cleared.
  ASSERT_TRUE(ParseIpPrefix("10.1.2.3/8", &prefix));
  EXPECT_EQ(Format(prefix.network), "10.0.0.0");
  ASSERT_TRUE(ParseIpPrefix("2001:db8:ffff::1/33", &prefix));
  EXPECT_EQ(Format(prefix.network), "2001:db8:8000::");
}

TEST(ParseIpPrefix, RejectsBadPrefixes) {
  IpPrefix prefix;
  for (const char* text :
       {"10.0.0.0/33", "::/129", "10.0.0.0/", "/8", "10.0.0.0/-1", "10.0.0.0/8/8", "10.0.0.0/ 8",
        "10.0.0.0/1000", "10.0.0/8", "", "2001:db8::/x"}) {
    EXPECT_FALSE(ParseIpPrefix(text, &prefix)) << text;
  }
}

TEST(PrefixContains, Ipv4) {
  EXPECT_TRUE(Contains("10.0.0.0/8", "10.255.1.2"));
  EXPECT_FALSE(Contains("10.0.0.0/8", "11.0.0.1"));
  EXPECT_TRUE(Contains("192.168.1.128/25", "192.168.1.200"));
  EXPECT_FALSE(Contains("192.168.1.128/25", "192.168.1.127"));
  EXPECT_TRUE(Contains("10.1.2.3/32", "10.1.2.3"));
  EXPECT_FALSE(Contains("10.1.2.3/32", "10.1.2.4"));
  EXPECT_TRUE(Contains("10.1.2.3", "10.1.2.3"));
  EXPECT_TRUE(Contains("0.0.0.0/0", "1.2.3.4"));
  EXPECT_TRUE(Contains("0.0.0.0/0", "255.255.255.255"));
}

TEST(PrefixContains, Ipv6) {
  EXPECT_TRUE(Contains("2001:db8::/32", "2001:db8:1234::1"));
  EXPECT_FALSE(Contains("2001:db8::/32", "2001:db9::1"));
  EXPECT_TRUE(Contains("2001:db8::/33", "2001:db8:7fff::1"));
  EXPECT_FALSE(Contains("2001:db8::/33", "2001:db8:8000::1"));
  EXPECT_TRUE(Contains("::1/128", "::1"));
  EXPECT_FALSE(Contains("::1/128", "::2"));
  EXPECT_TRUE(Contains("::/0", "2001:db8::1"));
  EXPECT_TRUE(Contains("fe80::/10", "febf::1"));
  EXPECT_FALSE(Contains("fe80::/10", "fec0::1"));
}

TEST(PrefixContains, FamiliesDoNotMix) {
  EXPECT_FALSE(Contains("0.0.0.0/0", "::1"));
  EXPECT_FALSE(Contains("::/0", "10.0.0.1"));
  EXPECT_FALSE(Contains("10.0.0.0/8", "a00::1"));  // same leading bits, other family
  EXPECT_FALSE(Contains("a00::/8", "10.0.0.1"));
  IpPrefix any;
  ASSERT_TRUE(ParseIpPrefix("0.0.0.0/0", &any));
  EXPECT_FALSE(PrefixContains(any, ClientAddress{}));  // unknown client
  ASSERT_TRUE(ParseIpPrefix("::/0", &any));
  EXPECT_FALSE(PrefixContains(any, ClientAddress{}));
}

TEST(PrefixContains, Ipv4MappedClientsMatchIpv4Prefixes) {
  EXPECT_TRUE(Contains("10.0.0.0/8", "::ffff:10.1.2.3"));
  EXPECT_FALSE(Contains("10.0.0.0/8", "::ffff:11.1.2.3"));
  EXPECT_TRUE(Contains("::ffff:0:0/96", "::ffff:10.1.2.3"));
}

}  // namespace
}  // namespace cutover::routing
