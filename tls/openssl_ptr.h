// Owning pointers for the OpenSSL objects tls/ makes, so every early return on an error path
// frees what was built so far. Internal to tls/ (the rest of cutover never sees OpenSSL types
// beyond the opaque pointers in a few accessors).
#pragma once

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <memory>

namespace cutover::tls {

template <typename T, void (*Free)(T*)>
struct OpenSslFree {
  void operator()(T* object) const { Free(object); }
};

using UniqueBio = std::unique_ptr<BIO, OpenSslFree<BIO, BIO_free_all>>;
using UniqueEvpPkey = std::unique_ptr<EVP_PKEY, OpenSslFree<EVP_PKEY, EVP_PKEY_free>>;
using UniqueSsl = std::unique_ptr<SSL, OpenSslFree<SSL, SSL_free>>;
using UniqueSslCtx = std::unique_ptr<SSL_CTX, OpenSslFree<SSL_CTX, SSL_CTX_free>>;
using UniqueSslSession = std::unique_ptr<SSL_SESSION, OpenSslFree<SSL_SESSION, SSL_SESSION_free>>;
using UniqueX509 = std::unique_ptr<X509, OpenSslFree<X509, X509_free>>;
using UniqueX509Name = std::unique_ptr<X509_NAME, OpenSslFree<X509_NAME, X509_NAME_free>>;
using UniqueX509Store = std::unique_ptr<X509_STORE, OpenSslFree<X509_STORE, X509_STORE_free>>;

// STACK_OF(X509_NAME) is freed with its elements through a macro, hence a hand-written deleter.
struct X509NameStackFree {
  void operator()(STACK_OF(X509_NAME) * names) const {
    sk_X509_NAME_pop_free(names, X509_NAME_free);
  }
};
using UniqueX509NameStack = std::unique_ptr<STACK_OF(X509_NAME), X509NameStackFree>;

}  // namespace cutover::tls
