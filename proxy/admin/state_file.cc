#include "proxy/admin/state_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "proxy/admin/timestamp.h"
#include "tls/sha256.h"

namespace cutover::proxy::admin {
namespace {

// Far above any real routing state; stops a wrong --state path (a disk image, /dev/zero) from
// being read into memory.
constexpr off_t kMaxStateFileBytes = 64 << 20;

bool Fail(std::string* error, const std::string& what, const std::string& path, int errnum) {
  *error = what + " " + path + ": " + std::strerror(errnum);
  return false;
}

std::string DirectoryOf(const std::string& path) {
  const std::size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

bool WriteAll(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

bool FsyncDirectory(const std::string& directory, std::string* error) {
  const int fd = ::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Fail(error, "cannot open directory", directory, errno);
  const bool ok = ::fsync(fd) == 0;
  const int saved = errno;
  ::close(fd);
  if (!ok) return Fail(error, "cannot fsync directory", directory, saved);
  return true;
}

// The checksum covers the compact dump: nlohmann::json keeps object keys sorted and prints
// numbers in their shortest round-trip form, so a parsed state dumps to the same bytes that were
// hashed. Invalid UTF-8 is replaced on both sides rather than thrown on.
std::string CompactText(const nlohmann::json& state) {
  return state.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string ChecksumOf(std::string_view compact_text) {
  char hex[64];
  tls::Sha256Hex(compact_text, hex);
  return std::string(hex, sizeof(hex));
}

}  // namespace

bool WriteStateFileAtomically(const std::string& path, std::string_view contents,
                              std::string* error) {
  // The pid keeps two processes pointed at one state path (a mistake, but possible) from
  // writing into each other's temporary file.
  const std::string temp = path + ".tmp." + std::to_string(::getpid());
  const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return Fail(error, "cannot create", temp, errno);
  const char* step = nullptr;
  if (!WriteAll(fd, contents)) {
    step = "cannot write";
  } else if (::fsync(fd) != 0) {
    step = "cannot fsync";
  }
  int saved = errno;
  // close() can report a deferred write error (NFS), so its result counts too.
  if (::close(fd) != 0 && step == nullptr) {
    step = "cannot close";
    saved = errno;
  }
  if (step == nullptr && ::rename(temp.c_str(), path.c_str()) != 0) {
    step = "cannot rename into place";
    saved = errno;
  }
  if (step != nullptr) {
    ::unlink(temp.c_str());
    return Fail(error, step, temp, saved);
  }
  return FsyncDirectory(DirectoryOf(path), error);
}

std::optional<std::string> ReadStateFile(const std::string& path, std::string* error) {
  error->clear();
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno != ENOENT) Fail(error, "cannot open", path, errno);
    return std::nullopt;
  }
  struct stat info;
  if (::fstat(fd, &info) != 0) {
    Fail(error, "cannot stat", path, errno);
    ::close(fd);
    return std::nullopt;
  }
  if (!S_ISREG(info.st_mode) || info.st_size > kMaxStateFileBytes) {
    *error = "state file " + path +
             (S_ISREG(info.st_mode) ? " is larger than 64 MiB" : " is not a regular file");
    ::close(fd);
    return std::nullopt;
  }
  std::string text;
  char buffer[16384];
  while (true) {
    const ssize_t n = ::read(fd, buffer, sizeof(buffer));
    if (n == 0) break;
    if (n < 0) {
      if (errno == EINTR) continue;
      const int saved = errno;
      ::close(fd);
      Fail(error, "cannot read", path, saved);
      return std::nullopt;
    }
    text.append(buffer, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return text;
}

std::string WrapCompactState(std::string_view compact_state, int64_t unix_ms) {
  // Written by hand, in the documented field order, so the state (which carries the whole
  // history) is serialised once per change and not re-parsed to be indented.
  std::string text;
  text.reserve(compact_state.size() + 192);
  text += "{\n  \"format\": ";
  text += std::to_string(kStateFileFormat);
  text += ",\n  \"written_at\": \"";
  text += FormatRfc3339Millis(unix_ms);
  text += "\",\n  \"checksum\": \"";
  text += ChecksumOf(compact_state);
  text += "\",\n  \"state\": ";
  text += compact_state;
  text += "\n}\n";
  return text;
}

std::string WrapState(const nlohmann::json& state, int64_t unix_ms) {
  return WrapCompactState(CompactText(state), unix_ms);
}

std::string WrapState(const nlohmann::json& state) {
  return WrapState(state, UnixMillisNow());
}

bool UnwrapState(std::string_view file_text, nlohmann::json* state, std::string* error) {
  nlohmann::json envelope;
  try {
    envelope = nlohmann::json::parse(file_text);
  } catch (const nlohmann::json::parse_error& parse_error) {
    // Only the position: the parser's message quotes file bytes, and the state may hold a salt.
    *error = "state file is not valid JSON (at byte " + std::to_string(parse_error.byte) +
             "); the file is corrupt";
    return false;
  } catch (const nlohmann::json::exception&) {
    // out_of_range: a number too large for a double (a flipped exponent digit, say).
    *error = "state file holds a number out of range; the file is corrupt";
    return false;
  }
  if (!envelope.is_object()) {
    *error = "state file is not a JSON object";
    return false;
  }
  const auto format = envelope.find("format");
  if (format == envelope.end() || !format->is_number_integer()) {
    *error = "state file has no \"format\" number";
    return false;
  }
  if (*format != kStateFileFormat) {
    *error = "state file has format " + format->dump() + "; this build reads format " +
             std::to_string(kStateFileFormat);
    return false;
  }
  const auto checksum = envelope.find("checksum");
  if (checksum == envelope.end() || !checksum->is_string()) {
    *error = "state file has no \"checksum\" string";
    return false;
  }
  const auto found = envelope.find("state");
  if (found == envelope.end()) {
    *error = "state file has no \"state\"";
    return false;
  }
  if (ChecksumOf(CompactText(*found)) != checksum->get<std::string>()) {
    *error = "state file checksum mismatch: the file is corrupt or was edited by hand";
    return false;
  }
  *state = *found;
  return true;
}

}  // namespace cutover::proxy::admin
