// Reading a server answer's fields for ctl's views: a missing key or a value of another type
// reads as absent, never as an exception, so a view of an older or newer server degrades to
// blanks instead of failing the command.
#pragma once

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "proxy/ctl/table.h"

namespace cutover::proxy::ctl {

// object[key], or null when object is not an object or has no such key.
inline const nlohmann::json& Member(const nlohmann::json& object, const char* key) {
  static const nlohmann::json kNull;
  if (!object.is_object()) return kNull;
  const auto it = object.find(key);
  return it == object.end() ? kNull : *it;
}

// A string field, sanitised for the terminal; "" when absent or not a string.
inline std::string Text(const nlohmann::json& object, const char* key) {
  const nlohmann::json& value = Member(object, key);
  return value.is_string() ? SanitizeCell(value.get_ref<const std::string&>()) : "";
}

}  // namespace cutover::proxy::ctl
