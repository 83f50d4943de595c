#include "proxy/admin/state_file.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "tests/unit/support/temp_dir.h"

namespace cutover::proxy::admin {
namespace {

class StateFileTest : public ::testing::Test {
 protected:
  static std::string Slurp(const std::string& path) { return testing::ReadWholeFile(path); }

  std::size_t EntriesInDir() const {
    std::size_t count = 0;
    for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator(dir_)) ++count;
    return count;
  }

  testing::TempDir temp_;
  std::string dir_ = temp_.path();
  std::string path_ = temp_.File("state.json");
};

nlohmann::json SampleState() {
  return nlohmann::json{{"version", 7},
                        {"weights", {{"blue", 90.5}, {"green", 9.5}}},
                        {"baseline", "blue"},
                        {"candidate", "green"},
                        {"rules", nlohmann::json::array({{{"name", "beta"}, {"enabled", true}}})},
                        {"note", "caf\xc3\xa9 \xe2\x9c\x93"},
                        {"tiny", 0.1},
                        {"huge", 1e300},
                        {"negative", -42}};
}

TEST_F(StateFileTest, WritesThenReadsBackWithOwnerOnlyMode) {
  std::string error;
  ASSERT_TRUE(WriteStateFileAtomically(path_, "hello\n", &error)) << error;
  const std::optional<std::string> text = ReadStateFile(path_, &error);
  ASSERT_TRUE(text.has_value()) << error;
  EXPECT_EQ(*text, "hello\n");
  struct stat info;
  ASSERT_EQ(::stat(path_.c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600u);
  EXPECT_EQ(EntriesInDir(), 1u) << "the temporary file must be renamed away";
}

TEST_F(StateFileTest, OverwriteReplacesWholeContents) {
  std::string error;
  ASSERT_TRUE(WriteStateFileAtomically(path_, std::string(10000, 'a'), &error)) << error;
  ASSERT_TRUE(WriteStateFileAtomically(path_, "short", &error)) << error;
  EXPECT_EQ(Slurp(path_), "short");
}

TEST_F(StateFileTest, MissingFileIsNotAnError) {
  std::string error = "stale";
  EXPECT_FALSE(ReadStateFile(dir_ + "/absent.json", &error).has_value());
  EXPECT_EQ(error, "");
}

TEST_F(StateFileTest, UnreadablePathIsAnError) {
  std::string error;
  EXPECT_FALSE(ReadStateFile(dir_, &error).has_value());
  EXPECT_NE(error, "");
}

TEST_F(StateFileTest, MissingDirectoryFailsWithThePath) {
  std::string error;
  EXPECT_FALSE(WriteStateFileAtomically(dir_ + "/no/such/state.json", "x", &error));
  EXPECT_NE(error.find("/no/such/state.json.tmp."), std::string::npos) << error;
}

// Works as root too: a directory where the temporary file should go makes creating it fail.
TEST_F(StateFileTest, FailedWriteLeavesOldFileIntact) {
  std::string error;
  ASSERT_TRUE(WriteStateFileAtomically(path_, "old", &error)) << error;
  const std::string blocker = path_ + ".tmp." + std::to_string(::getpid());
  ASSERT_TRUE(std::filesystem::create_directory(blocker));
  EXPECT_FALSE(WriteStateFileAtomically(path_, "new", &error));
  EXPECT_NE(error.find("cannot create"), std::string::npos) << error;
  EXPECT_EQ(Slurp(path_), "old");
}

TEST_F(StateFileTest, ReadOnlyDirectoryLeavesOldFileIntact) {
  if (::geteuid() == 0) GTEST_SKIP() << "root ignores directory permissions";
  std::string error;
  ASSERT_TRUE(WriteStateFileAtomically(path_, "old", &error)) << error;
  std::filesystem::permissions(
      dir_, std::filesystem::perms::owner_read | std::filesystem::perms::owner_exec);
  EXPECT_FALSE(WriteStateFileAtomically(path_, "new", &error));
  EXPECT_EQ(Slurp(path_), "old");
}

// A writer killed between create and rename leaves `state.json.tmp.<pid>` behind; the state
// file itself must be unaffected, and the next write (maybe with the same pid) must succeed.
TEST_F(StateFileTest, LeftoverTemporaryFileDoesNotAffectReadsOrWrites) {
  std::string error;
  ASSERT_TRUE(WriteStateFileAtomically(path_, "good", &error)) << error;
  std::ofstream(path_ + ".tmp.99999") << "{\"torn";
  std::ofstream(path_ + ".tmp." + std::to_string(::getpid())) << "{\"torn as well";
  EXPECT_EQ(ReadStateFile(path_, &error).value_or(""), "good");
  ASSERT_TRUE(WriteStateFileAtomically(path_, "better", &error)) << error;
  EXPECT_EQ(ReadStateFile(path_, &error).value_or(""), "better");
}

TEST(StateEnvelope, RoundTripsStateAndStampsTime) {
  const std::string text = WrapState(SampleState(), 1709251199123);
  const nlohmann::json envelope = nlohmann::json::parse(text);
  EXPECT_EQ(envelope["format"], 1);
  EXPECT_EQ(envelope["written_at"], "2024-02-29T23:59:59.123Z");
  EXPECT_EQ(envelope["checksum"].get<std::string>().size(), 64u);
  EXPECT_EQ(text.rfind("{\n  \"format\": 1,", 0), 0u) << "documented field order";
  nlohmann::json state;
  std::string error;
  ASSERT_TRUE(UnwrapState(text, &state, &error)) << error;
  EXPECT_EQ(state, SampleState());
}

TEST(StateEnvelope, StampsCurrentTimeByDefault) {
  const nlohmann::json envelope = nlohmann::json::parse(WrapState(nlohmann::json::object()));
  EXPECT_EQ(envelope["written_at"].get<std::string>().substr(0, 2), "20");
}

TEST(StateEnvelope, ChangedValueIsAChecksumMismatch) {
  std::string text = WrapState(SampleState(), 0);
  const std::size_t at = text.find("90.5");
  ASSERT_NE(at, std::string::npos);
  text[at] = '1';  // 10.5: still valid JSON, different state
  nlohmann::json state = "untouched";
  std::string error;
  EXPECT_FALSE(UnwrapState(text, &state, &error));
  EXPECT_NE(error.find("checksum mismatch"), std::string::npos) << error;
  EXPECT_EQ(state, "untouched");
}

// Flips one bit at every position of the file: each flip is refused or leaves the state exactly
// as written (a flip in whitespace-insensitive places such as the timestamp).
TEST(StateEnvelope, NoSingleBitFlipYieldsADifferentState) {
  const std::string original = WrapState(SampleState(), 0);
  for (std::size_t i = 0; i < original.size(); ++i) {
    for (const unsigned char bit : {0x01, 0x20, 0x80}) {
      std::string text = original;
      text[i] = static_cast<char>(static_cast<unsigned char>(text[i]) ^ bit);
      nlohmann::json state;
      std::string error;
      if (UnwrapState(text, &state, &error)) {
        EXPECT_EQ(state, SampleState()) << "byte " << i << " bit " << int{bit};
      } else {
        EXPECT_NE(error, "");
      }
    }
  }
}

TEST(StateEnvelope, TornFileIsRefused) {
  const std::string text = WrapState(SampleState(), 0);
  nlohmann::json state;
  std::string error;
  EXPECT_FALSE(UnwrapState(text.substr(0, text.size() / 2), &state, &error));
  EXPECT_NE(error.find("not valid JSON"), std::string::npos) << error;
}

TEST(StateEnvelope, InvalidJsonErrorDoesNotQuoteTheFile) {
  nlohmann::json state;
  std::string error;
  EXPECT_FALSE(UnwrapState("{\"state\": {\"salt\": \"s3cret-salt\"", &state, &error));
  EXPECT_EQ(error.find("s3cret"), std::string::npos) << error;
}

TEST(StateEnvelope, RejectsOtherFormatsAndMissingFields) {
  nlohmann::json envelope = nlohmann::json::parse(WrapState(SampleState(), 0));
  nlohmann::json state;
  std::string error;

  nlohmann::json other = envelope;
  other["format"] = 2;
  EXPECT_FALSE(UnwrapState(other.dump(), &state, &error));
  EXPECT_NE(error.find("format 2"), std::string::npos) << error;

  for (const char* field : {"format", "checksum", "state"}) {
    nlohmann::json missing = envelope;
    missing.erase(field);
    EXPECT_FALSE(UnwrapState(missing.dump(), &state, &error)) << field;
    EXPECT_NE(error.find(field), std::string::npos) << error;
  }
  EXPECT_FALSE(UnwrapState("[1, 2]", &state, &error));
  EXPECT_FALSE(UnwrapState("", &state, &error));
}

TEST(StateEnvelope, InvalidUtf8IsReplacedNotThrown) {
  const nlohmann::json bad = {{"name", std::string("bad\xff")}};
  nlohmann::json state;
  std::string error;
  ASSERT_TRUE(UnwrapState(WrapState(bad, 0), &state, &error)) << error;
  EXPECT_EQ(state["name"], "bad\xef\xbf\xbd");
}

TEST_F(StateFileTest, WrappedStateSurvivesTheFile) {
  std::string error;
  ASSERT_TRUE(WriteStateFileAtomically(path_, WrapState(SampleState(), 5), &error)) << error;
  const std::optional<std::string> text = ReadStateFile(path_, &error);
  ASSERT_TRUE(text.has_value()) << error;
  nlohmann::json state;
  ASSERT_TRUE(UnwrapState(*text, &state, &error)) << error;
  EXPECT_EQ(state, SampleState());
}

}  // namespace
}  // namespace cutover::proxy::admin
