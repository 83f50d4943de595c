// OpenSSL's error queue turned into one operator-readable line. The queue is per thread and
// outlives the call that filled it, so every user of OpenSSL in tls/ clears it before a call
// whose failure it will report and takes it whole afterwards: one connection's error never
// shows up as the next connection's on the same worker thread.
#pragma once

#include <string>
#include <string_view>

namespace cutover::tls {

// Empties the calling thread's error queue (before an OpenSSL call whose errors matter).
void ClearOpenSslErrors();

// The first (most specific) queued error as "reason" or "reason: detail", e.g.
// "unsupported protocol" or "no start line: Expecting: CERTIFICATE"; `when_empty` if the
// queue holds nothing. Always leaves the queue empty.
std::string TakeOpenSslError(std::string_view when_empty = "unknown OpenSSL error");

}  // namespace cutover::tls
