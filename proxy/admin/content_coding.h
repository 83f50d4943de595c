// Response compression for the admin listener (issue 5: Prometheus asks for gzip, and a large
// scrape shrinks about tenfold). Pure: no I/O, so the unit tests cover it alone.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace cutover::proxy::admin {

// Whether an Accept-Encoding field value (RFC 9110 §12.5.3) accepts gzip: a `gzip`, `x-gzip`
// or `*` member with a non-zero weight, where an explicit `gzip;q=0` wins over `*`.
bool AcceptsGzip(std::string_view accept_encoding);

// The gzip member (RFC 1952) of `data`; nullopt only if zlib fails (out of memory).
std::optional<std::string> Gzip(std::string_view data);

}  // namespace cutover::proxy::admin
