#include "proxy/admin/admin_response_serializer.h"

#include <gtest/gtest.h>

#include <string>

namespace cutover::proxy::admin {
namespace {

AdminRequest Get(std::string method = "GET") {
  AdminRequest request;
  request.method = std::move(method);
  request.path = "/v1/state";
  return request;
}

TEST(AdminResponseSerializer, JsonAnswerHasLengthTypeAndNoStore) {
  AdminResponse response;
  response.body = {{"version", 7}};
  response.headers = {{"ETag", "\"7\""}};
  EXPECT_EQ(SerializeAdminResponse(response, Get(), false),
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nCache-Control: no-store\r\n"
            "Content-Length: 14\r\nETag: \"7\"\r\n\r\n{\"version\":7}\n");
}

TEST(AdminResponseSerializer, HeadGetsTheHeadAloneAndCloseIsSaid) {
  AdminResponse response;
  response.body = {{"version", 7}};
  const std::string out = SerializeAdminResponse(response, Get("HEAD"), true);
  EXPECT_NE(out.find("Content-Length: 14\r\n"), std::string::npos);
  EXPECT_NE(out.find("Connection: close\r\n\r\n"), std::string::npos);
  EXPECT_EQ(out.substr(out.size() - 4), "\r\n\r\n");
}

TEST(AdminResponseSerializer, LargeBodyIsGzippedOnlyWhenAccepted) {
  AdminResponse response;
  response.text_body = std::string(4096, 'a');
  response.text_content_type = "text/plain";
  AdminRequest request = Get();
  EXPECT_EQ(SerializeAdminResponse(response, request, false).find("Content-Encoding"),
            std::string::npos);
  request.headers = {{"accept-encoding", "gzip"}};
  EXPECT_NE(SerializeAdminResponse(response, request, false).find("Content-Encoding: gzip"),
            std::string::npos);
}

// Found by tests/fuzz/admin_fuzz.cc: an error message echoing a path or rule name that is not
// UTF-8 made nlohmann::json::dump throw on the admin thread, which ended the whole process
// (any viewer could stop the proxy with GET /v1/\xff).
TEST(AdminResponseSerializer, InvalidUtf8InAnErrorMessageIsReplacedNotThrown) {
  AdminResponse response;
  response.status = 404;
  response.body = {{"error", "no such endpoint: /v1/\xff\xfe"}, {"field", ""}};
  std::string out;
  ASSERT_NO_THROW(out = SerializeAdminResponse(response, Get(), false));
  EXPECT_NE(out.find("no such endpoint: /v1/\xEF\xBF\xBD\xEF\xBF\xBD"), std::string::npos);
}

}  // namespace
}  // namespace cutover::proxy::admin
