#include "tls/engine.h"

#include <gtest/gtest.h>
#include <openssl/ssl.h>

#include <string>

#include "tests/unit/support/temp_dir.h"
#include "tests/unit/support/test_certificates.h"
#include "tests/unit/support/tls_loopback.h"
#include "tls/client_context.h"
#include "tls/server_context.h"

namespace cutover::tls {
namespace {

using testing::LeafOptions;
using testing::ParseTlsRecords;
using testing::Pump;
using testing::PumpLog;
using testing::RawTlsClient;
using testing::TempDir;
using testing::TestCertificateAuthority;
using testing::TlsRecord;

constexpr int kApplicationData = 23;
constexpr int kAlert = 21;

class EngineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ca_file_ = ca_.WriteCertificate(dir_.File("ca.pem"));
    site_ = ca_.IssueLeaf(dir_, "site", {.common_name = "site", .dns_names = {"site.test"}});
  }

  std::shared_ptr<const ServerContext> Server(ServerSettings settings = {}) {
    if (settings.certificates.empty()) settings.certificates = {site_};
    std::string error;
    auto context = ServerContext::Load(settings, nullptr, &error);
    EXPECT_NE(context, nullptr) << error;
    return context;
  }

  std::shared_ptr<const ClientContext> Client(ClientSettings settings = {}) {
    if (settings.ca_file.empty()) settings.ca_file = ca_file_;
    std::string error;
    auto context = ClientContext::Load(settings, &error);
    EXPECT_NE(context, nullptr) << error;
    return context;
  }

  // A client context made by hand, for what ClientContext will not do.
  static SSL_CTX* RawClientContext(int min_version, int max_version, int security_level = 1) {
    SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_security_level(ctx, security_level);
    SSL_CTX_set_min_proto_version(ctx, min_version);
    SSL_CTX_set_max_proto_version(ctx, max_version);
    return ctx;
  }

  // Handshake, then the server sends `payload` (through `write`) and the records it made are
  // returned along with what the client decrypted.
  template <typename Write>
  std::vector<TlsRecord> RecordsOfServerWrite(Write write, std::string* client_received) {
    auto server = Engine::Accept(Server());
    auto client = Engine::Connect(Client(), "site.test");
    Pump(*client, *server);
    EXPECT_TRUE(client->handshake_done()) << client->error();
    PumpLog log;
    write(*server);
    Pump(*client, *server, &log);
    *client_received = log.client_received;
    return ParseTlsRecords(log.server_to_client);
  }

  TempDir dir_;
  TestCertificateAuthority ca_;
  std::string ca_file_;
  CertificateFiles site_;
};

TEST_F(EngineTest, HandshakeThenDataBothWays) {
  auto server = Engine::Accept(Server());
  auto client = Engine::Connect(Client(), "site.test");
  EXPECT_FALSE(client->handshake_done());
  EXPECT_GT(client->PendingOutput(), 0u) << "Connect queues the ClientHello";
  // Written before the handshake completes: sent once it does.
  const std::string request = "GET / HTTP/1.1\r\nHost: site.test\r\n\r\n";
  ASSERT_TRUE(client->Write(request.data(), request.size()));
  client->Flush();
  PumpLog log;
  Pump(*client, *server, &log);
  ASSERT_TRUE(server->handshake_done()) << server->error();
  ASSERT_TRUE(client->handshake_done()) << client->error();
  EXPECT_EQ(log.server_received, request);

  const std::string response = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
  ASSERT_TRUE(server->Write(response.data(), response.size()));
  server->Flush();
  Pump(*client, *server, &log);
  EXPECT_EQ(log.client_received, response);

  EXPECT_EQ(server->version(), "TLSv1.3");
  EXPECT_EQ(client->version(), "TLSv1.3");
  EXPECT_EQ(server->server_name(), "site.test");
  EXPECT_EQ(server->cipher(), client->cipher());
  EXPECT_FALSE(server->session_reused());
  EXPECT_EQ(client->peer_common_name(), "site");
  EXPECT_EQ(server->peer_subject(), "") << "no client certificate was asked for";
  EXPECT_TRUE(server->error().empty());
}

TEST_F(EngineTest, AlpnChoosesHttp11) {
  auto server = Engine::Accept(Server());
  auto client = Engine::Connect(Client(), "site.test");
  Pump(*client, *server);
  EXPECT_EQ(server->alpn(), "http/1.1");
  EXPECT_EQ(client->alpn(), "http/1.1");
}

TEST_F(EngineTest, AlpnTakesOurProtocolAmongSeveralOffered) {
  SSL_CTX* ctx = RawClientContext(TLS1_2_VERSION, TLS1_3_VERSION);
  const unsigned char offered[] = "\x02h2\x08http/1.1";
  SSL_CTX_set_alpn_protos(ctx, offered, sizeof(offered) - 1);
  RawTlsClient client(ctx, "site.test");
  SSL_CTX_free(ctx);
  auto server = Engine::Accept(Server());
  Pump(client, *server);
  ASSERT_TRUE(server->handshake_done()) << server->error();
  EXPECT_EQ(server->alpn(), "http/1.1");
}

TEST_F(EngineTest, ClientOfferingOnlyOtherProtocolsIsRefused) {
  SSL_CTX* ctx = RawClientContext(TLS1_2_VERSION, TLS1_3_VERSION);
  const unsigned char offered[] = "\x02h2";
  SSL_CTX_set_alpn_protos(ctx, offered, sizeof(offered) - 1);
  RawTlsClient client(ctx, "site.test");
  SSL_CTX_free(ctx);
  auto server = Engine::Accept(Server());
  Pump(client, *server);
  EXPECT_TRUE(server->failed());
  EXPECT_NE(server->error().find("no application protocol"), std::string::npos) << server->error();
  EXPECT_TRUE(client.failed());
  EXPECT_NE(client.error().find("no application protocol"), std::string::npos) << client.error();
}

TEST_F(EngineTest, ClientSendingNoAlpnIsAccepted) {
  SSL_CTX* ctx = RawClientContext(TLS1_2_VERSION, TLS1_3_VERSION);
  RawTlsClient client(ctx, "site.test");
  SSL_CTX_free(ctx);
  auto server = Engine::Accept(Server());
  Pump(client, *server);
  ASSERT_TRUE(server->handshake_done()) << server->error();
  EXPECT_EQ(server->alpn(), "");
}

TEST_F(EngineTest, Tls11ClientIsRefused) {
  // Security level 0: OpenSSL 3 would otherwise refuse to even offer TLS 1.1, and the test
  // would prove nothing about the server.
  SSL_CTX* ctx = RawClientContext(TLS1_1_VERSION, TLS1_1_VERSION, /*security_level=*/0);
  SSL_CTX_set_cipher_list(ctx, "DEFAULT:@SECLEVEL=0");
  RawTlsClient client(ctx, "site.test");
  SSL_CTX_free(ctx);
  ASSERT_GT(client.PendingOutput(), 0u) << "the client must get as far as a ClientHello";
  auto server = Engine::Accept(Server());
  Pump(client, *server);
  EXPECT_FALSE(server->handshake_done());
  EXPECT_TRUE(server->failed());
  EXPECT_EQ(server->error(), "handshake: unsupported protocol");
  EXPECT_EQ(server->Read(nullptr, 0), Engine::kFailed);
  EXPECT_FALSE(server->Write("x", 1));
  EXPECT_TRUE(client.failed());
  EXPECT_NE(client.error().find("protocol version"), std::string::npos) << client.error();
}

TEST_F(EngineTest, Tls12ClientIsServedWithOurPreferredCipher) {
  SSL_CTX* ctx = RawClientContext(TLS1_2_VERSION, TLS1_2_VERSION);
  // The client prefers AES-256; the server's order (AES-128 first) wins.
  SSL_CTX_set_cipher_list(ctx, "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-ECDSA-AES128-GCM-SHA256");
  RawTlsClient client(ctx, "site.test");
  SSL_CTX_free(ctx);
  auto server = Engine::Accept(Server());
  Pump(client, *server);
  ASSERT_TRUE(server->handshake_done()) << server->error();
  EXPECT_EQ(server->version(), "TLSv1.2");
  EXPECT_EQ(server->cipher(), "ECDHE-ECDSA-AES128-GCM-SHA256");
  EXPECT_EQ(server->alpn(), "");
}

TEST_F(EngineTest, ClientPreferringChaChaGetsIt) {
  SSL_CTX* ctx = RawClientContext(TLS1_2_VERSION, TLS1_2_VERSION);
  SSL_CTX_set_cipher_list(ctx, "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-ECDSA-AES128-GCM-SHA256");
  RawTlsClient client(ctx, "site.test");
  SSL_CTX_free(ctx);
  auto server = Engine::Accept(Server());
  Pump(client, *server);
  ASSERT_TRUE(server->handshake_done()) << server->error();
  EXPECT_EQ(server->cipher(), "ECDHE-ECDSA-CHACHA20-POLY1305");
}

TEST_F(EngineTest, ClientWithoutForwardSecrecyIsRefused) {
  SSL_CTX* ctx = RawClientContext(TLS1_2_VERSION, TLS1_2_VERSION);
  SSL_CTX_set_cipher_list(ctx, "AES128-GCM-SHA256:AES128-SHA");
  RawTlsClient client(ctx, "site.test");
  SSL_CTX_free(ctx);
  auto server = Engine::Accept(Server());
  Pump(client, *server);
  EXPECT_TRUE(server->failed());
  EXPECT_EQ(server->error(), "handshake: no shared cipher");
}

TEST_F(EngineTest, MinimumTls13RefusesTls12Client) {
  SSL_CTX* ctx = RawClientContext(TLS1_2_VERSION, TLS1_2_VERSION);
  RawTlsClient client(ctx, "site.test");
  SSL_CTX_free(ctx);
  auto server = Engine::Accept(Server({.min_version = TlsVersion::k1_3}));
  Pump(client, *server);
  EXPECT_TRUE(server->failed());
  EXPECT_EQ(server->error(), "handshake: unsupported protocol");
  EXPECT_TRUE(client.failed());
}

TEST_F(EngineTest, FailedHandshakeLeavesTheAlertToSend) {
  SSL_CTX* ctx = RawClientContext(TLS1_2_VERSION, TLS1_2_VERSION);
  RawTlsClient client(ctx, "site.test");
  SSL_CTX_free(ctx);
  auto server = Engine::Accept(Server({.min_version = TlsVersion::k1_3}));
  testing::Transfer(client, *server, nullptr);
  char buffer[64];
  EXPECT_EQ(server->Read(buffer, sizeof(buffer)), Engine::kFailed);
  std::string wire(server->PendingOutput(), '\0');
  wire.resize(server->TakeOutput(wire.data(), wire.size()));
  const std::vector<TlsRecord> records = ParseTlsRecords(wire);
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].type, kAlert);
}

TEST_F(EngineTest, RenegotiationIsRefused) {
  SSL_CTX* ctx = RawClientContext(TLS1_2_VERSION, TLS1_2_VERSION);
  RawTlsClient client(ctx, "site.test");
  SSL_CTX_free(ctx);
  auto server = Engine::Accept(Server());
  Pump(client, *server);
  ASSERT_TRUE(server->handshake_done()) << server->error();

  ASSERT_EQ(SSL_renegotiate(client.ssl()), 1);
  SSL_do_handshake(client.ssl());  // sends the new ClientHello
  ASSERT_GT(client.PendingOutput(), 0u);
  PumpLog log;
  Pump(client, *server, &log);
  // TLS 1.2 records show their real type even when encrypted: the server answered with an
  // alert (no_renegotiation), never with a handshake message.
  const std::vector<TlsRecord> answer = ParseTlsRecords(log.server_to_client);
  ASSERT_FALSE(answer.empty());
  for (const TlsRecord& record : answer) EXPECT_EQ(record.type, kAlert);
  // OpenSSL's client gives up with a fatal alert of its own, which ends the connection.
  EXPECT_TRUE(client.failed());
  EXPECT_NE(client.error().find("no renegotiation"), std::string::npos) << client.error();
}

TEST_F(EngineTest, CompressionIsOff) {
  auto server = Engine::Accept(Server());
  auto client = Engine::Connect(Client(), "site.test");
  Pump(*client, *server);
  ASSERT_TRUE(server->handshake_done());
  EXPECT_EQ(SSL_get_current_compression(server->ssl_for_testing()), nullptr);
  EXPECT_EQ(SSL_get_current_expansion(server->ssl_for_testing()), nullptr);
  EXPECT_NE(SSL_get_options(server->ssl_for_testing()) & SSL_OP_NO_COMPRESSION, 0u);
}

TEST_F(EngineTest, LargeWriteArrivesIntactInFullSizeRecords) {
  std::string payload(1024 * 1024, '\0');
  for (std::size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<char>(i * 7 + i / 997);
  std::string received;
  const auto records = RecordsOfServerWrite(
      [&](Engine& server) {
        ASSERT_TRUE(server.Write(payload.data(), payload.size()));
        server.Flush();
      },
      &received);
  EXPECT_EQ(received, payload);
  ASSERT_EQ(records.size(), payload.size() / Engine::kMaxRecordPlaintext);
  for (const TlsRecord& record : records) {
    EXPECT_EQ(record.type, kApplicationData);
    // RFC 8446 §5.2: 16 KiB of plaintext plus at most 256 bytes of type byte and AEAD tag.
    EXPECT_LE(record.length, Engine::kMaxRecordPlaintext + 256);
    EXPECT_GT(record.length, Engine::kMaxRecordPlaintext);
  }
}

TEST_F(EngineTest, ManySmallWritesThenFlushMakeOneRecord) {
  std::string expected;
  std::string received;
  const auto records = RecordsOfServerWrite(
      [&](Engine& server) {
        for (int i = 0; i < 100; ++i) {
          const std::string piece = "piece " + std::to_string(100 + i) + "\n";  // 10 bytes
          ASSERT_TRUE(server.Write(piece.data(), piece.size()));
          expected += piece;
        }
        EXPECT_EQ(server.PendingOutput(), 0u) << "nothing sealed before Flush";
        server.Flush();
      },
      &received);
  EXPECT_EQ(received, expected);
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].type, kApplicationData);
}

TEST_F(EngineTest, WritesFillRecordsAcrossCalls) {
  // 3 x 10000 bytes = one full record sealed by the second write, the rest by Flush.
  std::string received;
  const auto records = RecordsOfServerWrite(
      [&](Engine& server) {
        const std::string chunk(10000, 'x');
        for (int i = 0; i < 3; ++i) ASSERT_TRUE(server.Write(chunk.data(), chunk.size()));
        EXPECT_GT(server.PendingOutput(), 0u);
        server.Flush();
      },
      &received);
  EXPECT_EQ(received, std::string(30000, 'x'));
  ASSERT_EQ(records.size(), 2u);
  EXPECT_GT(records[0].length, Engine::kMaxRecordPlaintext);
}

TEST_F(EngineTest, CloseNotifyBothWays) {
  auto server = Engine::Accept(Server());
  auto client = Engine::Connect(Client(), "site.test");
  Pump(*client, *server);
  const std::string last = "last words";
  ASSERT_TRUE(client->Write(last.data(), last.size()));
  client->Shutdown();  // flushes first
  EXPECT_FALSE(client->Write("x", 1));
  PumpLog log;
  Pump(*client, *server, &log);
  EXPECT_EQ(log.server_received, last);
  char buffer[16];
  EXPECT_EQ(server->Read(buffer, sizeof(buffer)), Engine::kClosed);
  EXPECT_TRUE(server->Write("bye", 3)) << "a half-closed connection may still answer";
  server->Shutdown();
  Pump(*client, *server, &log);
  EXPECT_EQ(log.client_received, "bye");
  EXPECT_EQ(client->Read(buffer, sizeof(buffer)), Engine::kClosed);
  EXPECT_FALSE(server->failed());
  EXPECT_FALSE(client->failed());
}

TEST_F(EngineTest, ShutdownBeforeTheHandshakeSendsNothing) {
  auto client = Engine::Connect(Client(), "site.test");
  std::string hello(client->PendingOutput(), '\0');
  client->TakeOutput(hello.data(), hello.size());
  client->Shutdown();
  EXPECT_EQ(client->PendingOutput(), 0u);
  EXPECT_FALSE(client->Write("x", 1));
}

TEST_F(EngineTest, GarbageFromThePeerFailsTheHandshake) {
  auto server = Engine::Accept(Server());
  const std::string garbage = "GET / HTTP/1.1\r\nHost: plain-http-on-a-tls-port\r\n\r\n";
  server->Receive(garbage.data(), garbage.size());
  char buffer[64];
  EXPECT_EQ(server->Read(buffer, sizeof(buffer)), Engine::kFailed);
  EXPECT_EQ(server->error(), "handshake: http request");
}

TEST_F(EngineTest, ByteAtATimeDeliveryStillWorks) {
  auto server = Engine::Accept(Server());
  auto client = Engine::Connect(Client(), "site.test");
  char byte;
  char buffer[256];
  std::string received;
  for (int round = 0; round < 100000 && !(server->handshake_done() && client->handshake_done());
       ++round) {
    while (client->TakeOutput(&byte, 1) == 1) {
      server->Receive(&byte, 1);
      EXPECT_LE(server->Read(buffer, sizeof(buffer)), 0);
    }
    while (server->TakeOutput(&byte, 1) == 1) {
      client->Receive(&byte, 1);
      EXPECT_LE(client->Read(buffer, sizeof(buffer)), 0);
    }
  }
  ASSERT_TRUE(server->handshake_done()) << server->error();
  ASSERT_TRUE(client->handshake_done()) << client->error();
  ASSERT_TRUE(client->Write("hello", 5));
  client->Flush();
  while (client->TakeOutput(&byte, 1) == 1) {
    server->Receive(&byte, 1);
    long got = 0;
    while ((got = server->Read(buffer, sizeof(buffer))) > 0) received.append(buffer, got);
  }
  EXPECT_EQ(received, "hello");
}

}  // namespace
}  // namespace cutover::tls
