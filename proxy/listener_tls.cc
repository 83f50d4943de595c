#include "proxy/listener_tls.h"

#include "tls/protocol_policy.h"

namespace cutover::proxy {

ListenerTls::ListenerTls(int64_t now_unix)
    : ticket_keys_(std::make_shared<tls::TicketKeys>(now_unix)) {}

bool ListenerTls::ToSettings(const ListenerTlsConfig& config, std::string_view section,
                             tls::ServerSettings* settings, std::string* error) {
  for (const ListenerTlsConfig::Certificate& certificate : config.certificates) {
    settings->certificates.push_back({certificate.cert, certificate.key});
  }
  if (!tls::ParseTlsVersion(config.min_version, &settings->min_version)) {
    *error = std::string(section) + ".min_version: must be \"1.2\" or \"1.3\"";
    return false;
  }
  settings->ciphers = config.ciphers;
  settings->ciphersuites = config.ciphersuites;
  return true;
}

std::shared_ptr<const tls::ServerContext> ListenerTls::Build(const tls::ServerSettings& settings,
                                                             std::string_view section,
                                                             std::shared_ptr<tls::TicketKeys> keys,
                                                             std::string* error) {
  std::shared_ptr<const tls::ServerContext> context =
      tls::ServerContext::Load(settings, std::move(keys), error);
  if (!context) *error = std::string(section) + ": " + *error;
  return context;
}

std::shared_ptr<const tls::ServerContext> ListenerTls::Build(const ListenerTlsConfig& config,
                                                             std::shared_ptr<tls::TicketKeys> keys,
                                                             std::string* error) {
  tls::ServerSettings settings;
  if (!ToSettings(config, "listener.tls", &settings, error)) return nullptr;
  return Build(settings, "listener.tls", std::move(keys), error);
}

std::shared_ptr<const tls::ServerContext> ListenerTls::Build(const AdminTlsConfig& config,
                                                             std::shared_ptr<tls::TicketKeys> keys,
                                                             std::string* error) {
  tls::ServerSettings settings;
  if (!ToSettings(config.server, "admin.tls", &settings, error)) return nullptr;
  // Requested (and verified) only when a CA says whom to trust; the role comes later, from
  // the verified certificate's CN (admin/client_roles.h).
  settings.client_ca_file = config.client_ca_file;
  settings.require_client_certificate = config.require_client_certificate;
  return Build(settings, "admin.tls", std::move(keys), error);
}

bool ListenerTls::Load(const ListenerTlsConfig& config, std::string* error) {
  std::lock_guard<std::mutex> lock(load_mutex_);
  std::shared_ptr<const tls::ServerContext> context = Build(config, ticket_keys_, error);
  if (!context) return false;
  current_.store(std::move(context), std::memory_order_release);
  return true;
}

bool ListenerTls::Load(const AdminTlsConfig& config, std::string* error) {
  std::lock_guard<std::mutex> lock(load_mutex_);
  std::shared_ptr<const tls::ServerContext> context = Build(config, ticket_keys_, error);
  if (!context) return false;
  current_.store(std::move(context), std::memory_order_release);
  return true;
}

void ListenerTls::Publish(std::shared_ptr<const tls::ServerContext> context) {
  std::lock_guard<std::mutex> lock(load_mutex_);
  current_.store(std::move(context), std::memory_order_release);
}

void ListenerTls::MaybeRotateTicketKeys(int64_t now_unix) {
  if (now_unix - ticket_keys_->rotated_at_unix() >= kTicketKeyLifetimeSeconds) {
    ticket_keys_->Rotate(now_unix);
  }
}

}  // namespace cutover::proxy
