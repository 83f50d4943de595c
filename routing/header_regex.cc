// GCC 12 to 14 report a false -Wmaybe-uninitialized inside libstdc++'s regex compiler when
// optimising with sanitizers on (GCC bug 105616: the sanitizer build of setup.sh). The
// warning is about the standard library's code, so it is silenced for this file only, which
// is why std::regex lives here and nowhere else.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#include "routing/header_regex.h"

#include <regex>

namespace cutover::routing {

struct HeaderRegex::Impl {
  std::regex regex;
};

std::unique_ptr<HeaderRegex> HeaderRegex::Compile(std::string_view pattern, std::string* error) {
  auto flags = std::regex::ECMAScript | std::regex::nosubs | std::regex::optimize;
#if defined(__GLIBCXX__)
  // libstdc++'s default matcher backtracks recursively, one stack frame per input character,
  // so a long header value could overflow a worker's stack; the polynomial (Thompson NFA)
  // matcher recurses only as deep as the pattern. It refuses back-references, which is the
  // price of matching time bounded by value length times pattern size.
  flags |= std::regex_constants::__polynomial;
#endif
  try {
    auto impl = std::make_unique<Impl>(Impl{std::regex(pattern.begin(), pattern.end(), flags)});
    return std::unique_ptr<HeaderRegex>(new HeaderRegex(std::move(impl)));
  } catch (const std::regex_error& e) {
    *error = e.what();
    return nullptr;
  }
}

HeaderRegex::HeaderRegex(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

HeaderRegex::~HeaderRegex() = default;

bool HeaderRegex::FullMatch(std::string_view value) const {
  return std::regex_match(value.begin(), value.end(), impl_->regex);
}

}  // namespace cutover::routing
