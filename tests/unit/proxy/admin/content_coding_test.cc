#include "proxy/admin/content_coding.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include <string>

namespace cutover::proxy::admin {
namespace {

TEST(AcceptsGzip, NamedWithoutOrWithAPositiveWeight) {
  EXPECT_TRUE(AcceptsGzip("gzip"));
  EXPECT_TRUE(AcceptsGzip("GZIP"));
  EXPECT_TRUE(AcceptsGzip("x-gzip"));
  EXPECT_TRUE(AcceptsGzip("deflate, gzip;q=0.5"));
  EXPECT_TRUE(AcceptsGzip("gzip ; q=1.0 , br"));
  EXPECT_TRUE(AcceptsGzip("identity;q=0.1, *"));  // Prometheus sends "gzip"; curl "deflate, gzip"
}

TEST(AcceptsGzip, RefusedByZeroWeightOrAbsence) {
  EXPECT_FALSE(AcceptsGzip(""));
  EXPECT_FALSE(AcceptsGzip("identity"));
  EXPECT_FALSE(AcceptsGzip("deflate, br"));
  EXPECT_FALSE(AcceptsGzip("gzip;q=0"));
  EXPECT_FALSE(AcceptsGzip("gzip;q=0.000"));
  EXPECT_FALSE(AcceptsGzip("*, gzip;q=0"));  // the explicit refusal wins over the wildcard
  EXPECT_FALSE(AcceptsGzip("*;q=0"));
  EXPECT_FALSE(AcceptsGzip("gzipx, xgzip"));
}

TEST(AcceptsGzip, MalformedWeightMeansNo) {
  EXPECT_FALSE(AcceptsGzip("gzip;q=abc"));
  EXPECT_FALSE(AcceptsGzip("gzip;q=2"));
  EXPECT_FALSE(AcceptsGzip("gzip;q=-1"));
  EXPECT_FALSE(AcceptsGzip("gzip;q=0.5x"));
}

std::string Gunzip(const std::string& data) {
  z_stream stream{};
  EXPECT_EQ(inflateInit2(&stream, 15 + 16), Z_OK);
  std::string out(1 << 20, '\0');
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  stream.avail_in = static_cast<uInt>(data.size());
  stream.next_out = reinterpret_cast<Bytef*>(out.data());
  stream.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(inflate(&stream, Z_FINISH), Z_STREAM_END);
  out.resize(stream.total_out);
  inflateEnd(&stream);
  return out;
}

TEST(Gzip, RoundTripsAndShrinksAScrape) {
  std::string text;
  for (int i = 0; i < 500; ++i) {
    text += "cutover_requests_total{pool=\"blue\",code=\"2xx\"} " + std::to_string(i) + "\n";
  }
  const std::optional<std::string> gzipped = Gzip(text);
  ASSERT_TRUE(gzipped.has_value());
  ASSERT_GE(gzipped->size(), 2u);
  EXPECT_EQ(static_cast<unsigned char>((*gzipped)[0]), 0x1f);  // RFC 1952 magic
  EXPECT_EQ(static_cast<unsigned char>((*gzipped)[1]), 0x8b);
  EXPECT_LT(gzipped->size() * 5, text.size());
  EXPECT_EQ(Gunzip(*gzipped), text);
}

TEST(Gzip, EmptyInputIsAValidMember) {
  const std::optional<std::string> gzipped = Gzip("");
  ASSERT_TRUE(gzipped.has_value());
  EXPECT_EQ(Gunzip(*gzipped), "");
}

}  // namespace
}  // namespace cutover::proxy::admin
