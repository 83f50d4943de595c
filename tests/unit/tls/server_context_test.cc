#include "tls/server_context.h"

#include <gtest/gtest.h>
#include <openssl/ssl.h>

#include <ctime>
#include <string>

#include "tests/unit/support/temp_dir.h"
#include "tests/unit/support/test_certificates.h"
#include "tests/unit/support/tls_loopback.h"
#include "tls/client_context.h"
#include "tls/engine.h"
#include "tls/ticket_keys.h"

namespace cutover::tls {
namespace {

using testing::LeafOptions;
using testing::RawTlsClient;
using testing::TempDir;
using testing::TestCertificateAuthority;

void WriteFile(const std::string& path, const std::string& text) {
  std::FILE* file = std::fopen(path.c_str(), "wb");
  ASSERT_NE(file, nullptr);
  std::fwrite(text.data(), 1, text.size(), file);
  std::fclose(file);
}

class ServerContextTest : public ::testing::Test {
 protected:
  CertificateFiles Leaf(const std::string& stem, std::vector<std::string> names) {
    return ca_.IssueLeaf(dir_, stem, LeafOptions{.common_name = stem, .dns_names = names});
  }

  std::shared_ptr<const ServerContext> LoadOk(const ServerSettings& settings) {
    std::string error;
    auto context = ServerContext::Load(settings, nullptr, &error);
    EXPECT_NE(context, nullptr) << error;
    return context;
  }

  std::string LoadError(const ServerSettings& settings) {
    std::string error;
    EXPECT_EQ(ServerContext::Load(settings, nullptr, &error), nullptr);
    return error;
  }

  // The common name of the certificate a client sending `sni` gets (nullptr = no SNI).
  std::string ServedCommonName(std::shared_ptr<const ServerContext> context, const char* sni) {
    SSL_CTX* client_ctx = SSL_CTX_new(TLS_client_method());
    RawTlsClient client(client_ctx, sni);
    SSL_CTX_free(client_ctx);
    auto server = Engine::Accept(std::move(context));
    testing::Pump(client, *server);
    EXPECT_TRUE(server->handshake_done()) << server->error();
    X509* served = SSL_get0_peer_certificate(client.ssl());
    return served != nullptr ? CommonName(served) : "";
  }

  TempDir dir_;
  TestCertificateAuthority ca_;
};

TEST_F(ServerContextTest, DescribesEachCertificate) {
  auto context = LoadOk({.certificates = {Leaf("site", {"example.com", "www.example.com"})}});
  ASSERT_EQ(context->certificates().size(), 1u);
  const CertificateInfo& info = context->certificates()[0];
  EXPECT_EQ(info.file, dir_.File("site.pem"));
  EXPECT_EQ(info.names, (std::vector<std::string>{"example.com", "www.example.com"}));
  EXPECT_EQ(info.subject, "CN=site,O=cutover tests");
  const int64_t now = std::time(nullptr);
  EXPECT_GT(info.not_after_unix, now + 29 * 86400);
  EXPECT_LT(info.not_after_unix, now + 31 * 86400);
  EXPECT_LT(info.not_before_unix, now);
}

TEST_F(ServerContextTest, CommonNameIsTheNameWithoutSubjectAltNames) {
  auto context = LoadOk({.certificates = {Leaf("legacy.example.com", {})}});
  EXPECT_EQ(context->certificates()[0].names, std::vector<std::string>{"legacy.example.com"});
}

TEST_F(ServerContextTest, ExpiredCertificateLoadsAndShowsItsExpiry) {
  CertificateFiles expired = ca_.IssueLeaf(
      dir_, "old", {.common_name = "old", .dns_names = {"old.test"}, .expired = true});
  auto context = LoadOk({.certificates = {expired}});
  EXPECT_LT(context->certificates()[0].not_after_unix, std::time(nullptr));
}

TEST_F(ServerContextTest, ChainInTheCertificateFileIsServed) {
  CertificateFiles chained = ca_.IssueLeaf(
      dir_, "chained",
      {.common_name = "chained", .dns_names = {"a.test"}, .include_ca_in_chain = true});
  auto context = LoadOk({.certificates = {chained}});
  SSL_CTX* client_ctx = SSL_CTX_new(TLS_client_method());
  RawTlsClient client(client_ctx, "a.test");
  SSL_CTX_free(client_ctx);
  auto server = Engine::Accept(context);
  testing::Pump(client, *server);
  ASSERT_TRUE(server->handshake_done()) << server->error();
  EXPECT_EQ(sk_X509_num(SSL_get_peer_cert_chain(client.ssl())), 2);
}

TEST_F(ServerContextTest, SniPicksExactThenWildcardThenDefault) {
  auto context =
      LoadOk({.certificates = {Leaf("default", {"default.test"}), Leaf("api", {"api.example.com"}),
                               Leaf("wildcard", {"*.example.com"}),
                               Leaf("other", {"www.other.test", "other.test"})}});
  SSL_CTX* default_ctx = context->ctx();
  auto served_by = [&](std::string_view name) {
    return CommonName(SSL_CTX_get0_certificate(context->ContextForServerName(name)));
  };
  EXPECT_EQ(served_by("api.example.com"), "api");
  EXPECT_EQ(served_by("API.Example.COM"), "api");
  EXPECT_EQ(served_by("api.example.com."), "api");
  EXPECT_EQ(served_by("a.example.com"), "wildcard");
  EXPECT_EQ(served_by("other.test"), "other");
  EXPECT_EQ(context->ContextForServerName("a.b.example.com"), default_ctx);
  EXPECT_EQ(context->ContextForServerName("example.com"), default_ctx);
  EXPECT_EQ(context->ContextForServerName(".example.com"), default_ctx);
  EXPECT_EQ(context->ContextForServerName("unknown.test"), default_ctx);
  EXPECT_EQ(context->ContextForServerName(""), default_ctx);
}

TEST_F(ServerContextTest, HandshakeServesTheCertificateSniAskedFor) {
  auto context =
      LoadOk({.certificates = {Leaf("default", {"default.test"}), Leaf("api", {"api.example.com"}),
                               Leaf("wildcard", {"*.example.com"})}});
  EXPECT_EQ(ServedCommonName(context, "api.example.com"), "api");
  EXPECT_EQ(ServedCommonName(context, "Shop.Example.com"), "wildcard");
  EXPECT_EQ(ServedCommonName(context, "a.b.example.com"), "default");
  EXPECT_EQ(ServedCommonName(context, "unknown.test"), "default");
  EXPECT_EQ(ServedCommonName(context, nullptr), "default");
}

TEST_F(ServerContextTest, EveryContextRefusesCompressionAndRenegotiationAndPrefersOurCiphers) {
  auto context = LoadOk({.certificates = {Leaf("a", {"a.test"}), Leaf("b", {"b.test"})}});
  for (const char* name : {"a.test", "b.test"}) {
    SSL_CTX* ctx = context->ContextForServerName(name);
    const uint64_t options = SSL_CTX_get_options(ctx);
    EXPECT_NE(options & SSL_OP_NO_COMPRESSION, 0u);
    EXPECT_NE(options & SSL_OP_NO_RENEGOTIATION, 0u);
    EXPECT_NE(options & SSL_OP_CIPHER_SERVER_PREFERENCE, 0u);
    EXPECT_EQ(options & SSL_OP_NO_TICKET, 0u);
    EXPECT_NE(SSL_CTX_get_mode(ctx) & SSL_MODE_RELEASE_BUFFERS, 0u);
    EXPECT_EQ(SSL_CTX_get_min_proto_version(ctx), TLS1_2_VERSION);
    EXPECT_EQ(SSL_CTX_get_max_proto_version(ctx), TLS1_3_VERSION);
  }
}

TEST_F(ServerContextTest, MismatchedKeyIsRefusedNamingBothFiles) {
  CertificateFiles a = Leaf("a", {"a.test"});
  CertificateFiles b = Leaf("b", {"b.test"});
  EXPECT_EQ(LoadError({.certificates = {{a.cert_file, b.key_file}}}),
            b.key_file + ": private key does not match the certificate in " + a.cert_file);
}

TEST_F(ServerContextTest, FailedReloadLeavesThePreviousContextServing) {
  CertificateFiles good = Leaf("good", {"good.test"});
  auto current = LoadOk({.certificates = {good}});
  CertificateFiles other = Leaf("other", {"other.test"});
  // The operator replaced the certificate but forgot the key.
  std::string error;
  EXPECT_EQ(
      ServerContext::Load({.certificates = {{other.cert_file, good.key_file}}}, nullptr, &error),
      nullptr);
  EXPECT_NE(error.find("does not match"), std::string::npos) << error;
  EXPECT_EQ(ServedCommonName(current, "good.test"), "good");
}

TEST_F(ServerContextTest, UnreadableFileIsNamedWithTheReason) {
  CertificateFiles good = Leaf("good", {"good.test"});
  EXPECT_EQ(LoadError({.certificates = {{dir_.File("missing.pem"), good.key_file}}}),
            dir_.File("missing.pem") + ": cannot read: No such file or directory");
  EXPECT_EQ(LoadError({.certificates = {{good.cert_file, dir_.File("missing.key")}}}),
            dir_.File("missing.key") + ": cannot read: No such file or directory");
}

TEST_F(ServerContextTest, GarbageInsteadOfPemIsRefused) {
  CertificateFiles good = Leaf("good", {"good.test"});
  WriteFile(dir_.File("garbage"), "this is not a certificate\n");
  EXPECT_EQ(LoadError({.certificates = {{dir_.File("garbage"), good.key_file}}}),
            dir_.File("garbage") +
                ": no PEM certificate in it (expected \"-----BEGIN CERTIFICATE-----\")");
  EXPECT_EQ(LoadError({.certificates = {{good.cert_file, dir_.File("garbage")}}}),
            dir_.File("garbage") +
                ": no PEM private key in it (expected \"-----BEGIN PRIVATE KEY-----\")");
  // A key file holding only a certificate is no better.
  EXPECT_NE(
      LoadError({.certificates = {{good.cert_file, good.cert_file}}}).find("no PEM private key"),
      std::string::npos);
}

TEST_F(ServerContextTest, MalformedPemBodyIsRefused) {
  CertificateFiles good = Leaf("good", {"good.test"});
  WriteFile(dir_.File("broken.pem"),
            "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n");
  const std::string error = LoadError({.certificates = {{dir_.File("broken.pem"), good.key_file}}});
  EXPECT_TRUE(error.starts_with(dir_.File("broken.pem") + ": certificate 1 is malformed: "))
      << error;
}

TEST_F(ServerContextTest, EncryptedKeyIsRefusedWithoutPrompting) {
  CertificateFiles locked = ca_.IssueLeaf(
      dir_, "locked", {.common_name = "locked", .dns_names = {"l.test"}, .key_passphrase = "pw"});
  const std::string error = LoadError({.certificates = {locked}});
  EXPECT_TRUE(error.starts_with(locked.key_file + ": private key is encrypted")) << error;
}

TEST_F(ServerContextTest, KeyAndCertificateMayShareOneFile) {
  CertificateFiles good = Leaf("good", {"good.test"});
  const std::string combined = dir_.File("combined.pem");
  WriteFile(combined,
            testing::ReadWholeFile(good.key_file) + testing::ReadWholeFile(good.cert_file));
  LoadOk({.certificates = {{combined, combined}}});
}

TEST_F(ServerContextTest, EmptyCertificateListIsRefused) {
  EXPECT_EQ(LoadError({}), "certificates: none configured (at least one cert and key are needed)");
}

TEST_F(ServerContextTest, BadCipherStringsAreRefused) {
  CertificateFiles good = Leaf("good", {"good.test"});
  EXPECT_TRUE(LoadError({.certificates = {good}, .ciphers = "NOT-A-CIPHER"})
                  .starts_with("ciphers \"NOT-A-CIPHER\": "));
  EXPECT_TRUE(LoadError({.certificates = {good}, .ciphersuites = "TLS_NOT_A_SUITE"})
                  .starts_with("ciphersuites \"TLS_NOT_A_SUITE\": "));
}

TEST_F(ServerContextTest, ClientCaFileProblemsAreRefused) {
  CertificateFiles good = Leaf("good", {"good.test"});
  EXPECT_EQ(LoadError({.certificates = {good}, .client_ca_file = dir_.File("no-ca.pem")}),
            dir_.File("no-ca.pem") + ": cannot read: No such file or directory");
  EXPECT_EQ(LoadError({.certificates = {good}, .require_client_certificate = true}),
            "require_client_certificate needs client_ca_file to verify them against");
}

TEST_F(ServerContextTest, AlpnNamesMustFitTheWireFormat) {
  CertificateFiles good = Leaf("good", {"good.test"});
  EXPECT_TRUE(LoadError({.certificates = {good}, .alpn = {"http/1.1", ""}}).starts_with("alpn: "));
  EXPECT_TRUE(
      LoadError({.certificates = {good}, .alpn = {std::string(256, 'x')}}).starts_with("alpn: "));
}

TEST(ProtocolPolicy, ParsesTheConfigVersions) {
  TlsVersion version = TlsVersion::k1_3;
  EXPECT_TRUE(ParseTlsVersion("1.2", &version));
  EXPECT_EQ(version, TlsVersion::k1_2);
  EXPECT_TRUE(ParseTlsVersion("1.3", &version));
  EXPECT_EQ(version, TlsVersion::k1_3);
  EXPECT_FALSE(ParseTlsVersion("1.1", &version));
  EXPECT_FALSE(ParseTlsVersion("1.4", &version));
}

}  // namespace
}  // namespace cutover::tls
