// PEM files read for the loaders (certificate chains, private keys, CA bundles). A file is read
// whole in one go and parsed from memory, so a file replaced during a reload is seen either
// entirely old or entirely new; every error is one line that starts with the file's path.
// Pure functions, any thread.
#pragma once

#include <string>
#include <vector>

#include "tls/openssl_ptr.h"

namespace cutover::tls {

// Larger than any sane certificate bundle; a bigger file is a mistake in the config.
inline constexpr std::size_t kMaxPemFileBytes = 16 * 1024 * 1024;

// The file's bytes into `text`; false with "PATH: cannot read: reason" otherwise.
bool ReadPemFile(const std::string& path, std::string* text, std::string* error);

// Every certificate in `text`, in file order (other PEM blocks, such as a key, are skipped).
// False with an error naming `path` when there is none or one of them is malformed.
bool ParsePemCertificates(const std::string& path, const std::string& text,
                          std::vector<UniqueX509>* certificates, std::string* error);

// The first private key in `text` (other blocks skipped). Encrypted keys are refused rather
// than prompting for a passphrase on the terminal, which a daemon must never do.
UniqueEvpPkey ParsePemPrivateKey(const std::string& path, const std::string& text,
                                 std::string* error);

}  // namespace cutover::tls
