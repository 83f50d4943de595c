#include "proxy/admin/client_roles.h"

#include <gtest/gtest.h>

namespace cutover::proxy::admin {
namespace {

using Kind = CertificateDecision::Kind;

ClientRoles Roles() {
  std::string error;
  std::optional<ClientRoles> roles = ClientRoles::Make(
      {{"ops-oncall", "operator"}, {"sre-lead", "admin"}, {"grafana", "viewer"}}, &error);
  EXPECT_TRUE(roles.has_value()) << error;
  return roles.value_or(ClientRoles());
}

TEST(ClientRoles, FindsEachMappedCommonName) {
  const ClientRoles roles = Roles();
  EXPECT_FALSE(roles.empty());
  EXPECT_EQ(roles.Find("ops-oncall"), Role::kOperator);
  EXPECT_EQ(roles.Find("sre-lead"), Role::kAdmin);
  EXPECT_EQ(roles.Find("grafana"), Role::kViewer);
}

TEST(ClientRoles, ComparesExactly) {
  const ClientRoles roles = Roles();
  for (const std::string_view near :
       {"OPS-ONCALL", "ops-oncall ", " ops-oncall", "ops-oncal", "ops-oncall2", "*", "ops-*", ""}) {
    EXPECT_EQ(roles.Find(near), std::nullopt) << near;
  }
  // A NUL inside a certificate's CN (a classic trick) does not end the comparison early.
  EXPECT_EQ(roles.Find(std::string_view("ops-oncall\0x", 12)), std::nullopt);
}

TEST(ClientRoles, EmptyMapsNobody) {
  const ClientRoles roles;
  EXPECT_TRUE(roles.empty());
  EXPECT_EQ(roles.Find("ops-oncall"), std::nullopt);
}

TEST(ClientRoles, RefusesAnUnknownRole) {
  std::string error;
  EXPECT_FALSE(ClientRoles::Make({{"ops", "operator"}, {"root-ca", "root"}}, &error));
  EXPECT_EQ(error, "client_roles: the role of \"root-ca\" must be viewer, operator or admin");
}

TEST(DecideClientCertificate, NoCertificateLeavesItToTheToken) {
  const CertificateDecision decision = DecideClientCertificate(Roles(), "", "");
  EXPECT_EQ(decision.kind, Kind::kNoCertificate);
  EXPECT_EQ(decision.actor, "");
  // A CN without a verified subject is not a verified certificate.
  EXPECT_EQ(DecideClientCertificate(Roles(), "", "sre-lead").kind, Kind::kNoCertificate);
}

TEST(DecideClientCertificate, MappedCommonNameGivesItsRole) {
  const ClientRoles roles = Roles();
  for (const auto& [name, role] : {std::pair<const char*, Role>{"ops-oncall", Role::kOperator},
                                   {"sre-lead", Role::kAdmin},
                                   {"grafana", Role::kViewer}}) {
    const std::string subject = std::string("CN=") + name + ",O=Example";
    const CertificateDecision decision = DecideClientCertificate(roles, subject, name);
    EXPECT_EQ(decision.kind, Kind::kMapped) << name;
    EXPECT_EQ(decision.role, role) << name;
    EXPECT_EQ(decision.actor, std::string("cert:") + name);
  }
}

TEST(DecideClientCertificate, UnmappedCommonNameIsNamedButHasNoRole) {
  const CertificateDecision decision =
      DecideClientCertificate(Roles(), "CN=intruder,O=Example", "intruder");
  EXPECT_EQ(decision.kind, Kind::kUnmapped);
  EXPECT_EQ(decision.actor, "cert:intruder");
  // Without client_roles every verified certificate is unmapped.
  EXPECT_EQ(DecideClientCertificate(ClientRoles(), "CN=ops-oncall", "ops-oncall").kind,
            Kind::kUnmapped);
}

TEST(DecideClientCertificate, CertificateWithoutCommonNameMapsToNothing) {
  const CertificateDecision decision = DecideClientCertificate(Roles(), "O=Example", "");
  EXPECT_EQ(decision.kind, Kind::kUnmapped);
  EXPECT_EQ(decision.actor, "cert:O=Example");
}

}  // namespace
}  // namespace cutover::proxy::admin
