// Upstream TLS settings turned into one OpenSSL client context per pool: the peer verified
// against a CA bundle (default: the system store) and a name, an optional client certificate
// (mTLS), ALPN, and session reuse across the pool's connections.
//
// Ownership and threads: Load runs on the config thread; the result is shared as
// shared_ptr<const ClientContext> by every worker, and each Engine made from it keeps it alive.
// The only mutable part is the session cache (the latest sessions per key, see
// Engine::Connect), shared by all workers and guarded by a mutex: it is touched once per
// upstream handshake, never per request. Sessions are refcounted OpenSSL objects; the cache
// holds one reference and hands out another. A TLS 1.3 session is handed out once (RFC 8446
// §C.4: a ticket is for one connection) and the server sends a fresh one on each resumption;
// a TLS 1.2 session is reused until replaced.
#pragma once

#include <openssl/types.h>

#include <cstddef>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "tls/certificate_files.h"
#include "tls/protocol_policy.h"

namespace cutover::tls {

struct ClientSettings {
  std::string ca_file{};      // PEM bundle; "" = the system's default trust store
  std::string server_name{};  // SNI and the verified name; "" = the endpoint's host
  std::string cert_file{};    // client certificate for mTLS (with key_file); "" = none
  std::string key_file{};
  bool verify = true;  // false only for tests and labs: anyone can then impersonate the upstream
  TlsVersion min_version = TlsVersion::k1_2;
  std::vector<std::string> alpn = {"http/1.1"};  // offered; empty = no ALPN extension
};

class ClientContext {
 public:
  // Keys kept at most; beyond that an arbitrary key's sessions are dropped.
  static constexpr std::size_t kMaxSessionKeys = 256;
  // Sessions kept per key, newest used first: a full TLS 1.3 handshake brings two tickets, so
  // two connections opened together may both resume.
  static constexpr std::size_t kSessionsPerKey = 4;

  // nullptr with a one-line error naming the file: unreadable or non-PEM CA file, client
  // certificate or key problems (as for a server certificate), a key without a certificate.
  static std::shared_ptr<const ClientContext> Load(const ClientSettings& settings,
                                                   std::string* error);
  ~ClientContext();
  ClientContext(const ClientContext&) = delete;
  ClientContext& operator=(const ClientContext&) = delete;

  SSL_CTX* ctx() const { return ctx_; }
  bool verifies() const { return verify_; }

  // The name to send as SNI and to verify: the configured server_name, else `endpoint_host`.
  std::string_view NameFor(std::string_view endpoint_host) const;

  // The mTLS client certificate, for the expiry metric; empty without one.
  const std::optional<CertificateInfo>& client_certificate() const { return client_certificate_; }

  // Sessions held, all keys together (for tests and diagnostics).
  std::size_t cached_sessions() const;

 private:
  friend class Engine;  // the only user of the session cache

  ClientContext() = default;
  bool Configure(const ClientSettings& settings, std::string* error);

  // Keeps a reference to `session` as the next one to offer for `key`.
  void RememberSession(const std::string& key, SSL_SESSION* session) const;
  // A new reference to the newest resumable session for `key` (the caller frees it), or
  // nullptr; a TLS 1.3 one leaves the cache.
  SSL_SESSION* FindSession(const std::string& key) const;
  // Makes sessions that `ssl` receives be remembered under `*key` (which outlives `ssl`).
  static void SetSessionKey(SSL* ssl, const std::string* key);
  // Called by OpenSSL when a handshake or a TLS 1.3 NewSessionTicket yields a session.
  static int OnNewSession(SSL* ssl, SSL_SESSION* session);

  SSL_CTX* ctx_ = nullptr;  // owned
  bool verify_ = true;
  std::string server_name_;
  std::optional<CertificateInfo> client_certificate_;

  mutable std::mutex sessions_mutex_;
  // Oldest first; each entry holds one reference.
  mutable std::unordered_map<std::string, std::deque<SSL_SESSION*>> sessions_;
};

}  // namespace cutover::tls
