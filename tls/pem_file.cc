#include "tls/pem_file.h"

#include <openssl/err.h>
#include <openssl/pem.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "tls/openssl_error.h"

namespace cutover::tls {
namespace {

UniqueBio MemoryReader(const std::string& text) {
  return UniqueBio(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
}

// PEM_read_bio_* would otherwise fall back to asking for a passphrase on the terminal.
int RefusePassphrase(char*, int, int, void*) {
  return -1;
}

// After the last block, PEM_read_bio_X509 fails with "no start line": the normal end of a file.
bool OnlyEndOfInputQueued() {
  const unsigned long code = ERR_peek_last_error();
  return ERR_GET_LIB(code) == ERR_LIB_PEM && ERR_GET_REASON(code) == PEM_R_NO_START_LINE;
}

}  // namespace

bool ReadPemFile(const std::string& path, std::string* text, std::string* error) {
  std::FILE* file = std::fopen(path.c_str(), "rb");
  if (file == nullptr) {
    *error = path + ": cannot read: " + std::strerror(errno);
    return false;
  }
  text->clear();
  char buffer[16384];
  std::size_t got = 0;
  while ((got = std::fread(buffer, 1, sizeof(buffer), file)) > 0) {
    text->append(buffer, got);
    if (text->size() > kMaxPemFileBytes) break;
  }
  const bool failed = std::ferror(file) != 0;
  const int read_errno = errno;
  std::fclose(file);
  if (failed) {
    *error = path + ": cannot read: " + std::strerror(read_errno);
    return false;
  }
  if (text->size() > kMaxPemFileBytes) {
    *error = path + ": larger than 16 MiB, not a PEM file";
    return false;
  }
  return true;
}

bool ParsePemCertificates(const std::string& path, const std::string& text,
                          std::vector<UniqueX509>* certificates, std::string* error) {
  certificates->clear();
  UniqueBio reader = MemoryReader(text);
  if (reader == nullptr) {
    *error = path + ": out of memory";
    return false;
  }
  ClearOpenSslErrors();
  while (
      UniqueX509 certificate{PEM_read_bio_X509(reader.get(), nullptr, RefusePassphrase, nullptr)}) {
    certificates->push_back(std::move(certificate));
  }
  if (!OnlyEndOfInputQueued()) {
    *error = path + ": certificate " + std::to_string(certificates->size() + 1) +
             " is malformed: " + TakeOpenSslError();
    return false;
  }
  ClearOpenSslErrors();
  if (certificates->empty()) {
    *error = path + ": no PEM certificate in it (expected \"-----BEGIN CERTIFICATE-----\")";
    return false;
  }
  return true;
}

UniqueEvpPkey ParsePemPrivateKey(const std::string& path, const std::string& text,
                                 std::string* error) {
  UniqueBio reader = MemoryReader(text);
  if (reader == nullptr) {
    *error = path + ": out of memory";
    return nullptr;
  }
  // OpenSSL 3's decoders say "No supported data to decode" for a missing, an encrypted and a
  // malformed key alike; the PEM labels tell them apart for the operator.
  if (text.find("PRIVATE KEY-----") == std::string::npos) {
    *error = path + ": no PEM private key in it (expected \"-----BEGIN PRIVATE KEY-----\")";
    return nullptr;
  }
  if (text.find("-----BEGIN ENCRYPTED PRIVATE KEY-----") != std::string::npos ||
      text.find("Proc-Type: 4,ENCRYPTED") != std::string::npos) {
    *error =
        path + ": private key is encrypted (cutover needs it unencrypted, readable by it only)";
    return nullptr;
  }
  ClearOpenSslErrors();
  UniqueEvpPkey key(PEM_read_bio_PrivateKey(reader.get(), nullptr, RefusePassphrase, nullptr));
  if (key == nullptr) *error = path + ": private key is malformed: " + TakeOpenSslError();
  return key;
}

}  // namespace cutover::tls
