#include "tls/engine.h"

#include <openssl/bio.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <cstring>

#include "tls/certificate_files.h"
#include "tls/client_context.h"
#include "tls/openssl_error.h"
#include "tls/server_context.h"

namespace cutover::tls {
namespace {

// Frees a buffer's memory, not just its contents: an idle connection holds no buffers.
void Release(std::string& buffer) {
  std::string().swap(buffer);
}

// Drops the consumed front of a buffer once it is at least half of it: bounded memory when the
// other end never quite drains it, and each byte moved at most once on average.
void CompactFront(std::string& buffer, std::size_t& consumed) {
  if (consumed == 0 || consumed < buffer.size() - consumed) return;
  buffer.erase(0, consumed);
  consumed = 0;
}

}  // namespace

// The BIO between OpenSSL and the engine's own buffers. BIO_s_mem would do the same but never
// gives its memory back, so every connection would keep its largest burst allocated forever.
struct EngineBio {
  static BIO_METHOD* Method() {
    // Made once, shared by every engine on every thread, never freed (it is a static table).
    static BIO_METHOD* const method = [] {
      BIO_METHOD* made = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "cutover");
      if (made == nullptr) return made;
      BIO_meth_set_write_ex(made, &EngineBio::Write);
      BIO_meth_set_read_ex(made, &EngineBio::Read);
      BIO_meth_set_ctrl(made, &EngineBio::Control);
      BIO_meth_set_create(made, &EngineBio::Create);
      return made;
    }();
    return method;
  }

  static int Create(BIO* bio) {
    BIO_set_init(bio, 1);
    return 1;
  }

  static int Write(BIO* bio, const char* data, std::size_t length, std::size_t* written) {
    auto* engine = static_cast<Engine*>(BIO_get_data(bio));
    BIO_clear_retry_flags(bio);
    CompactFront(engine->outbound_, engine->outbound_taken_);
    engine->outbound_.append(data, length);
    *written = length;
    return 1;
  }

  static int Read(BIO* bio, char* out, std::size_t capacity, std::size_t* read) {
    auto* engine = static_cast<Engine*>(BIO_get_data(bio));
    BIO_clear_retry_flags(bio);
    const std::size_t available = engine->inbound_.size() - engine->inbound_read_;
    if (available == 0) {
      BIO_set_retry_read(bio);  // "would block": OpenSSL reports SSL_ERROR_WANT_READ
      *read = 0;
      return 0;
    }
    const std::size_t count = std::min(capacity, available);
    std::memcpy(out, engine->inbound_.data() + engine->inbound_read_, count);
    engine->inbound_read_ += count;
    if (engine->inbound_read_ == engine->inbound_.size()) {
      Release(engine->inbound_);
      engine->inbound_read_ = 0;
    }
    *read = count;
    return 1;
  }

  static long Control(BIO* bio, int command, long, void*) {
    const auto* engine = static_cast<const Engine*>(BIO_get_data(bio));
    switch (command) {
      case BIO_CTRL_FLUSH:  // OpenSSL flushes after each flight; the bytes are already queued
        return 1;
      case BIO_CTRL_PENDING:
        return static_cast<long>(engine->inbound_.size() - engine->inbound_read_);
      case BIO_CTRL_WPENDING:
        return static_cast<long>(engine->PendingOutput());
      default:
        return 0;  // no kTLS, no EOF, nothing else supported
    }
  }
};

std::unique_ptr<Engine> Engine::Accept(std::shared_ptr<const ServerContext> context) {
  std::unique_ptr<Engine> engine(new Engine());
  SSL_CTX* ctx = context->ctx();
  engine->context_ = std::move(context);
  engine->Setup(ctx, /*server=*/true);
  return engine;
}

std::unique_ptr<Engine> Engine::Connect(std::shared_ptr<const ClientContext> context,
                                        std::string_view endpoint_host,
                                        std::string_view session_key) {
  std::unique_ptr<Engine> engine(new Engine());
  const ClientContext& client = *context;
  engine->context_ = std::move(context);
  if (!engine->Setup(client.ctx(), /*server=*/false)) return engine;
  engine->verify_name_ = std::string(client.NameFor(endpoint_host));
  engine->session_key_ = session_key.empty() ? engine->verify_name_ : std::string(session_key);
  const std::string& name = engine->verify_name_;
  if (name.empty() && client.verifies()) {
    engine->Fail("no server name to verify the upstream against (set server_name)");
    return engine;
  }
  ClearOpenSslErrors();
  SSL* ssl = engine->ssl_;
  const bool is_ip_address =
      !name.empty() && X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), name.c_str()) == 1;
  ClearOpenSslErrors();  // a host name is not an IP address: not an error
  if (!name.empty() && !is_ip_address) {
    // RFC 6066 §3: SNI carries host names only, never IP literals.
    if (SSL_set_tlsext_host_name(ssl, name.c_str()) != 1 || SSL_set1_host(ssl, name.c_str()) != 1) {
      engine->Fail("server name \"" + name + "\": " + TakeOpenSslError());
      return engine;
    }
    SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
  }
  ClientContext::SetSessionKey(ssl, &engine->session_key_);
  if (SSL_SESSION* session = client.FindSession(engine->session_key_); session != nullptr) {
    SSL_set_session(ssl, session);  // takes its own reference
    SSL_SESSION_free(session);
  }
  engine->DriveHandshake();
  return engine;
}

Engine::~Engine() {
  // OpenSSL marks the session of an SSL freed without a close_notify exchange as not
  // resumable (a truncation defence). An HTTP connection mostly ends without one (pool
  // eviction, idle timeout, the peer closing after its response), and that says nothing bad
  // about the session, so only a TLS failure (after which OpenSSL has already dropped the
  // session) should stop it being resumed, as nginx does.
  if (ssl_ != nullptr && !failed_)
    SSL_set_shutdown(ssl_, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
  SSL_free(ssl_);
}

bool Engine::Setup(SSL_CTX* ctx, bool server) {
  ClearOpenSslErrors();
  BIO_METHOD* method = EngineBio::Method();
  ssl_ = SSL_new(ctx);
  BIO* bio = method != nullptr ? BIO_new(method) : nullptr;
  if (ssl_ == nullptr || bio == nullptr) {
    BIO_free(bio);
    Fail("cannot set up a TLS connection: " + TakeOpenSslError("out of memory"));
    return false;
  }
  BIO_set_data(bio, this);
  SSL_set_bio(ssl_, bio, bio);  // one BIO both ways; the SSL owns it
  if (server) {
    SSL_set_accept_state(ssl_);
  } else {
    SSL_set_connect_state(ssl_);
  }
  return true;
}

void Engine::Receive(const char* data, std::size_t length) {
  if (failed_) return;
  CompactFront(inbound_, inbound_read_);
  inbound_.append(data, length);
}

long Engine::Read(char* out, std::size_t capacity) {
  if (failed_) return kFailed;
  if (peer_closed_) return kClosed;
  if (!handshake_done_ && !DriveHandshake()) return failed_ ? kFailed : 0;
  if (capacity == 0) return 0;
  ClearOpenSslErrors();
  std::size_t got = 0;
  const int result = SSL_read_ex(ssl_, out, capacity, &got);
  if (result == 1) return static_cast<long>(got);
  switch (const int error = SSL_get_error(ssl_, result)) {
    case SSL_ERROR_WANT_READ:
    case SSL_ERROR_WANT_WRITE:
      return 0;
    case SSL_ERROR_ZERO_RETURN:
      peer_closed_ = true;
      return kClosed;
    default:
      Fail(error, "read");
      return kFailed;
  }
}

bool Engine::DriveHandshake() {
  ClearOpenSslErrors();
  const int result = SSL_do_handshake(ssl_);
  if (result == 1) {
    OnHandshakeDone();
    return !failed_;
  }
  const int error = SSL_get_error(ssl_, result);
  if (error != SSL_ERROR_WANT_READ && error != SSL_ERROR_WANT_WRITE) Fail(error, "handshake");
  return false;
}

void Engine::OnHandshakeDone() {
  handshake_done_ = true;
  const X509* peer = SSL_get0_peer_certificate(ssl_);
  if (peer != nullptr && SSL_get_verify_result(ssl_) == X509_V_OK) {
    peer_subject_ = DescribeCertificate(peer, "").subject;
    peer_common_name_ = CommonName(peer);
  }
  SealBuffered(/*all=*/flush_pending_);
}

bool Engine::Write(const char* data, std::size_t length) {
  if (failed_ || shutdown_) return false;
  if (!handshake_done_) {
    plaintext_.append(data, length);
    return true;
  }
  // Invariant once open: plaintext_ holds less than one record.
  if (!plaintext_.empty()) {
    const std::size_t fill = std::min(length, kMaxRecordPlaintext - plaintext_.size());
    plaintext_.append(data, fill);
    data += fill;
    length -= fill;
    if (plaintext_.size() < kMaxRecordPlaintext) return true;
    if (!Seal(plaintext_.data(), plaintext_.size())) return false;
    Release(plaintext_);
  }
  // Whole records straight from the caller's buffer, without copying them in first.
  const std::size_t whole_records = length - length % kMaxRecordPlaintext;
  if (whole_records > 0 && !Seal(data, whole_records)) return false;
  plaintext_.append(data + whole_records, length - whole_records);
  return true;
}

void Engine::Flush() {
  if (failed_ || shutdown_) return;
  if (!handshake_done_) {
    flush_pending_ = !plaintext_.empty();
    return;
  }
  SealBuffered(/*all=*/true);
}

bool Engine::SealBuffered(bool all) {
  const std::size_t count =
      all ? plaintext_.size() : plaintext_.size() - plaintext_.size() % kMaxRecordPlaintext;
  if (all) flush_pending_ = false;
  if (count == 0) return true;
  if (!Seal(plaintext_.data(), count)) return false;
  plaintext_.erase(0, count);
  if (plaintext_.empty()) Release(plaintext_);
  return true;
}

bool Engine::Seal(const char* data, std::size_t length) {
  ClearOpenSslErrors();
  std::size_t written = 0;
  // Without SSL_MODE_ENABLE_PARTIAL_WRITE OpenSSL writes everything, in records of at most
  // kMaxRecordPlaintext, and our BIO never refuses bytes.
  const int result = SSL_write_ex(ssl_, data, length, &written);
  if (result != 1) {
    Fail(SSL_get_error(ssl_, result), "write");
    return false;
  }
  return true;
}

std::size_t Engine::TakeOutput(char* out, std::size_t capacity) {
  const std::size_t count = std::min(capacity, PendingOutput());
  std::memcpy(out, outbound_.data() + outbound_taken_, count);
  outbound_taken_ += count;
  if (outbound_taken_ == outbound_.size()) {
    Release(outbound_);
    outbound_taken_ = 0;
  }
  return count;
}

void Engine::Shutdown() {
  if (failed_ || shutdown_) return;
  if (!handshake_done_) {
    shutdown_ = true;
    Release(plaintext_);
    return;
  }
  if (!SealBuffered(/*all=*/true)) return;
  shutdown_ = true;
  ClearOpenSslErrors();
  SSL_shutdown(ssl_);  // 0 = close_notify queued, 1 = the peer's had arrived too
  ClearOpenSslErrors();
}

void Engine::Fail(int ssl_error, std::string_view during) {
  std::string message(during);
  message += ": ";
  if (ssl_error == SSL_ERROR_SYSCALL) {
    message += TakeOpenSslError("the transport failed");
  } else {
    message += TakeOpenSslError("unexpected state " + std::to_string(ssl_error));
  }
  // "certificate verify failed" alone does not tell an operator what to fix.
  if (const long verify = SSL_get_verify_result(ssl_); verify != X509_V_OK) {
    message += ": ";
    message += X509_verify_cert_error_string(verify);
    if (verify == X509_V_ERR_HOSTNAME_MISMATCH || verify == X509_V_ERR_IP_ADDRESS_MISMATCH) {
      message += " (expected \"" + verify_name_ + "\")";
    }
  }
  Fail(std::move(message));
}

void Engine::Fail(std::string message) {
  failed_ = true;
  error_ = std::move(message);
  Release(plaintext_);
  Release(inbound_);
  inbound_read_ = 0;
}

bool Engine::session_reused() const {
  return ssl_ != nullptr && SSL_session_reused(ssl_) == 1;
}

std::string_view Engine::alpn() const {
  if (ssl_ == nullptr) return {};
  const unsigned char* data = nullptr;
  unsigned int length = 0;
  SSL_get0_alpn_selected(ssl_, &data, &length);
  return std::string_view(reinterpret_cast<const char*>(data), length);
}

std::string_view Engine::version() const {
  return handshake_done_ ? SSL_get_version(ssl_) : std::string_view();
}

std::string_view Engine::cipher() const {
  if (!handshake_done_) return {};
  const SSL_CIPHER* current = SSL_get_current_cipher(ssl_);
  return current != nullptr ? SSL_CIPHER_get_name(current) : std::string_view();
}

std::string_view Engine::server_name() const {
  if (ssl_ == nullptr) return {};
  const char* name = SSL_get_servername(ssl_, TLSEXT_NAMETYPE_host_name);
  return name != nullptr ? std::string_view(name) : std::string_view();
}

}  // namespace cutover::tls
