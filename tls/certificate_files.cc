#include "tls/certificate_files.h"

#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <cctype>
#include <ctime>

#include "tls/openssl_error.h"
#include "tls/pem_file.h"

namespace cutover::tls {
namespace {

std::string Utf8Text(const ASN1_STRING* text) {
  unsigned char* utf8 = nullptr;
  const int length = ASN1_STRING_to_UTF8(&utf8, text);
  if (length < 0) return "";
  std::string result(reinterpret_cast<const char*>(utf8), static_cast<std::size_t>(length));
  OPENSSL_free(utf8);
  return result;
}

std::string Lowercase(std::string text) {
  for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

std::vector<std::string> DnsNames(const X509* certificate) {
  std::vector<std::string> names;
  auto* alt_names = static_cast<GENERAL_NAMES*>(
      X509_get_ext_d2i(certificate, NID_subject_alt_name, nullptr, nullptr));
  if (alt_names != nullptr) {
    for (int i = 0; i < sk_GENERAL_NAME_num(alt_names); ++i) {
      const GENERAL_NAME* name = sk_GENERAL_NAME_value(alt_names, i);
      if (name->type == GEN_DNS) names.push_back(Lowercase(Utf8Text(name->d.dNSName)));
    }
    GENERAL_NAMES_free(alt_names);
  }
  if (!names.empty()) return names;
  // RFC 6125 §6.4.4: the CN counts only when there is no DNS subjectAltName.
  if (std::string common_name = CommonName(certificate); !common_name.empty()) {
    names.push_back(Lowercase(std::move(common_name)));
  }
  return names;
}

std::string Rfc2253(const X509_NAME* name) {
  UniqueBio out(BIO_new(BIO_s_mem()));
  if (out == nullptr || X509_NAME_print_ex(out.get(), name, 0, XN_FLAG_RFC2253) < 0) return "";
  char* data = nullptr;
  const long length = BIO_get_mem_data(out.get(), &data);
  return std::string(data, static_cast<std::size_t>(length));
}

int64_t UnixTime(const ASN1_TIME* time) {
  std::tm fields{};
  if (time == nullptr || ASN1_TIME_to_tm(time, &fields) != 1) return 0;
  return static_cast<int64_t>(timegm(&fields));
}

}  // namespace

std::string CommonName(const X509* certificate) {
  const X509_NAME* subject = X509_get_subject_name(certificate);
  const int index = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
  if (index < 0) return "";
  return Utf8Text(X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, index)));
}

CertificateInfo DescribeCertificate(const X509* certificate, const std::string& file) {
  CertificateInfo info;
  info.file = file;
  info.names = DnsNames(certificate);
  info.not_before_unix = UnixTime(X509_get0_notBefore(certificate));
  info.not_after_unix = UnixTime(X509_get0_notAfter(certificate));
  info.subject = Rfc2253(X509_get_subject_name(certificate));
  return info;
}

std::unique_ptr<const LoadedCertificate> LoadedCertificate::Load(const CertificateFiles& files,
                                                                 std::string* error) {
  std::string cert_text;
  std::string key_text;
  if (!ReadPemFile(files.cert_file, &cert_text, error)) return nullptr;
  if (!ReadPemFile(files.key_file, &key_text, error)) return nullptr;

  std::unique_ptr<LoadedCertificate> loaded(new LoadedCertificate());
  loaded->files_ = files;
  std::vector<UniqueX509> certificates;
  if (!ParsePemCertificates(files.cert_file, cert_text, &certificates, error)) return nullptr;
  loaded->key_ = ParsePemPrivateKey(files.key_file, key_text, error);
  OPENSSL_cleanse(key_text.data(), key_text.size());
  if (loaded->key_ == nullptr) return nullptr;

  loaded->leaf_ = std::move(certificates.front());
  for (std::size_t i = 1; i < certificates.size(); ++i) {
    loaded->chain_.push_back(std::move(certificates[i]));
  }
  ClearOpenSslErrors();
  if (X509_check_private_key(loaded->leaf_.get(), loaded->key_.get()) != 1) {
    ClearOpenSslErrors();
    *error = files.key_file + ": private key does not match the certificate in " + files.cert_file;
    return nullptr;
  }
  loaded->info_ = DescribeCertificate(loaded->leaf_.get(), files.cert_file);
  return loaded;
}

bool LoadedCertificate::InstallInto(SSL_CTX* ctx, std::string* error) const {
  ClearOpenSslErrors();
  if (SSL_CTX_use_certificate(ctx, leaf_.get()) != 1) {
    *error = files_.cert_file + ": " + TakeOpenSslError();
    return false;
  }
  for (const UniqueX509& intermediate : chain_) {
    if (SSL_CTX_add1_chain_cert(ctx, intermediate.get()) != 1) {
      *error = files_.cert_file + ": chain: " + TakeOpenSslError();
      return false;
    }
  }
  if (SSL_CTX_use_PrivateKey(ctx, key_.get()) != 1 || SSL_CTX_check_private_key(ctx) != 1) {
    *error = files_.key_file + ": " + TakeOpenSslError();
    return false;
  }
  return true;
}

}  // namespace cutover::tls
