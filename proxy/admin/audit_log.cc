#include "proxy/admin/audit_log.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "proxy/admin/timestamp.h"

namespace cutover::proxy::admin {
namespace {

bool Fail(std::string* error, std::string_view what, const std::string& path, int errnum) {
  *error = std::string(what) + " audit log " + path + ": " + std::strerror(errnum);
  return false;
}

int OpenForAppend(const std::string& path) {
  return ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
}

// Yields the lines of a file from the last to the first, reading `kChunk` bytes at a time with
// pread from the end. A final line without '\n' (a write in progress) is yielded too.
class BackwardLineReader {
 public:
  BackwardLineReader(int fd, off_t size) : fd_(fd), pos_(size) {}

  // False at the start of the file, or on a read error (then `*read_errno` is set).
  bool Next(std::string* line, int* read_errno) {
    while (true) {
      if (buffer_.empty() && pos_ == 0) return false;
      // buffer_ ends with the current line (and its '\n', if any). Fill only prepends, so the
      // end stays put while we look further back for the '\n' that ends the previous line.
      const std::size_t line_end =
          !buffer_.empty() && buffer_.back() == '\n' ? buffer_.size() - 1 : buffer_.size();
      const std::size_t newline =
          line_end == 0 ? std::string::npos : buffer_.rfind('\n', line_end - 1);
      if (newline != std::string::npos || pos_ == 0) {
        const std::size_t start = newline == std::string::npos ? 0 : newline + 1;
        line->assign(buffer_, start, line_end - start);
        buffer_.resize(start);
        return true;
      }
      if (!Fill(read_errno)) return false;
    }
  }

 private:
  static constexpr off_t kChunk = 64 * 1024;

  bool Fill(int* read_errno) {
    const off_t length = pos_ < kChunk ? pos_ : kChunk;
    std::string chunk(static_cast<std::size_t>(length), '\0');
    std::size_t done = 0;
    while (done < chunk.size()) {
      const ssize_t n = ::pread(fd_, chunk.data() + done, chunk.size() - done,
                                pos_ - length + static_cast<off_t>(done));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        // 0: the file shrank under us (truncated by hand); treat as an error, not a hang.
        *read_errno = n < 0 ? errno : EIO;
        return false;
      }
      done += static_cast<std::size_t>(n);
    }
    pos_ -= length;
    buffer_.insert(0, chunk);
    return true;
  }

  int fd_;
  off_t pos_;
  std::string buffer_;
};

}  // namespace

AuditLog::~AuditLog() {
  if (fd_ >= 0) ::close(fd_);
}

bool AuditLog::Open(const std::string& path, std::string* error) {
  const int fd = OpenForAppend(path);
  if (fd < 0) return Fail(error, "cannot open", path, errno);
  if (fd_ >= 0) ::close(fd_);
  fd_ = fd;
  path_ = path;
  torn_ = false;
  return true;
}

bool AuditLog::Reopen(std::string* error) {
  if (fd_ < 0) {
    *error = "audit log is not open";
    return false;
  }
  const int fd = OpenForAppend(path_);
  if (fd < 0) return Fail(error, "cannot reopen", path_, errno);
  ::close(fd_);
  fd_ = fd;
  torn_ = false;  // a fresh file has no fragment to fence off
  return true;
}

bool AuditLog::Append(const nlohmann::json& entry, std::string* error) {
  if (fd_ < 0) {
    *error = "audit log is not open";
    return false;
  }
  std::string line = torn_ ? "\n" : "";
  // Replace rather than throw on invalid UTF-8 (a header value copied into `reason`): the entry
  // must still be written.
  line += entry.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  line += '\n';
  // One write(2) on O_APPEND puts the whole line at the end in one go; retrying EINTR is safe
  // because an interrupted write that wrote nothing returns -1.
  ssize_t written;
  do {
    written = ::write(fd_, line.data(), line.size());
  } while (written < 0 && errno == EINTR);
  if (written < 0) return Fail(error, "cannot write", path_, errno);
  if (static_cast<std::size_t>(written) != line.size()) {
    torn_ = true;
    *error = "short write to audit log " + path_ + " (disk full?)";
    return false;
  }
  torn_ = false;
  if (::fsync(fd_) != 0) return Fail(error, "cannot fsync", path_, errno);
  return true;
}

nlohmann::json AuditEntry(std::string_view actor, std::string_view source, std::string_view action,
                          const nlohmann::json& before, const nlohmann::json& after,
                          std::string_view result, uint64_t version, std::string_view reason,
                          int64_t unix_ms) {
  return nlohmann::json{
      {"time", FormatRfc3339Millis(unix_ms)},
      {"actor", actor},
      {"source", source},
      {"action", action},
      {"before", before},
      {"after", after},
      {"result", result},
      {"version", version},
      {"reason", reason},
  };
}

std::vector<nlohmann::json> ReadAuditTail(const std::string& path, std::size_t limit,
                                          std::size_t offset, std::string* error) {
  error->clear();
  std::vector<nlohmann::json> entries;
  if (limit == 0) return entries;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno != ENOENT) Fail(error, "cannot open", path, errno);
    return entries;
  }
  struct stat info;
  if (::fstat(fd, &info) != 0) {
    Fail(error, "cannot stat", path, errno);
    ::close(fd);
    return entries;
  }
  BackwardLineReader reader(fd, info.st_size);
  std::string line;
  int read_errno = 0;
  std::size_t skipped = 0;
  while (entries.size() < limit && reader.Next(&line, &read_errno)) {
    nlohmann::json entry = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (!entry.is_object()) continue;  // discarded (not JSON) or not an entry
    if (skipped < offset) {
      ++skipped;
      continue;
    }
    entries.push_back(std::move(entry));
  }
  if (read_errno != 0) Fail(error, "cannot read", path, read_errno);
  ::close(fd);
  return entries;
}

}  // namespace cutover::proxy::admin
