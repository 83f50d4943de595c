// The routing state file (DESIGN §3, issue 4 item 3): the admin thread writes the current
// state here before it acknowledges a change, so an acknowledged change survives kill -9 and
// power loss, and startup restores it. The file is a JSON envelope around the caller's state:
//
//   {"format": 1, "written_at": "<RFC 3339>", "checksum": "<sha256 hex>", "state": {...}}
//
// The checksum covers the state's compact serialisation, so a torn or bit-flipped file is
// refused at startup (unless --discard-state) instead of silently restoring wrong weights.
// Free functions with no shared state: any thread may call them, but two writers of one path
// must not run at once (the admin thread is the only writer).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace cutover::proxy::admin {

inline constexpr int kStateFileFormat = 1;

// Writes `contents` to `path` so that a reader sees either the old file or the new one, never a
// mix, and the new one is on stable storage when this returns true: write `path.tmp.<pid>`
// (mode 0600), fsync it, rename it over `path`, fsync the directory (the rename lives in the
// directory's data; without that fsync a power loss may undo it). On false, `error` says which
// step failed; the temporary file is removed. If only the final directory fsync fails, `path`
// may already hold the new contents, but durability is unknown, so the change must not be
// acknowledged.
bool WriteStateFileAtomically(const std::string& path, std::string_view contents,
                              std::string* error);

// The whole file. A missing file is the normal first start: nullopt with `error` empty. Any other
// failure (permissions, a directory, too big, I/O error): nullopt with `error` set.
std::optional<std::string> ReadStateFile(const std::string& path, std::string* error);

// The envelope around `state`, one field per line with the state on the last one (`jq .state`
// shows it indented), stamped with `unix_ms` (the overload without it stamps the current time).
std::string WrapState(const nlohmann::json& state, int64_t unix_ms);
std::string WrapState(const nlohmann::json& state);

// The same for a state already serialised exactly as nlohmann::json::dump() would (sorted keys,
// no spaces): callers that keep parts of the state serialised avoid a second pass over it.
std::string WrapCompactState(std::string_view compact_state, int64_t unix_ms);

// Parses an envelope made by WrapState. False, with a message for the startup log, if the text
// is not JSON, has another format number, lacks a field, or its checksum does not match the
// state (corruption or a hand edit). `state` is written only on success.
bool UnwrapState(std::string_view file_text, nlohmann::json* state, std::string* error);

}  // namespace cutover::proxy::admin
