// TLS termination for a listener: the proxy's (`[listener.tls]`) or the admin API's TCP one
// (`[admin.tls]`, which may also ask for client certificates); see docs/tls.md. Holds the
// server context that new handshakes use, and the session ticket keys that outlive it.
//
// Ownership and threads: the Server owns one ListenerTls per TLS listener. Load() runs on the
// main thread (start, SIGHUP) or the admin thread (`POST /v1/tls/reload`), serialised by a
// mutex; a failed load changes nothing. Workers (and the admin thread) call current() once per
// accepted connection (an atomic shared_ptr load, never per request); each connection's
// tls::Engine keeps the context it started with, so a reload never touches an open connection.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "proxy/config.h"
#include "tls/server_context.h"
#include "tls/ticket_keys.h"

namespace cutover::proxy {

class ListenerTls {
 public:
  // Ticket keys are rotated when older than this; tickets stay valid for two more periods.
  static constexpr int64_t kTicketKeyLifetimeSeconds = 3600;

  explicit ListenerTls(int64_t now_unix);
  ListenerTls(const ListenerTls&) = delete;
  ListenerTls& operator=(const ListenerTls&) = delete;

  // Reads every certificate and key `config` names (and the client CA file, for the admin
  // listener) and makes them current; on failure returns false with `error` naming the section,
  // the file and why, and the current context stays.
  bool Load(const ListenerTlsConfig& config, std::string* error);
  bool Load(const AdminTlsConfig& config, std::string* error);
  // The same check without making anything current (`cutover check`, a reload's validation).
  static std::shared_ptr<const tls::ServerContext> Build(const ListenerTlsConfig& config,
                                                         std::shared_ptr<tls::TicketKeys> keys,
                                                         std::string* error);
  static std::shared_ptr<const tls::ServerContext> Build(const AdminTlsConfig& config,
                                                         std::shared_ptr<tls::TicketKeys> keys,
                                                         std::string* error);
  // Makes a context built with Build(.., ticket_keys(), ..) current.
  void Publish(std::shared_ptr<const tls::ServerContext> context);

  std::shared_ptr<const tls::ServerContext> current() const {
    return current_.load(std::memory_order_acquire);
  }
  const std::shared_ptr<tls::TicketKeys>& ticket_keys() const { return ticket_keys_; }

  // Main thread, from a timer: a new ticket key once the current one is kTicketKeyLifetime old.
  void MaybeRotateTicketKeys(int64_t now_unix);

 private:
  // [listener.tls]'s keys, for the listener `section` names ("listener.tls", "admin.tls").
  static bool ToSettings(const ListenerTlsConfig& config, std::string_view section,
                         tls::ServerSettings* settings, std::string* error);
  static std::shared_ptr<const tls::ServerContext> Build(const tls::ServerSettings& settings,
                                                         std::string_view section,
                                                         std::shared_ptr<tls::TicketKeys> keys,
                                                         std::string* error);

  std::mutex load_mutex_;
  std::shared_ptr<tls::TicketKeys> ticket_keys_;
  std::atomic<std::shared_ptr<const tls::ServerContext>> current_;
};

}  // namespace cutover::proxy
