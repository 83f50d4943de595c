#include "proxy/admin/audit_log.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "tests/unit/support/temp_dir.h"

namespace cutover::proxy::admin {
namespace {

class AuditLogTest : public ::testing::Test {
 protected:
  static std::string Slurp(const std::string& path) { return testing::ReadWholeFile(path); }

  // Appends entries with "version" first..last through a fresh AuditLog.
  void AppendVersions(uint64_t first, uint64_t last) {
    AuditLog log;
    std::string error;
    ASSERT_TRUE(log.Open(path_, &error)) << error;
    for (uint64_t v = first; v <= last; ++v) {
      ASSERT_TRUE(log.Append(Entry(v), &error)) << error;
    }
  }

  static nlohmann::json Entry(uint64_t version) {
    return AuditEntry("ci-bot", "127.0.0.1:5000", "set_weights", {{"green", 10}}, {{"green", 20}},
                      "ok", version, "ramp", 1700000000000 + static_cast<int64_t>(version));
  }

  static std::vector<uint64_t> Versions(const std::vector<nlohmann::json>& entries) {
    std::vector<uint64_t> versions;
    for (const nlohmann::json& entry : entries) versions.push_back(entry["version"]);
    return versions;
  }

  testing::TempDir temp_;
  std::string dir_ = temp_.path();
  std::string path_ = temp_.File("audit.log");
};

TEST(AuditEntry, HasEveryFieldAndUtcMillis) {
  const nlohmann::json entry = AuditEntry("uid:1000", "unix", "rollback", {{"green", 50}},
                                          {{"green", 0}}, "ok", 9, "p99 regression", 1709251199123);
  EXPECT_EQ(entry["time"], "2024-02-29T23:59:59.123Z");
  EXPECT_EQ(entry["actor"], "uid:1000");
  EXPECT_EQ(entry["source"], "unix");
  EXPECT_EQ(entry["action"], "rollback");
  EXPECT_EQ(entry["before"], (nlohmann::json{{"green", 50}}));
  EXPECT_EQ(entry["after"], (nlohmann::json{{"green", 0}}));
  EXPECT_EQ(entry["result"], "ok");
  EXPECT_EQ(entry["version"], 9);
  EXPECT_EQ(entry["reason"], "p99 regression");
}

TEST_F(AuditLogTest, AppendWritesOneCompactLinePerEntryWithOwnerOnlyMode) {
  AppendVersions(1, 2);
  const std::string text = Slurp(path_);
  const std::size_t first_newline = text.find('\n');
  ASSERT_NE(first_newline, std::string::npos);
  EXPECT_EQ(nlohmann::json::parse(text.substr(0, first_newline)), Entry(1));
  EXPECT_EQ(nlohmann::json::parse(text.substr(first_newline + 1)), Entry(2));
  EXPECT_EQ(text.back(), '\n');
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 2);
  struct stat info;
  ASSERT_EQ(::stat(path_.c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600u);
}

TEST_F(AuditLogTest, OpenAppendsToExistingLog) {
  AppendVersions(1, 1);
  AppendVersions(2, 2);
  std::string error;
  EXPECT_EQ(Versions(ReadAuditTail(path_, 10, 0, &error)), (std::vector<uint64_t>{2, 1}));
}

TEST_F(AuditLogTest, NewlinesInsideValuesStayEscaped) {
  AuditLog log;
  std::string error;
  ASSERT_TRUE(log.Open(path_, &error)) << error;
  ASSERT_TRUE(log.Append(
      AuditEntry("a", "unix", "x", nullptr, nullptr, "ok", 1, "two\nlines \xff", 0), &error))
      << error;
  const std::vector<nlohmann::json> entries = ReadAuditTail(path_, 10, 0, &error);
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0]["reason"], "two\nlines \xef\xbf\xbd");
}

TEST_F(AuditLogTest, AppendWithoutOpenFails) {
  AuditLog log;
  std::string error;
  EXPECT_FALSE(log.Append(Entry(1), &error));
  EXPECT_NE(error, "");
  EXPECT_FALSE(log.Reopen(&error));
}

TEST_F(AuditLogTest, OpenFailsInMissingDirectory) {
  AuditLog log;
  std::string error;
  EXPECT_FALSE(log.Open(dir_ + "/no/such/audit.log", &error));
  EXPECT_NE(error.find("/no/such/audit.log"), std::string::npos) << error;
  EXPECT_FALSE(log.is_open());
}

// logrotate's "create" mode: the file is renamed away, then SIGUSR1 makes us reopen the path.
TEST_F(AuditLogTest, ReopenAfterRotationWritesToTheNewFile) {
  AuditLog log;
  std::string error;
  ASSERT_TRUE(log.Open(path_, &error)) << error;
  ASSERT_TRUE(log.Append(Entry(1), &error)) << error;
  std::filesystem::rename(path_, path_ + ".1");
  ASSERT_TRUE(log.Append(Entry(2), &error)) << error;  // still the old file until reopened
  ASSERT_TRUE(log.Reopen(&error)) << error;
  ASSERT_TRUE(log.Append(Entry(3), &error)) << error;
  EXPECT_EQ(Versions(ReadAuditTail(path_ + ".1", 10, 0, &error)), (std::vector<uint64_t>{2, 1}));
  EXPECT_EQ(Versions(ReadAuditTail(path_, 10, 0, &error)), (std::vector<uint64_t>{3}));
}

TEST_F(AuditLogTest, FailedReopenKeepsTheOldDescriptor) {
  const std::string subdir = dir_ + "/logs";
  std::filesystem::create_directory(subdir);
  const std::string path = subdir + "/audit.log";
  AuditLog log;
  std::string error;
  ASSERT_TRUE(log.Open(path, &error)) << error;
  std::filesystem::rename(subdir, dir_ + "/moved");
  EXPECT_FALSE(log.Reopen(&error));
  EXPECT_NE(error.find("cannot reopen"), std::string::npos) << error;
  ASSERT_TRUE(log.Append(Entry(1), &error)) << error;
  EXPECT_EQ(Versions(ReadAuditTail(dir_ + "/moved/audit.log", 10, 0, &error)),
            (std::vector<uint64_t>{1}));
}

TEST_F(AuditLogTest, TailPagesNewestFirst) {
  AppendVersions(1, 25);
  std::string error;
  EXPECT_EQ(Versions(ReadAuditTail(path_, 3, 0, &error)), (std::vector<uint64_t>{25, 24, 23}));
  EXPECT_EQ(Versions(ReadAuditTail(path_, 3, 3, &error)), (std::vector<uint64_t>{22, 21, 20}));
  EXPECT_EQ(Versions(ReadAuditTail(path_, 10, 22, &error)), (std::vector<uint64_t>{3, 2, 1}));
  EXPECT_TRUE(ReadAuditTail(path_, 10, 25, &error).empty());
  EXPECT_TRUE(ReadAuditTail(path_, 0, 0, &error).empty());
  EXPECT_EQ(error, "");
}

TEST_F(AuditLogTest, TailSkipsMalformedLinesWithoutCountingThem) {
  AppendVersions(1, 2);
  std::ofstream(path_, std::ios::app) << "{\"version\": 99, torn\n"
                                      << "\n"
                                      << "[1, 2]\n"
                                      << "{\"huge\": 1e999}\n";
  AppendVersions(3, 4);
  std::ofstream(path_, std::ios::app) << "{\"version\": 5";  // a write in progress: no '\n'
  std::string error;
  EXPECT_EQ(Versions(ReadAuditTail(path_, 10, 0, &error)), (std::vector<uint64_t>{4, 3, 2, 1}));
  EXPECT_EQ(Versions(ReadAuditTail(path_, 2, 1, &error)), (std::vector<uint64_t>{3, 2}));
  EXPECT_EQ(error, "");
}

// Entries bigger than the reader's 64 KiB chunk, and a log of many chunks, read back whole.
TEST_F(AuditLogTest, TailReadsAcrossChunkBoundaries) {
  AuditLog log;
  std::string error;
  ASSERT_TRUE(log.Open(path_, &error)) << error;
  for (uint64_t v = 1; v <= 40; ++v) {
    const std::string reason(v % 7 == 0 ? 150000 : 5000 + v * 97, 'r');
    ASSERT_TRUE(
        log.Append(AuditEntry("a", "unix", "x", nullptr, nullptr, "ok", v, reason, 0), &error))
        << error;
  }
  const std::vector<nlohmann::json> entries = ReadAuditTail(path_, 100, 0, &error);
  ASSERT_EQ(entries.size(), 40u) << error;
  for (std::size_t i = 0; i < entries.size(); ++i) {
    const uint64_t v = 40 - i;
    EXPECT_EQ(entries[i]["version"], v);
    EXPECT_EQ(entries[i]["reason"].get<std::string>().size(), v % 7 == 0 ? 150000 : 5000 + v * 97);
  }
}

TEST_F(AuditLogTest, MissingLogHasNoEntriesAndNoError) {
  std::string error = "stale";
  EXPECT_TRUE(ReadAuditTail(dir_ + "/absent.log", 10, 0, &error).empty());
  EXPECT_EQ(error, "");
}

TEST_F(AuditLogTest, UnreadableLogIsAnError) {
  std::string error;
  EXPECT_TRUE(ReadAuditTail(dir_, 10, 0, &error).empty());  // a directory: read fails
  EXPECT_NE(error, "");
}

}  // namespace
}  // namespace cutover::proxy::admin
