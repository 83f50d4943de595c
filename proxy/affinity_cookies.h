// The cookies of sticky affinity (DESIGN §4): reading a request's pin cookie (mode `pin`,
// HMAC-checked through tls/) and writing the Set-Cookie lines a routing decision asks for
// (a minted affinity key, a new pin).
#pragma once

#include <cstdint>
#include <string>

#include "routing/request_view.h"
#include "routing/routing_table.h"

namespace cutover::proxy {

// A pin the request carries that is well-formed, signed with our key, of the current
// epoch, unexpired and names a known pool; otherwise {present = false} (forged, stale or
// malformed pins are ignored, and the decision re-pins).
routing::PinView VerifyPinCookie(const routing::RoutingTable& table,
                                 const routing::RequestView& request, int64_t now_unix);

// Appends "Set-Cookie: ...\r\n" lines for decision.mint_key and decision.write_pin.
void AppendAffinityCookies(const routing::RoutingTable& table, const routing::Decision& decision,
                           int64_t now_unix, std::string* out);

}  // namespace cutover::proxy
