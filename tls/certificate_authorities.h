// A CA bundle read from one PEM file: the trust store peers are verified against (client
// certificates on the admin listener, upstream servers) and, for a server, the CA names sent in
// the CertificateRequest. Read once and shared by every SSL_CTX built from one config, so all
// of them trust exactly the same file contents. Immutable once loaded; X509_STORE lookups are
// thread-safe, so any worker may verify against it.
#pragma once

#include <memory>
#include <string>

#include "tls/openssl_ptr.h"

namespace cutover::tls {

class CertificateAuthorities {
 public:
  // nullptr with "FILE: what is wrong" if the file is unreadable, holds no PEM certificate or
  // a malformed one.
  static std::unique_ptr<const CertificateAuthorities> Load(const std::string& file,
                                                            std::string* error);

  // Verify peers of `ctx` against this bundle (the store is shared, not copied).
  bool InstallTrustInto(SSL_CTX* ctx, std::string* error) const;
  // Name these CAs in the server's CertificateRequest (a copy per context).
  bool InstallClientCaNamesInto(SSL_CTX* ctx, std::string* error) const;

  const std::string& file() const { return file_; }
  // SHA-256 of the file's bytes: a server binds its session ID context to it, so a session
  // made under one client CA bundle never resumes under another (its peer was never verified
  // against the new one).
  const std::string& digest() const { return digest_; }

 private:
  CertificateAuthorities() = default;

  std::string file_;
  std::string digest_;
  UniqueX509Store store_;
  UniqueX509NameStack names_;
};

}  // namespace cutover::tls
