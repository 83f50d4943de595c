// One JSON line per finished request (off by default). Each worker owns its own AccessLog
// and buffer and writes whole lines with write(2) on an O_APPEND descriptor, so workers
// never share a lock and lines never interleave mid-line.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace cutover::proxy {

struct AccessEntry {
  std::string_view client;
  std::string_view method;
  std::string_view target;
  int status = 0;
  std::string_view pool;
  std::string_view endpoint;
  std::string_view reason;  // route reason
  std::string_view rule;    // rule name when reason is "rule"
  std::string_view error;   // upstream error kind, empty if none
  double duration_ms = 0;
  uint64_t bytes_in = 0;
  uint64_t bytes_out = 0;
  uint64_t connection = 0;
};

class AccessLog {
 public:
  AccessLog() = default;
  AccessLog(const AccessLog&) = delete;
  AccessLog& operator=(const AccessLog&) = delete;
  ~AccessLog();

  // "-" is stdout. Returns false (with errno set) if the file cannot be opened.
  bool Open(const std::string& path);
  bool enabled() const { return fd_ >= 0; }
  void Append(const AccessEntry& entry);
  void Flush();

 private:
  static constexpr std::size_t kFlushAt = 16 * 1024;
  int fd_ = -1;
  bool owns_fd_ = false;
  std::string buffer_;
};

// Appends `text` to `out` as the inside of a JSON string.
void AppendJsonEscaped(std::string* out, std::string_view text);

}  // namespace cutover::proxy
