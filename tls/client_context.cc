#include "tls/client_context.h"

#include <openssl/ssl.h>

#include <vector>

#include "tls/alpn.h"
#include "tls/certificate_authorities.h"
#include "tls/openssl_error.h"

namespace cutover::tls {
namespace {

// Where each SSL keeps a pointer to its session-cache key, and each SSL_CTX its ClientContext.
int SessionKeyIndex() {
  static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}
int ClientContextIndex() {
  static const int index = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

}  // namespace

std::shared_ptr<const ClientContext> ClientContext::Load(const ClientSettings& settings,
                                                         std::string* error) {
  std::shared_ptr<ClientContext> context(new ClientContext());
  if (!context->Configure(settings, error)) return nullptr;
  return context;
}

ClientContext::~ClientContext() {
  for (auto& [key, sessions] : sessions_) {
    for (SSL_SESSION* session : sessions) SSL_SESSION_free(session);
  }
  SSL_CTX_free(ctx_);
}

bool ClientContext::Configure(const ClientSettings& settings, std::string* error) {
  verify_ = settings.verify;
  server_name_ = settings.server_name;
  ClearOpenSslErrors();
  ctx_ = SSL_CTX_new(TLS_client_method());
  if (ctx_ == nullptr) {
    *error = "cannot create a TLS context: " + TakeOpenSslError();
    return false;
  }
  if (!ApplyProtocolPolicy(ctx_, settings.min_version, error)) return false;

  if (settings.verify) {
    if (settings.ca_file.empty()) {
      if (SSL_CTX_set_default_verify_paths(ctx_) != 1) {
        *error = "system trust store: " + TakeOpenSslError();
        return false;
      }
    } else {
      auto authorities = CertificateAuthorities::Load(settings.ca_file, error);
      if (authorities == nullptr || !authorities->InstallTrustInto(ctx_, error)) return false;
    }
    SSL_CTX_set_verify(ctx_, SSL_VERIFY_PEER, nullptr);
  } else {
    SSL_CTX_set_verify(ctx_, SSL_VERIFY_NONE, nullptr);
  }

  if (settings.cert_file.empty() != settings.key_file.empty()) {
    *error = "client certificate: cert_file and key_file go together (one is missing)";
    return false;
  }
  if (!settings.cert_file.empty()) {
    auto certificate = LoadedCertificate::Load({settings.cert_file, settings.key_file}, error);
    if (certificate == nullptr || !certificate->InstallInto(ctx_, error)) return false;
    client_certificate_ = certificate->info();
  }

  std::string alpn_wire;
  if (!EncodeAlpnProtocols(settings.alpn, &alpn_wire, error)) return false;
  // Note the inverted convention: 0 is success for this one call.
  if (!alpn_wire.empty() &&
      SSL_CTX_set_alpn_protos(ctx_, reinterpret_cast<const unsigned char*>(alpn_wire.data()),
                              static_cast<unsigned int>(alpn_wire.size())) != 0) {
    *error = "alpn: " + TakeOpenSslError();
    return false;
  }

  // Sessions are kept by us, keyed by name (OpenSSL's internal client cache is keyed by
  // session id and would never be consulted): OpenSSL only announces them.
  SSL_CTX_set_ex_data(ctx_, ClientContextIndex(), this);
  SSL_CTX_set_session_cache_mode(ctx_, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
  SSL_CTX_sess_set_new_cb(ctx_, &ClientContext::OnNewSession);
  return true;
}

std::string_view ClientContext::NameFor(std::string_view endpoint_host) const {
  return server_name_.empty() ? endpoint_host : std::string_view(server_name_);
}

std::size_t ClientContext::cached_sessions() const {
  std::lock_guard lock(sessions_mutex_);
  std::size_t count = 0;
  for (const auto& [key, sessions] : sessions_) count += sessions.size();
  return count;
}

void ClientContext::SetSessionKey(SSL* ssl, const std::string* key) {
  SSL_set_ex_data(ssl, SessionKeyIndex(), const_cast<std::string*>(key));
}

int ClientContext::OnNewSession(SSL* ssl, SSL_SESSION* session) {
  const auto* context = static_cast<const ClientContext*>(
      SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), ClientContextIndex()));
  const auto* key = static_cast<const std::string*>(SSL_get_ex_data(ssl, SessionKeyIndex()));
  if (context != nullptr && key != nullptr && SSL_SESSION_is_resumable(session) == 1) {
    context->RememberSession(*key, session);
  }
  return 0;  // we took our own reference (or none); OpenSSL keeps and frees its own
}

void ClientContext::RememberSession(const std::string& key, SSL_SESSION* session) const {
  SSL_SESSION_up_ref(session);
  std::vector<SSL_SESSION*> dropped;  // freed outside the lock
  {
    std::lock_guard lock(sessions_mutex_);
    auto [slot, inserted] = sessions_.try_emplace(key);
    std::deque<SSL_SESSION*>& sessions = slot->second;
    sessions.push_back(session);
    if (sessions.size() > kSessionsPerKey) {
      dropped.push_back(sessions.front());
      sessions.pop_front();
    }
    if (inserted && sessions_.size() > kMaxSessionKeys) {
      auto victim = sessions_.begin() == slot ? std::next(sessions_.begin()) : sessions_.begin();
      dropped.insert(dropped.end(), victim->second.begin(), victim->second.end());
      sessions_.erase(victim);
    }
  }
  for (SSL_SESSION* old : dropped) SSL_SESSION_free(old);
}

SSL_SESSION* ClientContext::FindSession(const std::string& key) const {
  std::vector<SSL_SESSION*> dropped;  // freed outside the lock
  SSL_SESSION* chosen = nullptr;
  {
    std::lock_guard lock(sessions_mutex_);
    auto found = sessions_.find(key);
    if (found == sessions_.end()) return nullptr;
    std::deque<SSL_SESSION*>& sessions = found->second;
    while (!sessions.empty() && chosen == nullptr) {
      SSL_SESSION* newest = sessions.back();
      // Not resumable: spent (TLS 1.3), expired, or its connection failed at the TLS level.
      if (SSL_SESSION_is_resumable(newest) != 1) {
        dropped.push_back(newest);
        sessions.pop_back();
      } else if (SSL_SESSION_get_protocol_version(newest) == TLS1_3_VERSION) {
        chosen = newest;  // our reference goes to the caller
        sessions.pop_back();
      } else {
        SSL_SESSION_up_ref(newest);
        chosen = newest;
      }
    }
    if (sessions.empty()) sessions_.erase(found);
  }
  for (SSL_SESSION* old : dropped) SSL_SESSION_free(old);
  return chosen;
}

}  // namespace cutover::tls
