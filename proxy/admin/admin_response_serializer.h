// An AdminResponse as the bytes that go on the wire: status line, the fixed fields (type,
// no-store, length), the handler's extra fields, and the JSON or text body, gzipped when the
// client accepts it and the body is worth it. Pure, so the fuzzer checks it with the parser.
#pragma once

#include <string>

#include "proxy/admin/admin_server.h"

namespace cutover::proxy::admin {

// `request` is the one answered (its Accept-Encoding and method); `close_after` adds
// "Connection: close".
std::string SerializeAdminResponse(const AdminResponse& response, const AdminRequest& request,
                                   bool close_after);

}  // namespace cutover::proxy::admin
