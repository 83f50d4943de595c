// One connection's TLS, as a state machine over in-memory buffers: ciphertext in (Receive),
// plaintext out (Read), plaintext in (Write/Flush), ciphertext out (TakeOutput). No sockets, no
// libuv: proxy/ moves the bytes between the engine and its stream, so everything here runs the
// same in unit tests.
//
// Life of an engine:
//   handshaking  Accept() / Connect() made it; Connect() already queued the ClientHello. Each
//                Read() advances the handshake with what Receive() gave it and may queue
//                handshake messages (send PendingOutput() after every Read()).
//   open         handshake_done(): Read() yields plaintext; Write() data is sealed into
//                records. Writes made while handshaking wait and go out when it completes.
//   closed       the peer sent close_notify: Read() returns kClosed from then on; Write()
//                still works (TLS allows a half-close), Shutdown() answers.
//   shut down    Shutdown() queued our close_notify after any buffered plaintext; Write()
//                refuses from then on. Shutting down before the handshake completed queues
//                nothing: just close the stream.
//   failed       a fatal error: Read() returns kFailed, Write() refuses, error() says why in
//                one line. PendingOutput() may still hold the alert for the peer: send it,
//                then close the stream.
// Buffers: an idle engine holds none (its own buffers are released when drained, and
// OpenSSL's thanks to SSL_MODE_RELEASE_BUFFERS). Nothing bounds PendingOutput(): the caller
// applies back-pressure (stop reading the other side while it is large).
//
// Threads: an engine belongs to the one thread that made it (a worker); never shared. It keeps
// its ServerContext / ClientContext alive, so a reload never affects existing connections.
#pragma once

#include <openssl/types.h>

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

namespace cutover::tls {

class ClientContext;
class ServerContext;

class Engine {
 public:
  static constexpr long kClosed = -1;  // Read(): the peer sent close_notify
  static constexpr long kFailed = -2;  // Read(): the connection failed; see error()
  // Largest plaintext per record (RFC 8446 §5.1): Write() seals full records as soon as it
  // has them, Flush() seals the rest.
  static constexpr std::size_t kMaxRecordPlaintext = 16384;

  // Server side: waits for the ClientHello. Never nullptr; an engine that could not even be
  // set up (out of memory) is born failed.
  static std::unique_ptr<Engine> Accept(std::shared_ptr<const ServerContext> context);

  // Client side: queues the ClientHello at once. The name sent as SNI and verified is
  // context->NameFor(endpoint_host) (an IP address is verified against the certificate's IP
  // SANs and sent without SNI, RFC 6066 §3). The session offered for resumption is the newest
  // one received under `session_key` ("" = that name); give each endpoint its own key when
  // the upstreams do not share ticket keys.
  static std::unique_ptr<Engine> Connect(std::shared_ptr<const ClientContext> context,
                                         std::string_view endpoint_host,
                                         std::string_view session_key = {});

  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Ciphertext that arrived from the peer (copied). Ignored once failed.
  void Receive(const char* data, std::size_t length);

  // Decrypts into `out`, driving the handshake first if needed: > 0 bytes, 0 = needs more
  // ciphertext (look at PendingOutput() too), kClosed, or kFailed. Call it until it returns
  // <= 0 after each Receive(). A capacity of 0 only advances the handshake.
  long Read(char* out, std::size_t capacity);

  // Plaintext to send. Sealed in full records of kMaxRecordPlaintext as soon as that much is
  // buffered; Flush() seals what is left, so many small writes become one record, not many
  // tiny ones. False (nothing taken) once shut down or failed.
  bool Write(const char* data, std::size_t length);
  void Flush();

  // Ciphertext ready for the stream: handshake messages, records, alerts.
  std::size_t PendingOutput() const { return outbound_.size() - outbound_taken_; }
  // Copies up to `capacity` bytes of it into `out` and forgets them; returns how many.
  std::size_t TakeOutput(char* out, std::size_t capacity);

  // Seals buffered plaintext, then queues close_notify (nothing before the handshake is done).
  void Shutdown();

  bool handshake_done() const { return handshake_done_; }
  bool failed() const { return failed_; }
  bool session_reused() const;           // resumed a session: no certificates exchanged
  std::string_view alpn() const;         // "" when none was negotiated
  std::string_view version() const;      // "TLSv1.3", "TLSv1.2"; "" before the handshake
  std::string_view cipher() const;       // e.g. "TLS_AES_256_GCM_SHA384"; "" before
  std::string_view server_name() const;  // the SNI the client sent ("" for none)
  // The peer's certificate, verified (a client certificate on a listener with client_ca_file;
  // the upstream's when the ClientContext verifies); "" when there is none. For mapping an
  // admin client certificate to a role.
  const std::string& peer_subject() const { return peer_subject_; }  // RFC 2253
  const std::string& peer_common_name() const { return peer_common_name_; }
  const std::string& error() const { return error_; }

  // The OpenSSL connection, for tests and diagnostics only (a proxy never needs it).
  SSL* ssl_for_testing() const { return ssl_; }

 private:
  friend struct EngineBio;

  Engine() = default;
  bool Setup(SSL_CTX* ctx, bool server);
  bool DriveHandshake();
  void OnHandshakeDone();
  bool Seal(const char* data, std::size_t length);
  bool SealBuffered(bool all);
  void Fail(int ssl_result, std::string_view during);
  void Fail(std::string message);

  std::shared_ptr<const void> context_;  // the ServerContext/ClientContext the SSL points into
  SSL* ssl_ = nullptr;                   // owned, with its BIO
  std::string inbound_;                  // ciphertext received, from inbound_read_ on
  std::size_t inbound_read_ = 0;
  std::string outbound_;  // ciphertext to send, from outbound_taken_ on
  std::size_t outbound_taken_ = 0;
  std::string plaintext_;    // written, not sealed yet
  std::string session_key_;  // client side: where sessions are remembered
  std::string verify_name_;  // client side: for error messages
  bool handshake_done_ = false;
  bool flush_pending_ = false;  // Flush() called while handshaking
  bool peer_closed_ = false;
  bool shutdown_ = false;
  bool failed_ = false;
  std::string peer_subject_;
  std::string peer_common_name_;
  std::string error_;
};

}  // namespace cutover::tls
