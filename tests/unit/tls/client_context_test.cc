#include "tls/client_context.h"

#include <gtest/gtest.h>

#include <string>

#include "tests/unit/support/temp_dir.h"
#include "tests/unit/support/test_certificates.h"
#include "tests/unit/support/tls_loopback.h"
#include "tls/engine.h"
#include "tls/server_context.h"

namespace cutover::tls {
namespace {

using testing::LeafOptions;
using testing::Pump;
using testing::TempDir;
using testing::TestCertificateAuthority;

class ClientContextTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ca_file_ = ca_.WriteCertificate(dir_.File("ca.pem"));
    upstream_ = ca_.IssueLeaf(dir_, "upstream",
                              {.common_name = "upstream",
                               .dns_names = {"api.internal", "*.svc.internal"},
                               .ip_addresses = {"127.0.0.1"}});
  }

  std::shared_ptr<const ServerContext> Server(ServerSettings settings = {}) {
    if (settings.certificates.empty()) settings.certificates = {upstream_};
    std::string error;
    auto context = ServerContext::Load(settings, nullptr, &error);
    EXPECT_NE(context, nullptr) << error;
    return context;
  }

  std::shared_ptr<const ClientContext> Client(const ClientSettings& settings) {
    std::string error;
    auto context = ClientContext::Load(settings, &error);
    EXPECT_NE(context, nullptr) << error;
    return context;
  }

  std::string LoadError(const ClientSettings& settings) {
    std::string error;
    EXPECT_EQ(ClientContext::Load(settings, &error), nullptr);
    return error;
  }

  struct Connection {
    std::unique_ptr<Engine> client;
    std::unique_ptr<Engine> server;
  };
  Connection Connect(std::shared_ptr<const ClientContext> client_context, std::string_view host,
                     std::shared_ptr<const ServerContext> server_context = nullptr,
                     std::string_view session_key = {}) {
    Connection connection{
        Engine::Connect(std::move(client_context), host, session_key),
        Engine::Accept(server_context != nullptr ? std::move(server_context) : Server())};
    Pump(*connection.client, *connection.server);
    return connection;
  }

  TempDir dir_;
  TestCertificateAuthority ca_;
  std::string ca_file_;
  CertificateFiles upstream_;
};

TEST_F(ClientContextTest, RightCaAndNamePass) {
  auto connection = Connect(Client({.ca_file = ca_file_}), "api.internal");
  ASSERT_TRUE(connection.client->handshake_done()) << connection.client->error();
  EXPECT_EQ(connection.server->server_name(), "api.internal");
  EXPECT_EQ(connection.client->peer_common_name(), "upstream");
  EXPECT_EQ(connection.client->alpn(), "http/1.1");
}

TEST_F(ClientContextTest, WildcardNameCoversOneLabel) {
  auto context = Client({.ca_file = ca_file_});
  EXPECT_TRUE(Connect(context, "orders.svc.internal").client->handshake_done());
  auto deeper = Connect(context, "a.orders.svc.internal");
  EXPECT_TRUE(deeper.client->failed());
}

TEST_F(ClientContextTest, WrongNameFailsSayingWhichNameWasExpected) {
  auto connection = Connect(Client({.ca_file = ca_file_}), "other.internal");
  EXPECT_TRUE(connection.client->failed());
  EXPECT_EQ(
      connection.client->error(),
      "handshake: certificate verify failed: hostname mismatch (expected \"other.internal\")");
  EXPECT_TRUE(connection.server->failed()) << "the client's alert reaches the server";
}

TEST_F(ClientContextTest, UnknownCaFails) {
  TestCertificateAuthority stranger("some other CA");
  const std::string stranger_file = stranger.WriteCertificate(dir_.File("stranger.pem"));
  auto connection = Connect(Client({.ca_file = stranger_file}), "api.internal");
  EXPECT_TRUE(connection.client->failed());
  EXPECT_EQ(connection.client->error(),
            "handshake: certificate verify failed: unable to get local issuer certificate");
}

TEST_F(ClientContextTest, SystemStoreDoesNotTrustOurTestCa) {
  auto connection = Connect(Client({}), "api.internal");
  EXPECT_TRUE(connection.client->failed());
  EXPECT_NE(connection.client->error().find("certificate verify failed"), std::string::npos);
}

TEST_F(ClientContextTest, ExpiredUpstreamCertificateFails) {
  CertificateFiles expired = ca_.IssueLeaf(
      dir_, "expired", {.common_name = "expired", .dns_names = {"api.internal"}, .expired = true});
  auto connection =
      Connect(Client({.ca_file = ca_file_}), "api.internal", Server({.certificates = {expired}}));
  EXPECT_EQ(connection.client->error(),
            "handshake: certificate verify failed: certificate has expired");
}

TEST_F(ClientContextTest, VerifyOffAcceptsAnyone) {
  TestCertificateAuthority stranger("some other CA");
  const std::string stranger_file = stranger.WriteCertificate(dir_.File("stranger.pem"));
  auto connection = Connect(Client({.ca_file = stranger_file, .verify = false}), "wrong.name");
  EXPECT_TRUE(connection.client->handshake_done()) << connection.client->error();
  EXPECT_EQ(connection.client->peer_subject(), "") << "an unverified peer has no identity";
}

TEST_F(ClientContextTest, ConfiguredServerNameOverridesTheEndpointHost) {
  auto context = Client({.ca_file = ca_file_, .server_name = "api.internal"});
  EXPECT_EQ(context->NameFor("10.0.0.7"), "api.internal");
  auto connection = Connect(context, "10.0.0.7");
  EXPECT_TRUE(connection.client->handshake_done()) << connection.client->error();
  EXPECT_EQ(connection.server->server_name(), "api.internal");
}

TEST_F(ClientContextTest, IpAddressIsVerifiedAgainstIpSansAndNotSentAsSni) {
  auto context = Client({.ca_file = ca_file_});
  auto connection = Connect(context, "127.0.0.1");
  ASSERT_TRUE(connection.client->handshake_done()) << connection.client->error();
  EXPECT_EQ(connection.server->server_name(), "");
  auto wrong = Connect(context, "127.0.0.2");
  EXPECT_EQ(wrong.client->error(),
            "handshake: certificate verify failed: IP address mismatch (expected \"127.0.0.2\")");
}

TEST_F(ClientContextTest, NoNameToVerifyFailsAtOnce) {
  auto client = Engine::Connect(Client({.ca_file = ca_file_}), "");
  EXPECT_TRUE(client->failed());
  EXPECT_EQ(client->PendingOutput(), 0u);
  EXPECT_EQ(client->error(), "no server name to verify the upstream against (set server_name)");
}

TEST_F(ClientContextTest, ClientCertificateRequiredAndPresentedIsVerifiedAndVisible) {
  CertificateFiles admin =
      ca_.IssueLeaf(dir_, "admin", {.common_name = "ops-admin", .client = true});
  auto server = Server({.client_ca_file = ca_file_, .require_client_certificate = true});
  auto connection = Connect(
      Client({.ca_file = ca_file_, .cert_file = admin.cert_file, .key_file = admin.key_file}),
      "api.internal", server);
  ASSERT_TRUE(connection.server->handshake_done()) << connection.server->error();
  EXPECT_EQ(connection.server->peer_common_name(), "ops-admin");
  EXPECT_EQ(connection.server->peer_subject(), "CN=ops-admin,O=cutover tests");
}

TEST_F(ClientContextTest, ClientCertificateRequiredButMissingFails) {
  auto server = Server({.client_ca_file = ca_file_, .require_client_certificate = true});
  auto connection = Connect(Client({.ca_file = ca_file_}), "api.internal", server);
  EXPECT_TRUE(connection.server->failed());
  EXPECT_EQ(connection.server->error(), "handshake: peer did not return a certificate");
  // TLS 1.3: the client finishes first and learns of the refusal from the server's alert.
  EXPECT_TRUE(connection.client->failed());
  EXPECT_NE(connection.client->error().find("certificate required"), std::string::npos)
      << connection.client->error();
}

TEST_F(ClientContextTest, ClientCertificateFromAnotherCaFails) {
  TestCertificateAuthority stranger("some other CA");
  CertificateFiles intruder =
      stranger.IssueLeaf(dir_, "intruder", {.common_name = "intruder", .client = true});
  auto server = Server({.client_ca_file = ca_file_, .require_client_certificate = true});
  auto connection = Connect(
      Client({.ca_file = ca_file_, .cert_file = intruder.cert_file, .key_file = intruder.key_file}),
      "api.internal", server);
  EXPECT_TRUE(connection.server->failed());
  EXPECT_EQ(connection.server->error(),
            "handshake: certificate verify failed: unable to get local issuer certificate");
}

TEST_F(ClientContextTest, OptionalClientCertificateMayBeAbsent) {
  auto server = Server({.client_ca_file = ca_file_});
  auto connection = Connect(Client({.ca_file = ca_file_}), "api.internal", server);
  ASSERT_TRUE(connection.server->handshake_done()) << connection.server->error();
  EXPECT_EQ(connection.server->peer_subject(), "");
}

TEST_F(ClientContextTest, SessionIsReusedForTheSameKeyOnly) {
  auto context = Client({.ca_file = ca_file_});
  auto server = Server();
  EXPECT_EQ(context->cached_sessions(), 0u);
  auto first = Connect(context, "api.internal", server);
  ASSERT_TRUE(first.client->handshake_done());
  EXPECT_FALSE(first.client->session_reused());
  EXPECT_EQ(context->cached_sessions(), 2u) << "a full TLS 1.3 handshake brings two tickets";

  auto second = Connect(context, "api.internal", server);
  EXPECT_TRUE(second.client->session_reused());
  EXPECT_TRUE(second.server->session_reused());
  EXPECT_EQ(second.client->peer_common_name(), "upstream") << "the session keeps the peer";

  auto other_endpoint = Connect(context, "api.internal", server, "10.0.0.8:443");
  EXPECT_TRUE(other_endpoint.client->handshake_done());
  EXPECT_FALSE(other_endpoint.client->session_reused());
}

TEST_F(ClientContextTest, ConnectionsClosedWithoutCloseNotifyStillResume) {
  auto context = Client({.ca_file = ca_file_});
  auto server = Server();
  // Each connection is dropped (destroyed) without a TLS shutdown, as a pool does with an
  // idle upstream connection.
  EXPECT_FALSE(Connect(context, "api.internal", server).client->session_reused());
  for (int i = 0; i < 5; ++i) {
    EXPECT_TRUE(Connect(context, "api.internal", server).client->session_reused()) << i;
  }
}

TEST_F(ClientContextTest, TwoConnectionsOpenedTogetherBothResume) {
  auto context = Client({.ca_file = ca_file_});
  auto server = Server();
  Connect(context, "api.internal", server);
  auto a = Engine::Connect(context, "api.internal");
  auto b = Engine::Connect(context, "api.internal");
  auto server_a = Engine::Accept(server);
  auto server_b = Engine::Accept(server);
  Pump(*a, *server_a);
  Pump(*b, *server_b);
  EXPECT_TRUE(a->session_reused());
  EXPECT_TRUE(b->session_reused());
}

TEST_F(ClientContextTest, AFailedConnectionDoesNotSpoilTheNextOne) {
  auto context = Client({.ca_file = ca_file_});
  auto server = Server();
  auto first = Connect(context, "api.internal", server);
  ASSERT_TRUE(first.client->handshake_done());
  // Garbage after the handshake: a fatal error on this connection.
  first.client->Receive("\x17\x03\x03\x00\x05hello", 10);
  char buffer[16];
  EXPECT_EQ(first.client->Read(buffer, sizeof(buffer)), Engine::kFailed);
  auto second = Connect(context, "api.internal", server);
  EXPECT_TRUE(second.client->handshake_done()) << second.client->error();
  EXPECT_TRUE(second.server->handshake_done()) << second.server->error();
}

TEST_F(ClientContextTest, LoadErrorsNameTheFile) {
  EXPECT_EQ(LoadError({.ca_file = dir_.File("nope.pem")}),
            dir_.File("nope.pem") + ": cannot read: No such file or directory");
  CertificateFiles a = ca_.IssueLeaf(dir_, "a", {.common_name = "a", .client = true});
  CertificateFiles b = ca_.IssueLeaf(dir_, "b", {.common_name = "b", .client = true});
  EXPECT_EQ(LoadError({.ca_file = ca_file_, .cert_file = a.cert_file, .key_file = b.key_file}),
            b.key_file + ": private key does not match the certificate in " + a.cert_file);
  EXPECT_EQ(LoadError({.ca_file = ca_file_, .cert_file = a.cert_file}),
            "client certificate: cert_file and key_file go together (one is missing)");
}

TEST_F(ClientContextTest, ClientCertificateInfoIsExposedForTheExpiryMetric) {
  CertificateFiles admin = ca_.IssueLeaf(dir_, "admin", {.common_name = "ops", .client = true});
  auto context =
      Client({.ca_file = ca_file_, .cert_file = admin.cert_file, .key_file = admin.key_file});
  ASSERT_TRUE(context->client_certificate().has_value());
  EXPECT_EQ(context->client_certificate()->file, admin.cert_file);
  EXPECT_GT(context->client_certificate()->not_after_unix, 0);
  EXPECT_FALSE(Client({.ca_file = ca_file_})->client_certificate().has_value());
}

}  // namespace
}  // namespace cutover::tls
