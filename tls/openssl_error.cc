#include "tls/openssl_error.h"

#include <openssl/err.h>

namespace cutover::tls {

void ClearOpenSslErrors() {
  ERR_clear_error();
}

std::string TakeOpenSslError(std::string_view when_empty) {
  const char* data = nullptr;
  int flags = 0;
  // OpenSSL pushes the innermost failure first; the ones after it only say which outer
  // function gave up, so the first is the one an operator can act on.
  unsigned long code = ERR_get_error_all(nullptr, nullptr, nullptr, &data, &flags);
  if (code == 0) return std::string(when_empty);
  std::string message;
  if (const char* reason = ERR_reason_error_string(code); reason != nullptr) {
    message = reason;
  } else {
    char buffer[256];
    ERR_error_string_n(code, buffer, sizeof(buffer));
    message = buffer;
  }
  if ((flags & ERR_TXT_STRING) != 0 && data != nullptr && data[0] != '\0') {
    message += ": ";
    message += data;
  }
  ERR_clear_error();
  return message;
}

}  // namespace cutover::tls
