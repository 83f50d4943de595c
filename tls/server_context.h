// TLS termination settings turned into OpenSSL contexts: one SSL_CTX per served certificate,
// SNI picking among them, and the policy every listener shares (TLS 1.2+, server cipher
// preference, ALPN, tickets, no renegotiation, no compression).
//
// Ownership and threads: Load runs on the thread that loads the config (main thread); the
// result is immutable and shared as shared_ptr<const ServerContext> by every worker. A reload
// builds a new one and publishes it; new handshakes take the current one, while each Engine
// keeps the context it started with alive, so existing connections continue untouched. A
// failed Load changes nothing (the caller keeps serving the previous context).
#pragma once

#include <openssl/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "tls/certificate_files.h"
#include "tls/protocol_policy.h"

namespace cutover::tls {

class CertificateAuthorities;
class TicketKeys;

// TLS 1.2 ciphers when the config names none: Mozilla's "intermediate" list (guidelines v5)
// without its DHE suites (no DH parameters to maintain; a client that can do TLS 1.2 AEAD
// does ECDHE): forward secrecy and AEAD only, in Mozilla's order, AES-128-GCM first (faster
// than AES-256 and strong enough), ChaCha20 for clients without AES hardware (see
// SSL_OP_PRIORITIZE_CHACHA in the .cc). TLS 1.3 suites are all AEAD and forward secret.
inline constexpr const char* kDefaultTls12Ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

struct ServerSettings {
  std::vector<CertificateFiles> certificates{};  // the first is the default (no SNI, no match)
  TlsVersion min_version = TlsVersion::k1_2;     // max is always 1.3
  std::string ciphers{};       // TLS 1.2 cipher list (OpenSSL syntax); "" = kDefaultTls12Ciphers
  std::string ciphersuites{};  // TLS 1.3; "" = OpenSSL's default (all three AEAD suites)
  // Offered protocols, in server preference order. A client offering none of them is refused
  // with no_application_protocol (RFC 7301 §3.2); a client sending no ALPN at all is accepted
  // (curl --no-alpn, old clients) and Engine::alpn() is then empty. Empty list = no ALPN.
  std::vector<std::string> alpn = {"http/1.1"};
  // "" = no client certificates requested; else requested and verified against this bundle.
  std::string client_ca_file{};
  bool require_client_certificate = false;  // only with client_ca_file
};

class ServerContext {
 public:
  // Builds every context or none: nullptr with `error` = "FILE: what is wrong" (one line) for
  // an unreadable or non-PEM file, a key that does not match its certificate, a bad cipher
  // string, an empty certificate list, an unreadable client CA file. `ticket_keys` may be
  // shared with the previous context so resumption survives a reload; nullptr = OpenSSL's own
  // random per-context keys.
  static std::shared_ptr<const ServerContext> Load(const ServerSettings& settings,
                                                   std::shared_ptr<TicketKeys> ticket_keys,
                                                   std::string* error);
  ~ServerContext();
  ServerContext(const ServerContext&) = delete;
  ServerContext& operator=(const ServerContext&) = delete;

  // The default certificate's context: handshakes start here, and SNI switches the connection
  // to the matching certificate's context.
  SSL_CTX* ctx() const { return contexts_.front(); }

  // The context serving `server_name`: an exact name, else a one-label wildcard
  // ("*.example.com" covers "a.example.com", not "a.b.example.com" nor "example.com"),
  // case-insensitive; else the default. Names come from the certificates (DNS SANs, else CN);
  // when two certificates claim a name the earlier one in the settings wins.
  SSL_CTX* ContextForServerName(std::string_view server_name) const;

  // One per certificate, in settings order: for logs, the admin API and the expiry metric.
  const std::vector<CertificateInfo>& certificates() const { return certificates_; }

 private:
  ServerContext() = default;
  bool AddCertificate(const ServerSettings& settings, const LoadedCertificate& certificate,
                      const CertificateAuthorities* client_authorities, std::string* error);
  void IndexNames(const CertificateInfo& info, std::size_t context_index);

  static int OnServerName(SSL* ssl, int* alert, void* self);
  static int OnAlpn(SSL* ssl, const unsigned char** out, unsigned char* out_length,
                    const unsigned char* offered, unsigned int offered_length, void* self);

  std::vector<SSL_CTX*> contexts_;                               // owned; [0] is the default
  std::unordered_map<std::string, std::size_t> exact_names_;     // lowercase name -> context
  std::unordered_map<std::string, std::size_t> wildcard_names_;  // "example.com" for *.example.com
  std::vector<CertificateInfo> certificates_;
  std::string alpn_wire_;  // RFC 7301 wire form of settings.alpn
  std::string session_id_context_;
  std::shared_ptr<TicketKeys> ticket_keys_;
};

}  // namespace cutover::tls
