// The audit trail of the admin API (DESIGN §3, issue 4 item 4): one JSON line per accepted or
// rejected mutating call, on stable storage before the call is answered, so "who changed the
// split, when, from what to what, and why" survives a crash.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace cutover::proxy::admin {

// Owns one O_APPEND descriptor. Not thread-safe: only the admin thread calls it (it is the one
// thread that mutates state), so appends need no lock and are ordered as the changes are.
// SIGUSR1 must not call Reopen from the signal handler (it allocates); the admin loop's signal
// watcher calls it. Neither copyable nor movable: the descriptor has one owner.
class AuditLog {
 public:
  AuditLog() = default;
  AuditLog(const AuditLog&) = delete;
  AuditLog& operator=(const AuditLog&) = delete;
  ~AuditLog();

  // Opens (creating with mode 0600) `path` for appending. Audit entries name actors and their
  // addresses, so other local users may not read them.
  bool Open(const std::string& path, std::string* error);

  // Writes `entry` as one compact JSON line with a single write(2) and fsyncs before returning,
  // so a reader never sees half a line from a successful append and an acknowledged change is
  // on disk. False if the log is not open, the write is short or fails, or fsync fails.
  bool Append(const nlohmann::json& entry, std::string* error);

  // Log rotation: opens the same path again (logrotate has moved the old file away) and swaps
  // descriptors. If the open fails, appends keep going to the old descriptor: an entry in the
  // rotated file beats a lost one.
  bool Reopen(std::string* error);

  bool is_open() const { return fd_ >= 0; }
  const std::string& path() const { return path_; }

 private:
  int fd_ = -1;
  std::string path_;
  // A failed write may have left part of a line; the next append starts with '\n' so that
  // fragment stays on its own (malformed, skipped) line instead of swallowing the next entry.
  bool torn_ = false;
};

// One audit entry: {"time", "actor", "source", "action", "before", "after", "result",
// "version", "reason"}. `time` is RFC 3339 UTC with milliseconds from `unix_ms` (a parameter,
// so entries are reproducible in tests). `actor` is a token name or "uid:<n>"; `source` the
// peer ("unix" or a client address); `result` e.g. "ok" or the rejection's error text.
nlohmann::json AuditEntry(std::string_view actor, std::string_view source, std::string_view action,
                          const nlohmann::json& before, const nlohmann::json& after,
                          std::string_view result, uint64_t version, std::string_view reason,
                          int64_t unix_ms);

// `GET /v1/audit?limit=N&offset=M`: the entries of the log at `path`, newest first, skipping the
// `offset` newest, at most `limit`. Reads the file backwards in chunks, so paging through
// recent entries costs no more than their size however long the log is. Lines that are not
// JSON objects (a torn write, a hand edit) are skipped and not counted. A missing file has no
// entries and is not an error; on a read error `error` is set and the entries so far returned.
std::vector<nlohmann::json> ReadAuditTail(const std::string& path, std::size_t limit,
                                          std::size_t offset, std::string* error);

}  // namespace cutover::proxy::admin
