#include "tls/ticket_keys.h"

#include <gtest/gtest.h>
#include <openssl/ssl.h>

#include <string>

#include "tests/unit/support/temp_dir.h"
#include "tests/unit/support/test_certificates.h"
#include "tests/unit/support/tls_loopback.h"
#include "tls/client_context.h"
#include "tls/engine.h"
#include "tls/server_context.h"

namespace cutover::tls {
namespace {

using testing::Pump;
using testing::RawTlsClient;
using testing::TempDir;
using testing::TestCertificateAuthority;

TEST(TicketKeys, KeepsTheCurrentKeyAndTwoPrevious) {
  TicketKeys keys(1000);
  EXPECT_EQ(keys.key_count(), 1u);
  EXPECT_EQ(keys.rotated_at_unix(), 1000);
  ASSERT_TRUE(keys.Rotate(2000));
  ASSERT_TRUE(keys.Rotate(3000));
  EXPECT_EQ(keys.key_count(), 3u);
  ASSERT_TRUE(keys.Rotate(4000));
  EXPECT_EQ(keys.key_count(), 3u);
  EXPECT_EQ(keys.rotated_at_unix(), 4000);
}

// Resumption through the real handshake: a client comes back with the session (ticket) of its
// previous connection.
class ResumptionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ca_file_ = ca_.WriteCertificate(dir_.File("ca.pem"));
    settings_.certificates = {
        ca_.IssueLeaf(dir_, "site", {.common_name = "site", .dns_names = {"site.test"}})};
    std::string error;
    client_ = ClientContext::Load({.ca_file = ca_file_}, &error);
    ASSERT_NE(client_, nullptr) << error;
  }

  std::shared_ptr<const ServerContext> Server(std::shared_ptr<TicketKeys> keys) {
    std::string error;
    auto context = ServerContext::Load(settings_, std::move(keys), &error);
    EXPECT_NE(context, nullptr) << error;
    return context;
  }

  // Connects with the client context's session cache; true if the session was resumed.
  bool ConnectResumes(std::shared_ptr<const ServerContext> server_context) {
    auto client = Engine::Connect(client_, "site.test");
    auto server = Engine::Accept(std::move(server_context));
    Pump(*client, *server);
    EXPECT_TRUE(client->handshake_done()) << client->error();
    EXPECT_TRUE(server->handshake_done()) << server->error();
    EXPECT_EQ(client->session_reused(), server->session_reused());
    return server->session_reused();
  }

  TempDir dir_;
  TestCertificateAuthority ca_;
  std::string ca_file_;
  ServerSettings settings_;
  std::shared_ptr<const ClientContext> client_;
};

TEST_F(ResumptionTest, SecondConnectionResumes) {
  auto server = Server(std::make_shared<TicketKeys>(0));
  EXPECT_FALSE(ConnectResumes(server));
  EXPECT_TRUE(ConnectResumes(server));
  EXPECT_TRUE(ConnectResumes(server));
}

TEST_F(ResumptionTest, ResumesAcrossAReloadWithTheSameKeys) {
  auto keys = std::make_shared<TicketKeys>(0);
  EXPECT_FALSE(ConnectResumes(Server(keys)));
  auto reloaded = Server(keys);
  EXPECT_TRUE(ConnectResumes(reloaded));
}

TEST_F(ResumptionTest, DoesNotResumeAcrossAReloadWithoutSharedKeys) {
  EXPECT_FALSE(ConnectResumes(Server(nullptr)));
  EXPECT_FALSE(ConnectResumes(Server(nullptr)));
}

TEST_F(ResumptionTest, ResumesAfterTwoRotationsButNotThree) {
  auto keys = std::make_shared<TicketKeys>(0);
  auto server = Server(keys);
  auto client = Engine::Connect(client_, "site.test");
  auto first = Engine::Accept(server);
  Pump(*client, *first);
  ASSERT_TRUE(client->handshake_done());
  // Keep the first ticket aside: every resumption below is handed a fresh one.
  SSL_SESSION* first_session = SSL_get1_session(client->ssl_for_testing());
  ASSERT_NE(first_session, nullptr);

  auto resumes_with_first_ticket = [&] {
    SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
    RawTlsClient raw(ctx, "site.test", first_session);
    SSL_CTX_free(ctx);
    auto engine = Engine::Accept(server);
    Pump(raw, *engine);
    EXPECT_TRUE(engine->handshake_done()) << engine->error();
    return engine->session_reused();
  };
  EXPECT_TRUE(resumes_with_first_ticket());
  keys->Rotate(3600);
  EXPECT_TRUE(resumes_with_first_ticket());
  keys->Rotate(7200);
  EXPECT_TRUE(resumes_with_first_ticket());
  keys->Rotate(10800);
  EXPECT_FALSE(resumes_with_first_ticket()) << "its key is gone: full handshake";
  SSL_SESSION_free(first_session);
}

TEST_F(ResumptionTest, Tls12TicketsResumeToo) {
  auto server = Server(std::make_shared<TicketKeys>(0));
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  SSL_CTX_set_max_proto_version(ctx, TLS1_2_VERSION);
  SSL_SESSION* session = nullptr;
  for (int attempt = 0; attempt < 2; ++attempt) {
    RawTlsClient raw(ctx, "site.test", session);
    SSL_SESSION_free(session);  // a null pointer is fine
    auto engine = Engine::Accept(server);
    Pump(raw, *engine);
    ASSERT_TRUE(engine->handshake_done()) << engine->error();
    EXPECT_EQ(engine->version(), "TLSv1.2");
    EXPECT_EQ(engine->session_reused(), attempt == 1);
    session = SSL_get1_session(raw.ssl());
  }
  SSL_SESSION_free(session);
  SSL_CTX_free(ctx);
}

TEST_F(ResumptionTest, ChangedClientCaPolicyDoesNotResumeOldSessions) {
  auto keys = std::make_shared<TicketKeys>(0);
  EXPECT_FALSE(ConnectResumes(Server(keys)));
  settings_.client_ca_file = ca_file_;  // now client certificates are asked for
  EXPECT_FALSE(ConnectResumes(Server(keys)));
}

}  // namespace
}  // namespace cutover::tls
