#include "proxy/admin/tokens.h"

#include <gtest/gtest.h>

#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>

namespace cutover::proxy::admin {
namespace {

// Raw tokens as an operator would generate them; the file holds only their hashes.
constexpr std::string_view kViewerToken = "view-7f3a9c2e1b";
constexpr std::string_view kOperatorToken = "oper-5d8e2f1a9c";
constexpr std::string_view kAdminToken = "admin-c4b7e9a2d1";

std::string TokenTable(std::string_view name, std::string_view role, std::string_view sha256) {
  return "[[token]]\nname = \"" + std::string(name) + "\"\nrole = \"" + std::string(role) +
         "\"\nsha256 = \"" + std::string(sha256) + "\"\n\n";
}

std::string ValidFile() {
  return TokenTable("dashboard", "viewer", HashToken(kViewerToken)) +
         TokenTable("ci-bot", "operator", HashToken(kOperatorToken)) +
         TokenTable("alice@example.com", "admin", HashToken(kAdminToken));
}

std::vector<std::string> ParseErrors(const std::string& text) {
  std::vector<std::string> errors;
  EXPECT_FALSE(TokenSet::Parse(text, "tokens.toml", &errors).has_value());
  EXPECT_FALSE(errors.empty());
  return errors;
}

std::string Joined(const std::vector<std::string>& errors) {
  std::string all;
  for (const std::string& error : errors) all += error + "\n";
  return all;
}

// No message may quote a hash (64 hex), the raw tokens, or anything that looked like a secret.
void ExpectNoSecrets(const std::vector<std::string>& errors,
                     std::initializer_list<std::string_view> secrets) {
  const std::string all = Joined(errors);
  for (const std::string_view secret : secrets) {
    EXPECT_EQ(all.find(secret), std::string::npos) << "leaked " << secret << " in:\n" << all;
  }
  for (const std::string_view token : {kViewerToken, kOperatorToken, kAdminToken}) {
    EXPECT_EQ(all.find(token), std::string::npos) << all;
    EXPECT_EQ(all.find(HashToken(token)), std::string::npos) << all;
  }
}

TEST(HashToken, IsSha256Hex) {
  EXPECT_EQ(HashToken("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Role, AllowsIsOrdered) {
  EXPECT_TRUE(Allows(Role::kViewer, Role::kViewer));
  EXPECT_FALSE(Allows(Role::kViewer, Role::kOperator));
  EXPECT_FALSE(Allows(Role::kViewer, Role::kAdmin));
  EXPECT_TRUE(Allows(Role::kOperator, Role::kViewer));
  EXPECT_TRUE(Allows(Role::kOperator, Role::kOperator));
  EXPECT_FALSE(Allows(Role::kOperator, Role::kAdmin));
  EXPECT_TRUE(Allows(Role::kAdmin, Role::kViewer));
  EXPECT_TRUE(Allows(Role::kAdmin, Role::kOperator));
  EXPECT_TRUE(Allows(Role::kAdmin, Role::kAdmin));
  EXPECT_EQ(RoleName(Role::kOperator), "operator");
}

TEST(TokenSet, AuthenticatesEachTokenWithItsRole) {
  std::vector<std::string> errors;
  const std::optional<TokenSet> set = TokenSet::Parse(ValidFile(), "tokens.toml", &errors);
  ASSERT_TRUE(set.has_value()) << Joined(errors);
  ASSERT_EQ(set->tokens().size(), 3u);

  const Token* viewer = set->Authenticate(kViewerToken);
  ASSERT_NE(viewer, nullptr);
  EXPECT_EQ(viewer->name, "dashboard");
  EXPECT_EQ(viewer->role, Role::kViewer);
  const Token* op = set->Authenticate(kOperatorToken);
  ASSERT_NE(op, nullptr);
  EXPECT_EQ(op->name, "ci-bot");
  EXPECT_EQ(op->role, Role::kOperator);
  const Token* admin = set->Authenticate(kAdminToken);
  ASSERT_NE(admin, nullptr);
  EXPECT_EQ(admin->name, "alice@example.com");
  EXPECT_TRUE(Allows(admin->role, Role::kAdmin));
  EXPECT_FALSE(Allows(op->role, Role::kAdmin));
}

TEST(TokenSet, RejectsWrongTokens) {
  std::vector<std::string> errors;
  const std::optional<TokenSet> set = TokenSet::Parse(ValidFile(), "tokens.toml", &errors);
  ASSERT_TRUE(set.has_value()) << Joined(errors);
  EXPECT_EQ(set->Authenticate(""), nullptr);
  EXPECT_EQ(set->Authenticate("oper-5d8e2f1a9"), nullptr);  // a prefix
  EXPECT_EQ(set->Authenticate(std::string(kOperatorToken) + " "), nullptr);
  EXPECT_EQ(set->Authenticate("OPER-5D8E2F1A9C"), nullptr);
  // The hash itself is not a token: presenting the file's contents gets nowhere.
  EXPECT_EQ(set->Authenticate(HashToken(kOperatorToken)), nullptr);
}

TEST(TokenSet, AcceptsUppercaseHexAndStoresLowercase) {
  std::string upper = HashToken(kAdminToken);
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  std::vector<std::string> errors;
  const std::optional<TokenSet> set =
      TokenSet::Parse(TokenTable("ops", "admin", upper), "tokens.toml", &errors);
  ASSERT_TRUE(set.has_value()) << Joined(errors);
  EXPECT_EQ(set->tokens()[0].sha256_hex, HashToken(kAdminToken));
  EXPECT_NE(set->Authenticate(kAdminToken), nullptr);
}

TEST(TokenSet, EmptyFileHasNoTokens) {
  std::vector<std::string> errors;
  const std::optional<TokenSet> set = TokenSet::Parse("# nobody yet\n", "tokens.toml", &errors);
  ASSERT_TRUE(set.has_value()) << Joined(errors);
  EXPECT_TRUE(set->tokens().empty());
  EXPECT_EQ(set->Authenticate(kAdminToken), nullptr);
}

TEST(TokenSet, UnknownKeyNamesTheTokenAndKey) {
  const std::vector<std::string> errors =
      ParseErrors(TokenTable("ci-bot", "operator", HashToken(kOperatorToken)) +
                  TokenTable("ops", "admin", HashToken(kAdminToken)) + "expires = 2027-01-01\n");
  ASSERT_EQ(errors.size(), 1u) << Joined(errors);
  EXPECT_NE(errors[0].find("token #2 \"ops\""), std::string::npos) << errors[0];
  EXPECT_NE(errors[0].find("unknown key \"expires\""), std::string::npos) << errors[0];
  EXPECT_NE(errors[0].find("tokens.toml: line "), std::string::npos) << errors[0];
  ExpectNoSecrets(errors, {});
}

TEST(TokenSet, BadRoleIsAnError) {
  const std::vector<std::string> errors =
      ParseErrors(TokenTable("ci-bot", "superuser", HashToken(kOperatorToken)));
  EXPECT_NE(Joined(errors).find("\"role\" must be"), std::string::npos) << Joined(errors);
  ExpectNoSecrets(errors, {"superuser"});
}

TEST(TokenSet, BadHexIsAnErrorThatQuotesNothing) {
  const std::string short_hex = HashToken(kOperatorToken).substr(0, 63);
  std::string non_hex = HashToken(kAdminToken);
  non_hex[10] = 'g';
  const std::vector<std::string> errors =
      ParseErrors(TokenTable("a", "viewer", short_hex) + TokenTable("b", "viewer", non_hex) +
                  TokenTable("c", "viewer", kViewerToken));  // the raw token, pasted by mistake
  ASSERT_EQ(errors.size(), 3u) << Joined(errors);
  EXPECT_NE(errors[0].find("token #1 \"a\": \"sha256\" must be"), std::string::npos) << errors[0];
  EXPECT_NE(errors[1].find("token #2 \"b\""), std::string::npos) << errors[1];
  EXPECT_NE(errors[2].find("token #3 \"c\""), std::string::npos) << errors[2];
  ExpectNoSecrets(errors, {short_hex, non_hex});
}

TEST(TokenSet, MissingFieldsAreErrors) {
  const std::vector<std::string> errors = ParseErrors("[[token]]\nname = \"lonely\"\n");
  EXPECT_NE(Joined(errors).find("\"role\""), std::string::npos) << Joined(errors);
  EXPECT_NE(Joined(errors).find("\"sha256\""), std::string::npos) << Joined(errors);
  const std::vector<std::string> no_name =
      ParseErrors("[[token]]\nrole = \"viewer\"\nsha256 = \"" + HashToken(kViewerToken) + "\"\n");
  EXPECT_NE(Joined(no_name).find("needs a string \"name\""), std::string::npos) << Joined(no_name);
}

TEST(TokenSet, InvalidNameIsNotEchoed) {
  // A token pasted into the name field must not reach the log.
  const std::vector<std::string> errors =
      ParseErrors(TokenTable("s3cret token value", "viewer", HashToken(kViewerToken)));
  EXPECT_NE(Joined(errors).find("\"name\" must be"), std::string::npos) << Joined(errors);
  ExpectNoSecrets(errors, {"s3cret"});
}

TEST(TokenSet, DuplicateNamesAndHashesAreErrors) {
  const std::vector<std::string> errors =
      ParseErrors(TokenTable("ci-bot", "operator", HashToken(kOperatorToken)) +
                  TokenTable("ci-bot", "viewer", HashToken(kViewerToken)) +
                  TokenTable("other", "admin", HashToken(kOperatorToken)));
  ASSERT_EQ(errors.size(), 2u) << Joined(errors);
  EXPECT_NE(errors[0].find("token #2 \"ci-bot\": duplicate name (also token #1)"),
            std::string::npos)
      << errors[0];
  EXPECT_NE(errors[1].find("token #3 \"other\": same sha256 as token #1"), std::string::npos)
      << errors[1];
  ExpectNoSecrets(errors, {});
}

TEST(TokenSet, LongUnknownKeyIsNotEchoed) {
  const std::string key = "tok_" + HashToken("x").substr(0, 40);
  const std::vector<std::string> errors =
      ParseErrors(TokenTable("ci-bot", "operator", HashToken(kOperatorToken)) + key + " = 1\n");
  EXPECT_NE(Joined(errors).find("unknown key (a long"), std::string::npos) << Joined(errors);
  ExpectNoSecrets(errors, {key});
}

TEST(TokenSet, StructureErrors) {
  EXPECT_NE(Joined(ParseErrors("[token]\nname = \"x\"\n")).find("[[token]]"), std::string::npos);
  EXPECT_NE(Joined(ParseErrors("token = [1, 2]\n")).find("must be a table"), std::string::npos);
  EXPECT_NE(Joined(ParseErrors("tokens = []\n")).find("unknown key \"tokens\""), std::string::npos);
}

TEST(TokenSet, SyntaxErrorGivesPositionButNoFileContents) {
  const std::vector<std::string> errors =
      ParseErrors("[[token]]\nname = \"x\"\nsha256 = \"" + std::string(kAdminToken) + "\n");
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_NE(errors[0].find("tokens.toml: line 3"), std::string::npos) << errors[0];
  EXPECT_NE(errors[0].find("not valid TOML"), std::string::npos) << errors[0];
  ExpectNoSecrets(errors, {});
}

class TokensFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string templ = (std::filesystem::temp_directory_path() / "cutover-tokens-XXXXXX").string();
    ASSERT_NE(::mkdtemp(templ.data()), nullptr);
    dir_ = templ;
  }
  void TearDown() override {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
  std::string dir_;
};

TEST_F(TokensFileTest, LoadsFromFile) {
  const std::string path = dir_ + "/tokens.toml";
  std::ofstream(path) << ValidFile();
  std::vector<std::string> errors;
  const std::optional<TokenSet> set = TokenSet::Load(path, &errors);
  ASSERT_TRUE(set.has_value()) << Joined(errors);
  EXPECT_NE(set->Authenticate(kOperatorToken), nullptr);
}

TEST_F(TokensFileTest, ErrorsNameTheFile) {
  const std::string path = dir_ + "/tokens.toml";
  std::ofstream(path) << TokenTable("x", "root", HashToken(kAdminToken));
  std::vector<std::string> errors;
  EXPECT_FALSE(TokenSet::Load(path, &errors).has_value());
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].rfind("tokens file " + path + ": line 1: token #1 \"x\"", 0), 0u)
      << errors[0];
}

TEST_F(TokensFileTest, MissingFileIsAnError) {
  std::vector<std::string> errors;
  EXPECT_FALSE(TokenSet::Load(dir_ + "/absent.toml", &errors).has_value());
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_NE(errors[0].find("absent.toml: cannot open"), std::string::npos) << errors[0];
}

}  // namespace
}  // namespace cutover::proxy::admin
