#include "tls/certificate_authorities.h"

#include <openssl/evp.h>
#include <openssl/ssl.h>

#include <vector>

#include "tls/openssl_error.h"
#include "tls/pem_file.h"

namespace cutover::tls {

std::unique_ptr<const CertificateAuthorities> CertificateAuthorities::Load(const std::string& file,
                                                                           std::string* error) {
  std::string text;
  std::vector<UniqueX509> certificates;
  if (!ReadPemFile(file, &text, error)) return nullptr;
  if (!ParsePemCertificates(file, text, &certificates, error)) return nullptr;

  std::unique_ptr<CertificateAuthorities> authorities(new CertificateAuthorities());
  authorities->file_ = file;
  authorities->store_.reset(X509_STORE_new());
  authorities->names_.reset(sk_X509_NAME_new_null());
  if (authorities->store_ == nullptr || authorities->names_ == nullptr) {
    *error = file + ": out of memory";
    return nullptr;
  }
  ClearOpenSslErrors();
  for (const UniqueX509& certificate : certificates) {
    if (X509_STORE_add_cert(authorities->store_.get(), certificate.get()) != 1) {
      *error = file + ": " + TakeOpenSslError();
      return nullptr;
    }
    UniqueX509Name name(X509_NAME_dup(X509_get_subject_name(certificate.get())));
    if (name == nullptr || sk_X509_NAME_push(authorities->names_.get(), name.get()) == 0) {
      *error = file + ": out of memory";
      return nullptr;
    }
    name.release();  // the stack owns it now
  }
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int digest_length = 0;
  if (EVP_Digest(text.data(), text.size(), digest, &digest_length, EVP_sha256(), nullptr) != 1) {
    *error = file + ": " + TakeOpenSslError();
    return nullptr;
  }
  authorities->digest_.assign(reinterpret_cast<const char*>(digest), digest_length);
  return authorities;
}

bool CertificateAuthorities::InstallTrustInto(SSL_CTX* ctx, std::string* error) const {
  ClearOpenSslErrors();
  if (SSL_CTX_set1_verify_cert_store(ctx, store_.get()) != 1) {
    *error = file_ + ": " + TakeOpenSslError();
    return false;
  }
  return true;
}

bool CertificateAuthorities::InstallClientCaNamesInto(SSL_CTX* ctx, std::string* error) const {
  STACK_OF(X509_NAME)* copy = SSL_dup_CA_list(names_.get());
  if (copy == nullptr) {
    *error = file_ + ": out of memory";
    return false;
  }
  SSL_CTX_set_client_CA_list(ctx, copy);  // takes ownership
  return true;
}

}  // namespace cutover::tls
