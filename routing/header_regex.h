// The matcher of a header-regex rule condition: an ECMAScript regex that must match a whole
// header value, compiled once when the table is built. std::regex keeps routing/ std-only
// (DESIGN §1); its cost is why such a condition runs last in its rule: about 3 µs per
// evaluated value on the development VM (tests/bench/decide_bench.cc), and std::regex_match
// allocates its matcher state on every call. Immutable after Compile; any thread may match.
#pragma once

#include <memory>
#include <string>
#include <string_view>

namespace cutover::routing {

class HeaderRegex {
 public:
  // nullptr and a reason in *error when `pattern` does not compile.
  static std::unique_ptr<HeaderRegex> Compile(std::string_view pattern, std::string* error);
  ~HeaderRegex();
  HeaderRegex(const HeaderRegex&) = delete;
  HeaderRegex& operator=(const HeaderRegex&) = delete;

  bool FullMatch(std::string_view value) const;

 private:
  struct Impl;  // holds the std::regex; <regex> stays out of every other file
  explicit HeaderRegex(std::unique_ptr<Impl> impl);

  std::unique_ptr<Impl> impl_;
};

}  // namespace cutover::routing
