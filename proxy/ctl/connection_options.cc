#include "proxy/ctl/connection_options.h"

#include <cmath>
#include <fstream>
#include <sstream>
#include <utility>

#include "proxy/ctl/hash_token.h"

namespace cutover::proxy::ctl {
namespace {

bool Fail(std::string* error, std::string message) {
  *error = std::move(message);
  return false;
}

std::string Env(const GetEnv& getenv, const char* name) {
  const char* value = getenv(name);
  return value == nullptr ? std::string() : std::string(value);
}

// A header value may hold visible ASCII, spaces, tabs and obs-text (RFC 9110 §5.5); CR and LF
// would end the field early, which is how header injection works.
bool IsHeaderSafe(std::string_view value) {
  for (char c : value) {
    const auto byte = static_cast<unsigned char>(c);
    if ((byte < 0x20 && byte != '\t') || byte == 0x7f) return false;
  }
  return true;
}

// A bearer token is token68 (RFC 6750 §2.1), so no spaces either.
bool IsTokenSafe(std::string_view token) {
  for (char c : token) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte <= 0x20 || byte >= 0x7f) return false;
  }
  return true;
}

bool ReadTokenFile(const std::string& path, std::string* token, std::string* error) {
  std::ifstream file(path, std::ios::binary);
  if (!file) return Fail(error, "--token-file " + path + ": cannot be read");
  std::ostringstream text;
  text << file.rdbuf();
  *token = FirstLine(text.str());
  // Editors and `echo` leave trailing blanks; a token never has any.
  while (!token->empty() && (token->back() == ' ' || token->back() == '\t')) token->pop_back();
  if (token->empty()) return Fail(error, "--token-file " + path + ": the first line is empty");
  return true;
}

bool ResolveAddress(const GlobalFlags& flags, const GetEnv& getenv, AdminAddress* out,
                    std::string* error) {
  if (!flags.url.empty() && !flags.socket.empty()) {
    return Fail(error, "give --socket or --url, not both");
  }
  std::string url = flags.url;
  std::string socket = flags.socket;
  if (url.empty() && socket.empty()) {
    url = Env(getenv, "CUTOVER_URL");
    if (url.empty()) socket = Env(getenv, "CUTOVER_SOCKET");
    if (url.empty() && socket.empty()) socket = kDefaultSocket;
  }
  if (!url.empty()) return ParseAdminUrl(url, out, error);
  *out = AdminAddress{.unix_path = socket, .host = "", .port = ""};
  return true;
}

bool ResolveToken(const GlobalFlags& flags, const GetEnv& getenv, std::string* token,
                  std::string* error) {
  if (!flags.token.empty() && !flags.token_file.empty()) {
    return Fail(error, "give --token or --token-file, not both");
  }
  if (!flags.token.empty()) {
    *token = flags.token;
  } else if (!flags.token_file.empty()) {
    if (!ReadTokenFile(flags.token_file, token, error)) return false;
  } else {
    *token = Env(getenv, "CUTOVER_TOKEN");
  }
  if (!IsTokenSafe(*token)) {
    return Fail(error, "the token has a space or a control or non-ASCII character");
  }
  return true;
}

// The TLS files of an https:// address; flags for any other address are a mistake worth
// saying, the variables are just not for it.
bool ResolveTlsFiles(const GlobalFlags& flags, const GetEnv& getenv, Connection* out,
                     std::string* error) {
  const bool flagged = !flags.cacert.empty() || !flags.cert.empty() || !flags.key.empty();
  if (!out->address.tls) {
    return !flagged || Fail(error, "--cacert, --cert and --key are for an https:// --url");
  }
  out->ca_file = !flags.cacert.empty() ? flags.cacert : Env(getenv, "CUTOVER_CACERT");
  // A certificate and its key come from one place: a --cert flag with a $CUTOVER_KEY from
  // another setup would fail in a confusing way.
  if (!flags.cert.empty() || !flags.key.empty()) {
    out->cert_file = flags.cert;
    out->key_file = flags.key;
  } else {
    out->cert_file = Env(getenv, "CUTOVER_CERT");
    out->key_file = Env(getenv, "CUTOVER_KEY");
  }
  if (out->cert_file.empty() != out->key_file.empty()) {
    return Fail(error,
                "a client certificate needs its key: give --cert and --key together (or "
                "CUTOVER_CERT and CUTOVER_KEY)");
  }
  return true;
}

}  // namespace

bool ResolveConnection(const GlobalFlags& flags, const GetEnv& getenv, Connection* out,
                       std::string* error) {
  Connection result;
  if (!ResolveAddress(flags, getenv, &result.address, error)) return false;
  if (!ResolveTlsFiles(flags, getenv, &result, error)) return false;
  if (!ResolveToken(flags, getenv, &result.token, error)) return false;
  if (flags.reason.size() > kMaxReasonBytes) {
    return Fail(error, "--reason is longer than " + std::to_string(kMaxReasonBytes) + " bytes");
  }
  if (!IsHeaderSafe(flags.reason)) return Fail(error, "--reason has a control character");
  result.reason = flags.reason;
  // Whole milliseconds, at least one; a day is more than any admin call can need.
  if (!(flags.timeout_seconds > 0 && flags.timeout_seconds <= 86'400)) {
    return Fail(error, "--timeout must be more than 0 and at most 86400 seconds");
  }
  result.timeout =
      std::chrono::milliseconds(std::max<int64_t>(1, std::llround(flags.timeout_seconds * 1000.0)));
  *out = std::move(result);
  return true;
}

}  // namespace cutover::proxy::ctl
