// Keys and certificates made in the test with the OpenSSL API, never checked-in files that
// expire: a self-signed CA and leaf certificates for given names signed by it (optionally
// expired), written as PEM into a TempDir. EC P-256 keys, so making them is fast.
#pragma once

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "tests/unit/support/temp_dir.h"
#include "tls/certificate_files.h"

namespace cutover::testing {

struct LeafOptions {
  std::string common_name = "leaf";
  std::vector<std::string> dns_names{};     // subjectAltName DNS entries
  std::vector<std::string> ip_addresses{};  // subjectAltName IP entries
  bool expired = false;                     // valid from 10 days ago until yesterday
  bool client = false;                      // extendedKeyUsage clientAuth instead of serverAuth
  bool include_ca_in_chain = false;         // append the CA certificate after the leaf
  const char* key_passphrase = nullptr;     // write the key encrypted with it
};

namespace detail {

struct PkeyFree {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
struct X509Free {
  void operator()(X509* certificate) const { X509_free(certificate); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;
using Certificate = std::unique_ptr<X509, X509Free>;

inline Pkey NewKey() {
  return Pkey(EVP_EC_gen("P-256"));
}

inline void AddExtension(X509* certificate, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX context;
  X509V3_set_ctx_nodb(&context);
  X509V3_set_ctx(&context, issuer, certificate, nullptr, nullptr, 0);
  X509_EXTENSION* extension = X509V3_EXT_conf_nid(nullptr, &context, nid, value.c_str());
  ASSERT_NE(extension, nullptr) << value;
  X509_add_ext(certificate, extension, -1);
  X509_EXTENSION_free(extension);
}

inline Certificate NewCertificate(EVP_PKEY* key, const std::string& common_name, bool expired) {
  static long serial = 1;
  Certificate certificate(X509_new());
  X509_set_version(certificate.get(), 2);  // v3
  ASN1_INTEGER_set(X509_get_serialNumber(certificate.get()), serial++);
  const long day = 24 * 3600;
  X509_gmtime_adj(X509_getm_notBefore(certificate.get()), expired ? -10 * day : -day);
  X509_gmtime_adj(X509_getm_notAfter(certificate.get()), expired ? -day : 30 * day);
  X509_set_pubkey(certificate.get(), key);
  X509_NAME* name = X509_get_subject_name(certificate.get());
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("cutover tests"), -1, -1, 0);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(common_name.c_str()), -1, -1,
                             0);
  return certificate;
}

inline void WritePem(const std::string& path, X509* certificate, bool append = false) {
  std::FILE* file = std::fopen(path.c_str(), append ? "ab" : "wb");
  ASSERT_NE(file, nullptr) << path;
  PEM_write_X509(file, certificate);
  std::fclose(file);
}

inline void WriteKey(const std::string& path, EVP_PKEY* key, const char* passphrase = nullptr) {
  std::FILE* file = std::fopen(path.c_str(), "wb");
  ASSERT_NE(file, nullptr) << path;
  if (passphrase != nullptr) {
    PEM_write_PrivateKey(file, key, EVP_aes_256_cbc(), nullptr, 0, nullptr,
                         const_cast<char*>(passphrase));
  } else {
    PEM_write_PrivateKey(file, key, nullptr, nullptr, 0, nullptr, nullptr);
  }
  std::fclose(file);
}

}  // namespace detail

class TestCertificateAuthority {
 public:
  explicit TestCertificateAuthority(const std::string& common_name = "cutover test CA")
      : key_(detail::NewKey()),
        certificate_(detail::NewCertificate(key_.get(), common_name,
                                            /*expired=*/false)) {
    X509* ca = certificate_.get();
    X509_set_issuer_name(ca, X509_get_subject_name(ca));
    detail::AddExtension(ca, ca, NID_basic_constraints, "critical,CA:TRUE");
    detail::AddExtension(ca, ca, NID_key_usage, "critical,keyCertSign,cRLSign");
    detail::AddExtension(ca, ca, NID_subject_key_identifier, "hash");
    X509_sign(ca, key_.get(), EVP_sha256());
  }

  // The CA certificate as a PEM bundle at `path` (for ca_file / client_ca_file); returns it.
  std::string WriteCertificate(const std::string& path) const {
    detail::WritePem(path, certificate_.get());
    return path;
  }

  // A leaf signed by this CA: `dir`/`stem`.pem (leaf, then the CA if asked) and `stem`.key.
  tls::CertificateFiles IssueLeaf(const TempDir& dir, const std::string& stem,
                                  const LeafOptions& options) const {
    detail::Pkey key = detail::NewKey();
    detail::Certificate leaf =
        detail::NewCertificate(key.get(), options.common_name, options.expired);
    X509_set_issuer_name(leaf.get(), X509_get_subject_name(certificate_.get()));
    std::string alt_names;
    for (const std::string& name : options.dns_names) {
      alt_names += (alt_names.empty() ? "DNS:" : ",DNS:") + name;
    }
    for (const std::string& address : options.ip_addresses) {
      alt_names += (alt_names.empty() ? "IP:" : ",IP:") + address;
    }
    if (!alt_names.empty()) {
      detail::AddExtension(leaf.get(), certificate_.get(), NID_subject_alt_name, alt_names);
    }
    detail::AddExtension(leaf.get(), certificate_.get(), NID_basic_constraints, "CA:FALSE");
    detail::AddExtension(leaf.get(), certificate_.get(), NID_ext_key_usage,
                         options.client ? "clientAuth" : "serverAuth");
    detail::AddExtension(leaf.get(), certificate_.get(), NID_authority_key_identifier,
                         "keyid:always");
    X509_sign(leaf.get(), key_.get(), EVP_sha256());

    tls::CertificateFiles files{dir.File(stem + ".pem"), dir.File(stem + ".key")};
    detail::WritePem(files.cert_file, leaf.get());
    if (options.include_ca_in_chain) {
      detail::WritePem(files.cert_file, certificate_.get(), /*append=*/true);
    }
    detail::WriteKey(files.key_file, key.get(), options.key_passphrase);
    return files;
  }

 private:
  detail::Pkey key_;
  detail::Certificate certificate_;
};

}  // namespace cutover::testing
