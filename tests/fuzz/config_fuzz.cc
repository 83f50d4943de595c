// The config loader on arbitrary text: LoadConfigString is the entry point `cutover run`,
// `cutover check` and SIGHUP share (LoadConfigFile only reads the file first). Whatever the
// bytes, it must return either a config or errors, never crash, hang or read without bound;
// and a config it accepts must carry no errors (ConfigLoadResult's contract).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "proxy/config_loader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const cutover::proxy::ConfigLoadResult result =
      cutover::proxy::LoadConfigString(text, "fuzz.toml");
  if (result.config.has_value() == !result.errors.empty()) std::abort();
  for (const cutover::proxy::ConfigError& error : result.errors) {
    // Every message is printable as the operator would see it.
    if (error.ToString("fuzz.toml").empty()) std::abort();
  }
  return 0;
}
