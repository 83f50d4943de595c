#include "proxy/ctl/connection_options.h"

#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <map>
#include <string>

namespace cutover::proxy::ctl {
namespace {

class ConnectionOptions : public testing::Test {
 protected:
  GetEnv env() const {
    return [this](const char* name) -> const char* {
      const auto it = env_.find(name);
      return it == env_.end() ? nullptr : it->second.c_str();
    };
  }

  Connection Resolve(const GlobalFlags& flags) {
    Connection connection;
    std::string error;
    EXPECT_TRUE(ResolveConnection(flags, env(), &connection, &error)) << error;
    return connection;
  }

  std::string Refusal(const GlobalFlags& flags) {
    Connection connection;
    std::string error;
    EXPECT_FALSE(ResolveConnection(flags, env(), &connection, &error));
    return error;
  }

  std::map<std::string, std::string> env_;
};

TEST_F(ConnectionOptions, DefaultSocket) {
  const Connection connection = Resolve(GlobalFlags{});
  EXPECT_EQ(connection.address.unix_path, "/run/cutover/admin.sock");
  EXPECT_EQ(connection.address.host, "");
  EXPECT_EQ(connection.token, "");
  EXPECT_EQ(connection.timeout, std::chrono::milliseconds(10'000));
}

TEST_F(ConnectionOptions, FlagsWinOverTheEnvironment) {
  env_ = {{"CUTOVER_URL", "http://127.0.0.1:9901"},
          {"CUTOVER_SOCKET", "/env.sock"},
          {"CUTOVER_TOKEN", "envtoken"}};
  EXPECT_EQ(Resolve(GlobalFlags{}).address.host, "127.0.0.1");  // URL over socket in the env
  GlobalFlags flags;
  flags.socket = "/flag.sock";
  flags.token = "flagtoken";
  const Connection connection = Resolve(flags);
  EXPECT_EQ(connection.address.unix_path, "/flag.sock");
  EXPECT_EQ(connection.address.host, "");
  EXPECT_EQ(connection.token, "flagtoken");
  env_.erase("CUTOVER_URL");
  EXPECT_EQ(Resolve(GlobalFlags{}).address.unix_path, "/env.sock");
  EXPECT_EQ(Resolve(GlobalFlags{}).token, "envtoken");
}

TEST_F(ConnectionOptions, ContradictoryFlagsAreRefused) {
  GlobalFlags flags;
  flags.socket = "/a.sock";
  flags.url = "http://127.0.0.1:1";
  EXPECT_EQ(Refusal(flags), "give --socket or --url, not both");
  flags = GlobalFlags{};
  flags.token = "a";
  flags.token_file = "/b";
  EXPECT_EQ(Refusal(flags), "give --token or --token-file, not both");
}

TEST_F(ConnectionOptions, TokenFileFirstLineTrimmed) {
  char path[] = "/tmp/ctl_token_testXXXXXX";
  const int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  close(fd);
  std::ofstream(path) << "s3cr3t-token \r\nsecond line\n";
  GlobalFlags flags;
  flags.token_file = path;
  EXPECT_EQ(Resolve(flags).token, "s3cr3t-token");
  std::ofstream(path) << "\n";
  EXPECT_NE(Refusal(flags).find("the first line is empty"), std::string::npos);
  std::remove(path);
  EXPECT_NE(Refusal(flags).find("cannot be read"), std::string::npos);
}

TEST_F(ConnectionOptions, BadTokenIsRefusedWithoutQuotingIt) {
  GlobalFlags flags;
  flags.token = "secret\r\nX-Injected: 1";
  const std::string error = Refusal(flags);
  EXPECT_EQ(error.find("secret"), std::string::npos) << error;
  flags.token = "has space";
  EXPECT_EQ(Refusal(flags).find("has space"), std::string::npos);
}

TEST_F(ConnectionOptions, ReasonMustFitInAHeader) {
  GlobalFlags flags;
  flags.reason = "p99 doubled\r\nX-Injected: 1";
  EXPECT_NE(Refusal(flags).find("control character"), std::string::npos);
  flags.reason = std::string(1025, 'x');
  EXPECT_NE(Refusal(flags).find("1024"), std::string::npos);
  flags.reason = std::string(1024, 'x');
  EXPECT_EQ(Resolve(flags).reason.size(), 1024u);
  flags.reason = "déploiement\tannulé";
  EXPECT_EQ(Resolve(flags).reason, "déploiement\tannulé");
}

TEST_F(ConnectionOptions, Timeout) {
  GlobalFlags flags;
  flags.timeout_seconds = 0.25;
  EXPECT_EQ(Resolve(flags).timeout, std::chrono::milliseconds(250));
  flags.timeout_seconds = 0.0001;
  EXPECT_EQ(Resolve(flags).timeout, std::chrono::milliseconds(1));
  for (double bad : {0.0, -1.0, 1e9}) {
    flags.timeout_seconds = bad;
    EXPECT_NE(Refusal(flags).find("--timeout"), std::string::npos) << bad;
  }
}

TEST_F(ConnectionOptions, MalformedUrlIsRefused) {
  GlobalFlags flags;
  flags.url = "ftp://127.0.0.1:9901";
  EXPECT_NE(Refusal(flags).find("expected http://HOST:PORT or https://HOST:PORT"),
            std::string::npos);
}

TEST_F(ConnectionOptions, TlsFilesFromFlagsOrTheEnvironment) {
  GlobalFlags flags;
  flags.url = "https://127.0.0.1:9901";
  Connection connection = Resolve(flags);
  EXPECT_TRUE(connection.address.tls);
  EXPECT_EQ(connection.ca_file, "");  // the system's trust store
  EXPECT_EQ(connection.cert_file, "");
  EXPECT_EQ(connection.key_file, "");
  env_ = {{"CUTOVER_CACERT", "/env/ca.pem"},
          {"CUTOVER_CERT", "/env/me.pem"},
          {"CUTOVER_KEY", "/env/me.key"}};
  connection = Resolve(flags);
  EXPECT_EQ(connection.ca_file, "/env/ca.pem");
  EXPECT_EQ(connection.cert_file, "/env/me.pem");
  EXPECT_EQ(connection.key_file, "/env/me.key");
  flags.cacert = "/flag/ca.pem";
  flags.cert = "/flag/me.pem";
  flags.key = "/flag/me.key";
  connection = Resolve(flags);
  EXPECT_EQ(connection.ca_file, "/flag/ca.pem");
  EXPECT_EQ(connection.cert_file, "/flag/me.pem");
  EXPECT_EQ(connection.key_file, "/flag/me.key");
  // The variables are for https only: a socket or http:// ignores them.
  EXPECT_EQ(Resolve(GlobalFlags{}).ca_file, "");
  GlobalFlags plain;
  plain.url = "http://127.0.0.1:9901";
  EXPECT_EQ(Resolve(plain).cert_file, "");
}

TEST_F(ConnectionOptions, TlsFlagsNeedHttpsAndACertNeedsItsKey) {
  for (const char* url : {"", "http://127.0.0.1:9901"}) {
    GlobalFlags flags;
    flags.url = url;
    flags.cacert = "/ca.pem";
    EXPECT_EQ(Refusal(flags), "--cacert, --cert and --key are for an https:// --url") << url;
  }
  GlobalFlags flags;
  flags.url = "https://127.0.0.1:9901";
  flags.cert = "/me.pem";
  EXPECT_NE(Refusal(flags).find("give --cert and --key together"), std::string::npos);
  // A --cert flag does not pair with a key from the environment.
  env_ = {{"CUTOVER_KEY", "/env/me.key"}};
  EXPECT_NE(Refusal(flags).find("give --cert and --key together"), std::string::npos);
  env_ = {{"CUTOVER_CERT", "/env/me.pem"}};
  GlobalFlags from_env;
  from_env.url = "https://127.0.0.1:9901";
  EXPECT_NE(Refusal(from_env).find("together"), std::string::npos);
}

}  // namespace
}  // namespace cutover::proxy::ctl
