// The `cutover ctl` commands, one function each; ctl_command.cc maps the command line onto
// them. Each returns the process exit code (exit_code.h) and prints through the Session, which
// has already reported any failed call on standard error.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "proxy/ctl/rule_body.h"
#include "proxy/ctl/session.h"

namespace cutover::proxy::ctl {

// read_commands.cc: views of the state; no If-Match, no reason.
int RunStatus(Session& session);
int RunRulesList(Session& session);
int RunHistory(Session& session, std::optional<unsigned> limit);
int RunAudit(Session& session, std::optional<unsigned> limit, std::optional<unsigned> offset);
int RunHealth(Session& session);
int RunCompare(Session& session, const std::string& window);

// weights_commands.cc: the split, with If-Match of the version the plan was computed from.
int RunWeightsSet(Session& session, const std::vector<std::string>& assignments);
struct RampFlags {
  std::string pool;
  std::string steps;  // "5,25,50,100"
  std::string every;  // "5m"
};
int RunRamp(Session& session, const RampFlags& flags);
int RunRollback(Session& session);
int RunRevert(Session& session, uint64_t version);

// rollout_commands.cc: a server-side rollout (POST /v1/rollout), which the server advances
// only while the guardrails hold; and promote-baseline, its last step. --reason goes in the
// body as well as in X-Cutover-Reason.
struct RolloutFlags {
  std::string steps;  // "1,5,25,50,100"
  std::string every;  // the dwell at each step: "2m"
  std::optional<uint64_t> min_requests;
};
int RunRolloutStart(Session& session, const RolloutFlags& flags);
int RunRolloutStatus(Session& session);
enum class RolloutAction { kPause, kResume, kAbort, kPromote };
int RunRolloutStep(Session& session, RolloutAction action);
int RunPromoteBaseline(Session& session);

// guardrail_commands.cc: the verdict on the candidate, and acknowledging a breach.
int RunGuardrails(Session& session);
int RunGuardrailsAck(Session& session, bool resume);

// rule_commands.cc. `from_json` is a file name or "-" (stdin); when given, `flags` must be empty.
int RunRulesAdd(Session& session, const RuleFlags& flags, const std::string& from_json,
                std::optional<unsigned> position);
int RunRulesEnable(Session& session, const std::string& name, bool enabled);
int RunRulesRemove(Session& session, const std::string& name);

// hash_token_command.cc: needs no server. `token` is "" to make one, "-" to read stdin.
int RunHashToken(const std::string& token, const std::string& name, const std::string& role,
                 bool json_output);

}  // namespace cutover::proxy::ctl
