#include "proxy/admin/client_roles.h"

namespace cutover::proxy::admin {

std::optional<ClientRoles> ClientRoles::Make(
    const std::vector<std::pair<std::string, std::string>>& common_name_roles, std::string* error) {
  ClientRoles made;
  for (const auto& [common_name, role_name] : common_name_roles) {
    const std::optional<Role> role = ParseRole(role_name);
    if (!role) {
      *error =
          "client_roles: the role of \"" + common_name + "\" must be viewer, operator or admin";
      return std::nullopt;
    }
    if (!common_name.empty()) made.roles_.insert_or_assign(common_name, *role);
  }
  return made;
}

std::optional<Role> ClientRoles::Find(std::string_view common_name) const {
  if (common_name.empty()) return std::nullopt;
  const auto found = roles_.find(common_name);
  if (found == roles_.end()) return std::nullopt;
  return found->second;
}

CertificateDecision DecideClientCertificate(const ClientRoles& roles,
                                            std::string_view verified_subject,
                                            std::string_view common_name) {
  CertificateDecision decision;
  if (verified_subject.empty()) return decision;
  decision.actor = "cert:" + std::string(common_name.empty() ? verified_subject : common_name);
  if (const std::optional<Role> role = roles.Find(common_name)) {
    decision.kind = CertificateDecision::Kind::kMapped;
    decision.role = *role;
  } else {
    decision.kind = CertificateDecision::Kind::kUnmapped;
  }
  return decision;
}

}  // namespace cutover::proxy::admin
