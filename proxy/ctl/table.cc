#include "proxy/ctl/table.h"

#include <algorithm>
#include <utility>

namespace cutover::proxy::ctl {

Table::Table(std::vector<std::string> headings) : headings_(std::move(headings)) {
  for (std::string& heading : headings_) heading = SanitizeCell(heading);
}

void Table::AddRow(std::vector<std::string> cells) {
  cells.resize(headings_.size());
  for (std::string& cell : cells) cell = SanitizeCell(cell);
  rows_.push_back(std::move(cells));
}

std::string Table::Render() const {
  std::vector<std::size_t> widths(headings_.size(), 0);
  const auto measure = [&](const std::vector<std::string>& row) {
    for (std::size_t i = 0; i < row.size(); ++i)
      widths[i] = std::max(widths[i], DisplayWidth(row[i]));
  };
  measure(headings_);
  for (const auto& row : rows_) measure(row);

  std::string out;
  const auto render = [&](const std::vector<std::string>& row) {
    std::string line;
    for (std::size_t i = 0; i < row.size(); ++i) {
      if (i > 0) line += "  ";
      line += row[i];
      line.append(widths[i] - DisplayWidth(row[i]), ' ');
    }
    line.erase(line.find_last_not_of(' ') + 1);
    out += line;
    out += '\n';
  };
  render(headings_);
  for (const auto& row : rows_) render(row);
  return out;
}

std::string SanitizeCell(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto byte = static_cast<unsigned char>(text[i]);
    const bool c0 = byte < 0x20 || byte == 0x7f;
    // C1 controls U+0080..U+009F (CSI is U+009B) are 0xC2 0x80..0x9F in UTF-8.
    const bool c1 = byte == 0xc2 && i + 1 < text.size() &&
                    (static_cast<unsigned char>(text[i + 1]) & 0xe0) == 0x80;
    if (c1) ++i;
    out += c0 || c1 ? '?' : text[i];
  }
  return out;
}

std::size_t DisplayWidth(std::string_view text) {
  // UTF-8 continuation bytes are 10xxxxxx; every other byte starts a code point.
  return static_cast<std::size_t>(std::count_if(text.begin(), text.end(), [](char c) {
    return (static_cast<unsigned char>(c) & 0xc0) != 0x80;
  }));
}

}  // namespace cutover::proxy::ctl
