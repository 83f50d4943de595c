#include "proxy/access_log.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <ctime>

namespace cutover::proxy {

void AppendJsonEscaped(std::string* out, std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out->push_back('\\');
      out->push_back(c);
    } else if (u < 0x20 || u == 0x7f) {
      out->append("\\u00");
      out->push_back(kHex[u >> 4]);
      out->push_back(kHex[u & 0xf]);
    } else {
      out->push_back(c);
    }
  }
}

AccessLog::~AccessLog() {
  Flush();
  if (owns_fd_) close(fd_);
}

bool AccessLog::Open(const std::string& path) {
  if (path == "-") {
    fd_ = STDOUT_FILENO;
    owns_fd_ = false;
  } else {
    fd_ = open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    owns_fd_ = fd_ >= 0;
  }
  buffer_.reserve(kFlushAt + 1024);
  return fd_ >= 0;
}

void AccessLog::Append(const AccessEntry& e) {
  if (fd_ < 0) return;
  timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  tm utc;
  gmtime_r(&now.tv_sec, &utc);
  char stamp[40];
  const std::size_t n = strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &utc);
  std::snprintf(stamp + n, sizeof stamp - n, ".%03ldZ", now.tv_nsec / 1000000);

  std::string& b = buffer_;
  b.append("{\"time\":\"").append(stamp).append("\",\"client\":\"");
  AppendJsonEscaped(&b, e.client);
  b.append("\",\"method\":\"");
  AppendJsonEscaped(&b, e.method);
  b.append("\",\"path\":\"");
  AppendJsonEscaped(&b, e.target);
  b.append("\",\"status\":").append(std::to_string(e.status));
  b.append(",\"pool\":\"");
  AppendJsonEscaped(&b, e.pool);
  b.append("\",\"endpoint\":\"");
  AppendJsonEscaped(&b, e.endpoint);
  b.append("\",\"reason\":\"");
  AppendJsonEscaped(&b, e.reason);
  b.append("\"");
  if (!e.rule.empty()) {
    b.append(",\"rule\":\"");
    AppendJsonEscaped(&b, e.rule);
    b.append("\"");
  }
  if (!e.error.empty()) {
    b.append(",\"error\":\"");
    AppendJsonEscaped(&b, e.error);
    b.append("\"");
  }
  char figures[160];
  std::snprintf(figures, sizeof figures,
                ",\"duration_ms\":%.3f,\"bytes_in\":%llu,\"bytes_out\":%llu,\"connection\":%llu}\n",
                e.duration_ms, static_cast<unsigned long long>(e.bytes_in),
                static_cast<unsigned long long>(e.bytes_out),
                static_cast<unsigned long long>(e.connection));
  b.append(figures);
  if (b.size() >= kFlushAt) Flush();
}

void AccessLog::Flush() {
  std::size_t done = 0;
  while (fd_ >= 0 && done < buffer_.size()) {
    const ssize_t n = write(fd_, buffer_.data() + done, buffer_.size() - done);
    if (n <= 0) break;  // a full disk must not stop the proxy; the lines are dropped
    done += static_cast<std::size_t>(n);
  }
  buffer_.clear();
}

}  // namespace cutover::proxy
