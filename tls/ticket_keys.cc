#include "tls/ticket_keys.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>

#include <cstring>

namespace cutover::tls {
namespace {

// Where each SSL_CTX keeps its TicketKeys*, for the callback (which gets only the SSL).
int TicketKeysIndex() {
  static const int index = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

// The cipher and MAC OpenSSL's own ticket keys use: AES-256-CBC then HMAC-SHA256.
bool SetMacKey(EVP_MAC_CTX* mac, unsigned char* key, std::size_t length) {
  char digest[] = "SHA256";
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_KEY, key, length),
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
      OSSL_PARAM_construct_end(),
  };
  return EVP_MAC_CTX_set_params(mac, params) == 1;
}

}  // namespace

TicketKeys::TicketKeys(int64_t now_unix) {
  Rotate(now_unix);
}

TicketKeys::~TicketKeys() {
  for (Key& key : keys_) OPENSSL_cleanse(&key, sizeof(key));
}

bool TicketKeys::Rotate(int64_t now_unix) {
  Key key;
  if (RAND_bytes(key.name, sizeof(key.name)) != 1 ||
      RAND_priv_bytes(key.aes_key, sizeof(key.aes_key)) != 1 ||
      RAND_priv_bytes(key.hmac_key, sizeof(key.hmac_key)) != 1) {
    OPENSSL_cleanse(&key, sizeof(key));
    return false;
  }
  std::lock_guard lock(mutex_);
  keys_.push_front(key);
  OPENSSL_cleanse(&key, sizeof(key));
  while (keys_.size() > 1 + kPreviousKeysKept) {
    OPENSSL_cleanse(&keys_.back(), sizeof(Key));
    keys_.pop_back();
  }
  rotated_at_unix_ = now_unix;
  return true;
}

int64_t TicketKeys::rotated_at_unix() const {
  std::lock_guard lock(mutex_);
  return rotated_at_unix_;
}

std::size_t TicketKeys::key_count() const {
  std::lock_guard lock(mutex_);
  return keys_.size();
}

void TicketKeys::AttachTo(SSL_CTX* ctx) {
  SSL_CTX_set_ex_data(ctx, TicketKeysIndex(), this);
  SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx, &TicketKeys::OnTicketCallback);
}

int TicketKeys::OnTicketCallback(SSL* ssl, unsigned char* key_name, unsigned char* iv,
                                 EVP_CIPHER_CTX* cipher, EVP_MAC_CTX* mac, int encrypt) {
  auto* keys =
      static_cast<TicketKeys*>(SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), TicketKeysIndex()));
  if (keys == nullptr) return -1;
  const int result = keys->OnTicket(key_name, iv, cipher, mac, encrypt != 0);
  // TLS 1.3 clients use a ticket once (RFC 8446 §C.4; OpenSSL's client marks it spent), and
  // OpenSSL's server sends a new one after a resumption only when told to renew: without this
  // a client could resume once, then pay a full handshake.
  if (encrypt == 0 && result == 1 && SSL_version(ssl) == TLS1_3_VERSION) return 2;
  return result;
}

int TicketKeys::OnTicket(unsigned char* key_name, unsigned char* iv, EVP_CIPHER_CTX* cipher,
                         EVP_MAC_CTX* mac, bool encrypt) {
  // A copy, so the lock is not held during the cipher set-up.
  Key key;
  bool current = true;
  {
    std::lock_guard lock(mutex_);
    if (keys_.empty()) return encrypt ? -1 : 0;
    const Key* found = nullptr;
    if (encrypt) {
      found = &keys_.front();
    } else {
      for (const Key& candidate : keys_) {
        if (std::memcmp(candidate.name, key_name, sizeof(candidate.name)) == 0) {
          found = &candidate;
          break;
        }
      }
      if (found == nullptr) return 0;  // rotated out, or another cluster's: full handshake
      current = found == &keys_.front();
    }
    key = *found;
  }
  int result = -1;
  if (encrypt) {
    std::memcpy(key_name, key.name, sizeof(key.name));
    const int iv_length = EVP_CIPHER_get_iv_length(EVP_aes_256_cbc());
    if (RAND_bytes(iv, iv_length) == 1 &&
        EVP_EncryptInit_ex(cipher, EVP_aes_256_cbc(), nullptr, key.aes_key, iv) == 1 &&
        SetMacKey(mac, key.hmac_key, sizeof(key.hmac_key))) {
      result = 1;
    }
  } else if (SetMacKey(mac, key.hmac_key, sizeof(key.hmac_key)) &&
             EVP_DecryptInit_ex(cipher, EVP_aes_256_cbc(), nullptr, key.aes_key, iv) == 1) {
    // An old key still decrypts, but the client gets a fresh ticket under the current one.
    result = current ? 1 : 2;
  }
  OPENSSL_cleanse(&key, sizeof(key));
  return result;
}

}  // namespace cutover::tls
