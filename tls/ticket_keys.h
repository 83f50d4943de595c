// Session ticket keys (RFC 5077 / RFC 8446 §4.6.1) shared by every ServerContext built with
// them, so a client resumes across a certificate reload, and rotated so a stolen key opens
// only a bounded window of past sessions. Rotate(now) makes a new key that encrypts every
// ticket from then on and keeps the previous two to decrypt tickets issued under them; with a
// rotation every hour a ticket resumes for 2 to 3 hours (OpenSSL also refuses sessions older
// than the context's timeout, 2 hours by default).
//
// Threads: OnTicket runs in handshakes on any worker; Rotate runs on the main thread. A mutex
// guards the keys; it is taken once per issued or presented ticket, never per request.
// Ownership: held by shared_ptr; each ServerContext built with it keeps it alive.
#pragma once

#include <openssl/types.h>

#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>

namespace cutover::tls {

class TicketKeys {
 public:
  // Keys for decryption kept besides the one that encrypts.
  static constexpr std::size_t kPreviousKeysKept = 2;

  // Makes the first key. Time is a parameter (never read here) so tests and the main loop's
  // clock agree.
  explicit TicketKeys(int64_t now_unix);
  ~TicketKeys();
  TicketKeys(const TicketKeys&) = delete;
  TicketKeys& operator=(const TicketKeys&) = delete;

  // A new encryption key; the oldest beyond kPreviousKeysKept is wiped. False (keys unchanged)
  // if the random generator failed.
  bool Rotate(int64_t now_unix);

  // When the current key was made, for the caller's "rotate every N" decision.
  int64_t rotated_at_unix() const;
  std::size_t key_count() const;

  // Makes `ctx` encrypt and decrypt its tickets with these keys. The caller keeps this object
  // alive as long as `ctx` (ServerContext holds the shared_ptr).
  void AttachTo(SSL_CTX* ctx);

 private:
  struct Key {
    unsigned char name[16];  // sent in clear with the ticket, picks the key to decrypt it
    unsigned char aes_key[32];
    unsigned char hmac_key[32];
  };

  // The OpenSSL callback's body: 1 = done, 2 = decrypted with an old key (issue a new
  // ticket), 0 = unknown key (full handshake), -1 = error. Every TLS 1.3 resumption also gets a
  // new ticket (see OnTicketCallback).
  int OnTicket(unsigned char* key_name, unsigned char* iv, EVP_CIPHER_CTX* cipher, EVP_MAC_CTX* mac,
               bool encrypt);
  static int OnTicketCallback(SSL* ssl, unsigned char* key_name, unsigned char* iv,
                              EVP_CIPHER_CTX* cipher, EVP_MAC_CTX* mac, int encrypt);

  mutable std::mutex mutex_;
  std::deque<Key> keys_;  // front encrypts; all decrypt
  int64_t rotated_at_unix_ = 0;
};

}  // namespace cutover::tls
