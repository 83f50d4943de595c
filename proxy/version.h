// The release this binary is, for `cutover version` and cutover_build_info.
#pragma once

namespace cutover::proxy {

inline constexpr const char* kCutoverVersion = "0.1.0";

}  // namespace cutover::proxy
