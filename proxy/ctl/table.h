// Plain-text tables for the human-readable output of `cutover ctl`: a heading row, then one row
// per item, columns padded to their widest cell and separated by two spaces, as `ps` and
// `kubectl get` print them (easy to read, and `awk '{print $2}'` still works for cells
// without spaces).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace cutover::proxy::ctl {

class Table {
 public:
  explicit Table(std::vector<std::string> headings);

  // A row with fewer cells than headings is padded with empty cells; extra cells are dropped.
  void AddRow(std::vector<std::string> cells);

  bool empty() const { return rows_.empty(); }

  // Every line ends in '\n'; no line has trailing spaces.
  std::string Render() const;

 private:
  std::vector<std::string> headings_;
  std::vector<std::vector<std::string>> rows_;
};

// `text` made safe for a terminal: control characters (ESC, CR, LF, ...) become '?'. Reasons,
// owners and actors come from whoever called the API, and an escape sequence in a reason must
// not repaint the operator's terminal.
std::string SanitizeCell(std::string_view text);

// The width of `text` on a terminal, counting one column per UTF-8 code point (good enough for
// the Latin, Greek and Cyrillic text reasons are written in; wide CJK glyphs count as one).
std::size_t DisplayWidth(std::string_view text);

}  // namespace cutover::proxy::ctl
