// Two TLS endpoints talking in memory: Pump moves ciphertext between them until both are
// quiet, and RawTlsClient is a client on a hand-made SSL_CTX for what tls::Engine refuses to
// be (TLS 1.1, no ALPN, odd cipher lists, renegotiation). Also a parser of TLS record headers
// to count what went over the wire.
#pragma once

#include <gtest/gtest.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace cutover::testing {

// A TLS client over memory BIOs with the same byte-moving interface as tls::Engine.
class RawTlsClient {
 public:
  // Takes its own reference to `ctx`; `server_name` is sent as SNI unless null; `session` is
  // offered for resumption unless null.
  explicit RawTlsClient(SSL_CTX* ctx, const char* server_name = nullptr,
                        SSL_SESSION* session = nullptr)
      : ssl_(SSL_new(ctx)), in_(BIO_new(BIO_s_mem())), out_(BIO_new(BIO_s_mem())) {
    BIO_set_mem_eof_return(in_, -1);  // an empty input is "no data yet", not EOF
    SSL_set_bio(ssl_, in_, out_);
    SSL_set_connect_state(ssl_);
    if (server_name != nullptr) SSL_set_tlsext_host_name(ssl_, server_name);
    if (session != nullptr) SSL_set_session(ssl_, session);
    Read(nullptr, 0);  // queues the ClientHello
  }
  // Keeps the session resumable, as tls::Engine does (OpenSSL spoils the session of an SSL
  // freed without a close_notify exchange).
  ~RawTlsClient() {
    if (!failed_) SSL_set_shutdown(ssl_, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
    SSL_free(ssl_);
  }
  RawTlsClient(const RawTlsClient&) = delete;
  RawTlsClient& operator=(const RawTlsClient&) = delete;

  void Receive(const char* data, std::size_t length) {
    BIO_write(in_, data, static_cast<int>(length));
  }
  long Read(char* out, std::size_t capacity) {
    if (failed_) return -2;
    ERR_clear_error();
    int result = 0;
    std::size_t got = 0;
    if (!SSL_is_init_finished(ssl_) || capacity == 0) {
      result = SSL_do_handshake(ssl_);
      if (result == 1 && capacity == 0) return 0;
    }
    if (capacity > 0 && SSL_is_init_finished(ssl_)) {
      result = SSL_read_ex(ssl_, out, capacity, &got);
      if (result == 1) return static_cast<long>(got);
    }
    const int error = SSL_get_error(ssl_, result);
    if (error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE) return 0;
    if (error == SSL_ERROR_ZERO_RETURN) return -1;
    char text[256];
    ERR_error_string_n(ERR_get_error(), text, sizeof(text));
    ERR_clear_error();
    error_ = text;
    failed_ = true;
    return -2;
  }
  bool Write(const char* data, std::size_t length) {
    std::size_t written = 0;
    return SSL_write_ex(ssl_, data, length, &written) == 1;
  }
  std::size_t PendingOutput() const { return BIO_ctrl_pending(out_); }
  std::size_t TakeOutput(char* out, std::size_t capacity) {
    const int got = BIO_read(out_, out, static_cast<int>(capacity));
    return got > 0 ? static_cast<std::size_t>(got) : 0;
  }

  SSL* ssl() const { return ssl_; }
  bool handshake_done() const { return SSL_is_init_finished(ssl_) == 1; }
  bool failed() const { return failed_; }
  const std::string& error() const { return error_; }

 private:
  SSL* ssl_;
  BIO* in_;   // owned by ssl_
  BIO* out_;  // owned by ssl_
  bool failed_ = false;
  std::string error_;
};

// Moves everything `from` has to send into `to`; appends it to `wire` if given.
template <typename From, typename To>
bool Transfer(From& from, To& to, std::string* wire) {
  bool moved = false;
  char buffer[16384];
  while (from.PendingOutput() > 0) {
    const std::size_t got = from.TakeOutput(buffer, sizeof(buffer));
    if (got == 0) break;
    to.Receive(buffer, got);
    if (wire != nullptr) wire->append(buffer, got);
    moved = true;
  }
  return moved;
}

// Reads all the plaintext `endpoint` can give into `received` (if given).
template <typename Endpoint>
bool ReadAll(Endpoint& endpoint, std::string* received) {
  bool got_any = false;
  char buffer[16384];
  long got = 0;
  while ((got = endpoint.Read(buffer, sizeof(buffer))) > 0) {
    if (received != nullptr) received->append(buffer, static_cast<std::size_t>(got));
    got_any = true;
  }
  return got_any;
}

struct PumpLog {
  std::string client_received;   // plaintext
  std::string server_received;   // plaintext
  std::string server_to_client;  // ciphertext, as on the wire
};

// Runs both sides until neither has anything left to send or to read.
template <typename Client, typename Server>
void Pump(Client& client, Server& server, PumpLog* log = nullptr) {
  for (int round = 0; round < 1000; ++round) {
    bool progress = Transfer(client, server, nullptr);
    progress |= Transfer(server, client, log ? &log->server_to_client : nullptr);
    progress |= ReadAll(server, log ? &log->server_received : nullptr);
    progress |= ReadAll(client, log ? &log->client_received : nullptr);
    progress |= client.PendingOutput() > 0 || server.PendingOutput() > 0;
    if (!progress) return;
  }
  ADD_FAILURE() << "TLS endpoints still talking after 1000 rounds";
}

struct TlsRecord {
  int type;            // 20 change_cipher_spec, 21 alert, 22 handshake, 23 application_data
  std::size_t length;  // of the record's body
};

// The records in `wire` (RFC 8446 §5.1: type, version, 2-byte length, body).
inline std::vector<TlsRecord> ParseTlsRecords(std::string_view wire) {
  std::vector<TlsRecord> records;
  while (wire.size() >= 5) {
    const auto byte = [&](std::size_t i) { return static_cast<std::uint8_t>(wire[i]); };
    const std::size_t length = (std::size_t{byte(3)} << 8) | byte(4);
    records.push_back({byte(0), length});
    if (wire.size() < 5 + length) {
      ADD_FAILURE() << "truncated TLS record";
      break;
    }
    wire.remove_prefix(5 + length);
  }
  EXPECT_TRUE(wire.empty()) << "bytes after the last record";
  return records;
}

}  // namespace cutover::testing
