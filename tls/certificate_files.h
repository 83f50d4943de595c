// A certificate chain and its private key, named by PEM file paths, read and checked to belong
// together; and what an operator wants to know about a certificate (names, expiry) for logs,
// the admin API and cutover_tls_cert_expiry_timestamp_seconds. Used by ServerContext (one per
// served certificate) and ClientContext (the optional client certificate for mTLS). A
// LoadedCertificate is immutable once loaded; any thread may read it.
#pragma once

#include <openssl/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "tls/openssl_ptr.h"

namespace cutover::tls {

// PEM files; the certificate file may hold the chain after the leaf (leaf first, as served),
// and may be the same file as the key.
struct CertificateFiles {
  std::string cert_file{};
  std::string key_file{};
};

struct CertificateInfo {
  std::string file;                // the certificate file it came from
  std::vector<std::string> names;  // subjectAltName DNS names, else the subject's CN
  int64_t not_before_unix = 0;
  int64_t not_after_unix = 0;  // expired certificates load (an operator may need them for a
                               // while); callers compare with their clock and warn
  std::string subject;         // RFC 2253, e.g. "CN=example.com,O=Example"
};

// Names, validity and subject of `certificate`.
CertificateInfo DescribeCertificate(const X509* certificate, const std::string& file);

// The subject's (first) common name, "" without one.
std::string CommonName(const X509* certificate);

class LoadedCertificate {
 public:
  // Reads both files; nullptr with a one-line error naming the file on: unreadable file, no
  // PEM certificate or key in it, a malformed certificate, an encrypted key, or a key that
  // does not match the leaf certificate.
  static std::unique_ptr<const LoadedCertificate> Load(const CertificateFiles& files,
                                                       std::string* error);

  // Makes `ctx` present this certificate, its chain and key (references are shared, not
  // copied). False with an error naming the file if OpenSSL refuses it, e.g. an RSA key under
  // 2048 bits at security level 2.
  bool InstallInto(SSL_CTX* ctx, std::string* error) const;

  const CertificateInfo& info() const { return info_; }
  const CertificateFiles& files() const { return files_; }

 private:
  LoadedCertificate() = default;

  CertificateFiles files_;
  UniqueX509 leaf_;
  std::vector<UniqueX509> chain_;  // intermediates, in file order
  UniqueEvpPkey key_;
  CertificateInfo info_;
};

}  // namespace cutover::tls
