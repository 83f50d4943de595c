#include "tls/server_context.h"

#include <openssl/ssl.h>

#include <cctype>

#include "tls/alpn.h"
#include "tls/certificate_authorities.h"
#include "tls/openssl_error.h"
#include "tls/ticket_keys.h"

namespace cutover::tls {
namespace {

std::string Lowercase(std::string_view text) {
  std::string result(text);
  for (char& c : result) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return result;
}

// Sessions resume only under the same session ID context. It names the client-certificate
// policy, so a session whose peer was verified under one CA bundle (or none) never resumes
// after a reload that changed it; certificates may change freely.
std::string SessionIdContext(const ServerSettings& settings,
                             const CertificateAuthorities* client_authorities) {
  if (client_authorities == nullptr) return "cutover";
  std::string context = client_authorities->digest();  // 32 bytes, the maximum OpenSSL keeps
  context[0] = static_cast<char>(context[0] ^ (settings.require_client_certificate ? 1 : 0));
  return context;
}

}  // namespace

std::shared_ptr<const ServerContext> ServerContext::Load(const ServerSettings& settings,
                                                         std::shared_ptr<TicketKeys> ticket_keys,
                                                         std::string* error) {
  if (settings.certificates.empty()) {
    *error = "certificates: none configured (at least one cert and key are needed)";
    return nullptr;
  }
  if (settings.require_client_certificate && settings.client_ca_file.empty()) {
    *error = "require_client_certificate needs client_ca_file to verify them against";
    return nullptr;
  }
  std::unique_ptr<const CertificateAuthorities> client_authorities;
  if (!settings.client_ca_file.empty()) {
    client_authorities = CertificateAuthorities::Load(settings.client_ca_file, error);
    if (client_authorities == nullptr) return nullptr;
  }
  std::shared_ptr<ServerContext> context(new ServerContext());
  if (!EncodeAlpnProtocols(settings.alpn, &context->alpn_wire_, error)) return nullptr;
  context->ticket_keys_ = std::move(ticket_keys);
  context->session_id_context_ = SessionIdContext(settings, client_authorities.get());
  for (const CertificateFiles& files : settings.certificates) {
    std::unique_ptr<const LoadedCertificate> certificate = LoadedCertificate::Load(files, error);
    if (certificate == nullptr) return nullptr;
    if (!context->AddCertificate(settings, *certificate, client_authorities.get(), error)) {
      return nullptr;
    }
  }
  return context;
}

ServerContext::~ServerContext() {
  for (SSL_CTX* ctx : contexts_) SSL_CTX_free(ctx);
}

bool ServerContext::AddCertificate(const ServerSettings& settings,
                                   const LoadedCertificate& certificate,
                                   const CertificateAuthorities* client_authorities,
                                   std::string* error) {
  ClearOpenSslErrors();
  UniqueSslCtx ctx(SSL_CTX_new(TLS_server_method()));
  if (ctx == nullptr) {
    *error = "cannot create a TLS context: " + TakeOpenSslError();
    return false;
  }
  if (!ApplyProtocolPolicy(ctx.get(), settings.min_version, error)) return false;
  // Our order, not the client's, picks the cipher (DESIGN §7); but a client that lists ChaCha20
  // first (a phone without AES instructions) gets it, as it is faster there and as strong.
  SSL_CTX_set_options(ctx.get(), SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_PRIORITIZE_CHACHA);
  const std::string& ciphers = settings.ciphers.empty() ? kDefaultTls12Ciphers : settings.ciphers;
  if (SSL_CTX_set_cipher_list(ctx.get(), ciphers.c_str()) != 1) {
    *error = "ciphers \"" + ciphers + "\": " + TakeOpenSslError();
    return false;
  }
  if (!settings.ciphersuites.empty() &&
      SSL_CTX_set_ciphersuites(ctx.get(), settings.ciphersuites.c_str()) != 1) {
    *error = "ciphersuites \"" + settings.ciphersuites + "\": " + TakeOpenSslError();
    return false;
  }
  if (!certificate.InstallInto(ctx.get(), error)) return false;

  if (client_authorities != nullptr) {
    if (!client_authorities->InstallTrustInto(ctx.get(), error) ||
        !client_authorities->InstallClientCaNamesInto(ctx.get(), error)) {
      return false;
    }
    const int mode = SSL_VERIFY_PEER |
                     (settings.require_client_certificate ? SSL_VERIFY_FAIL_IF_NO_PEER_CERT : 0);
    SSL_CTX_set_verify(ctx.get(), mode, nullptr);
  }
  // Resumption is stateless (tickets), so nothing is cached per context: nothing to share
  // between workers, nothing lost on reload.
  SSL_CTX_set_session_cache_mode(ctx.get(), SSL_SESS_CACHE_OFF);
  if (SSL_CTX_set_session_id_context(
          ctx.get(), reinterpret_cast<const unsigned char*>(session_id_context_.data()),
          static_cast<unsigned int>(session_id_context_.size())) != 1) {
    *error = "session id context: " + TakeOpenSslError();
    return false;
  }
  if (ticket_keys_ != nullptr) ticket_keys_->AttachTo(ctx.get());
  // Every context gets the callbacks: OpenSSL calls SNI's on the first context, and ALPN's on
  // the one SNI switched to.
  SSL_CTX_set_tlsext_servername_callback(ctx.get(), &ServerContext::OnServerName);
  SSL_CTX_set_tlsext_servername_arg(ctx.get(), this);
  if (!alpn_wire_.empty()) SSL_CTX_set_alpn_select_cb(ctx.get(), &ServerContext::OnAlpn, this);

  contexts_.push_back(ctx.release());
  certificates_.push_back(certificate.info());
  IndexNames(certificate.info(), contexts_.size() - 1);
  return true;
}

void ServerContext::IndexNames(const CertificateInfo& info, std::size_t context_index) {
  for (const std::string& name : info.names) {
    if (name.starts_with("*.")) {
      wildcard_names_.try_emplace(Lowercase(name.substr(2)), context_index);
    } else {
      exact_names_.try_emplace(Lowercase(name), context_index);
    }
  }
}

SSL_CTX* ServerContext::ContextForServerName(std::string_view server_name) const {
  if (server_name.ends_with('.')) server_name.remove_suffix(1);  // "example.com." is absolute
  const std::string name = Lowercase(server_name);
  if (auto exact = exact_names_.find(name); exact != exact_names_.end()) {
    return contexts_[exact->second];
  }
  // A wildcard stands for exactly one leftmost label (RFC 6125 §6.4.3).
  const std::size_t first_dot = name.find('.');
  if (first_dot != std::string::npos && first_dot > 0) {
    if (auto wildcard = wildcard_names_.find(name.substr(first_dot + 1));
        wildcard != wildcard_names_.end()) {
      return contexts_[wildcard->second];
    }
  }
  return contexts_.front();
}

int ServerContext::OnServerName(SSL* ssl, int* /*alert*/, void* self) {
  const char* name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
  if (name == nullptr) return SSL_TLSEXT_ERR_OK;  // no SNI: stay on the default certificate
  SSL_CTX* chosen = static_cast<const ServerContext*>(self)->ContextForServerName(name);
  if (chosen != SSL_get_SSL_CTX(ssl)) SSL_set_SSL_CTX(ssl, chosen);
  return SSL_TLSEXT_ERR_OK;
}

int ServerContext::OnAlpn(SSL* /*ssl*/, const unsigned char** out, unsigned char* out_length,
                          const unsigned char* offered, unsigned int offered_length, void* self) {
  const std::string& ours = static_cast<const ServerContext*>(self)->alpn_wire_;
  unsigned char* selected = nullptr;
  // Walks our list in order and takes the first the client offered: server preference.
  if (SSL_select_next_proto(&selected, out_length,
                            reinterpret_cast<const unsigned char*>(ours.data()),
                            static_cast<unsigned int>(ours.size()), offered,
                            offered_length) != OPENSSL_NPN_NEGOTIATED) {
    return SSL_TLSEXT_ERR_ALERT_FATAL;  // no_application_protocol, RFC 7301 §3.2
  }
  *out = selected;
  return SSL_TLSEXT_ERR_OK;
}

}  // namespace cutover::tls
