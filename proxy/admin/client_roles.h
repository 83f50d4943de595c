// Admin callers named by a TLS client certificate (docs/admin-api.md, "Access control"): on the
// TCP listener with [admin.tls] client_ca_file, the transport verifies the certificate and hands
// over its subject; the operator's client_roles map its common name (CN) to a role.
//
// Pure: no TLS and no I/O here, so every case of the decision is unit-tested. A ClientRoles is
// immutable once made; any thread may read it (the admin thread does, once per request).
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "proxy/admin/tokens.h"

namespace cutover::proxy::admin {

class ClientRoles {
 public:
  ClientRoles() = default;  // maps nobody

  // From the config's (CN, role name) pairs; nullopt with *error naming the CN on a role that
  // is not viewer, operator or admin (the config loader refuses those first).
  static std::optional<ClientRoles> Make(
      const std::vector<std::pair<std::string, std::string>>& common_name_roles,
      std::string* error);

  // The role mapped to `common_name`, compared byte for byte (case-sensitive, no wildcards: a
  // CA may sign "OPS-ONCALL" for someone else); nullopt when it is not mapped or empty.
  std::optional<Role> Find(std::string_view common_name) const;

  bool empty() const { return roles_.empty(); }

 private:
  std::map<std::string, Role, std::less<>> roles_;
};

// What a TCP caller's client certificate decides before any bearer token is looked at.
struct CertificateDecision {
  enum class Kind {
    kNoCertificate,  // none shown (or none asked for): the bearer token decides, as without TLS
    kMapped,         // verified and its CN is mapped: the caller is `actor` with `role`, no token
    kUnmapped,       // verified but not mapped: 403, unless a valid bearer token is shown too
  };
  Kind kind = Kind::kNoCertificate;
  Role role = Role::kViewer;  // kMapped only
  std::string actor;          // "cert:CN" (kMapped, kUnmapped): the audit log's actor
};

// `verified_subject` is the client certificate's subject (RFC 2253) when the handshake verified
// one against client_ca_file, "" when there was none; `common_name` is its CN ("" when it has
// none: such a certificate maps to nothing).
CertificateDecision DecideClientCertificate(const ClientRoles& roles,
                                            std::string_view verified_subject,
                                            std::string_view common_name);

}  // namespace cutover::proxy::admin
