#include "proxy/ctl/ctl_command.h"

#include <CLI/CLI.hpp>

#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "proxy/ctl/commands.h"
#include "proxy/ctl/connection_options.h"
#include "proxy/ctl/exit_code.h"
#include "proxy/ctl/session.h"

namespace cutover::proxy::ctl {
namespace {

// CLI11 has no "unset" for a number; the Option tells whether it was given.
std::optional<unsigned> IfGiven(const CLI::Option* option, unsigned value) {
  return option->count() > 0 ? std::optional<unsigned>(value) : std::nullopt;
}

class Command final : public CtlCommand {
 public:
  explicit Command(CLI::App& app);

  bool parsed() const override { return ctl_->parsed(); }
  int Run() override;
  int Exit(const CLI::ParseError& error) override;

 private:
  using Handler = std::function<int()>;

  // Each Add* registers some subcommands and, beside each, the function that runs it: the
  // command table is the registration (HAProxy's cli.c keeps words and handler together too).
  void AddGlobalOptions();
  void AddReadCommands();
  void AddWeightsCommands();
  void AddRuleCommands();
  void AddRolloutCommands();
  void AddGuardrailCommands();
  void AddHashToken();

  // Resolves the connection, then runs `command` against it.
  int WithSession(const std::function<int(Session&)>& command);

  CLI::App& app_;
  CLI::App* ctl_;
  std::vector<std::pair<CLI::App*, Handler>> handlers_;

  GlobalFlags global_;
  std::vector<std::string> assignments_;
  RampFlags ramp_;
  RolloutFlags rollout_;
  uint64_t min_requests_ = 0;
  CLI::Option* min_requests_option_ = nullptr;
  bool resume_ = false;
  uint64_t revert_version_ = 0;
  unsigned history_limit_value_ = 0;
  unsigned audit_limit_value_ = 0;
  unsigned offset_ = 0;
  std::string compare_window_ = "60s";
  CLI::Option* history_limit_ = nullptr;
  CLI::Option* audit_limit_ = nullptr;
  CLI::Option* audit_offset_ = nullptr;
  RuleFlags rule_;
  std::string from_json_;
  unsigned position_ = 0;
  CLI::Option* position_option_ = nullptr;
  std::string rule_name_;
  std::string token_;
  std::string token_name_ = "cutover-ctl";
  std::string token_role_ = "operator";
};

Command::Command(CLI::App& app)
    : app_(app), ctl_(app.add_subcommand("ctl", "Change the live routing through the admin API")) {
  ctl_->require_subcommand(1);
  // Global flags may follow the subcommand too (`ctl status --json`); subcommands added from
  // here on inherit this.
  ctl_->fallthrough();
  ctl_->footer(std::string(ExitCodeHelp()));
  AddGlobalOptions();
  AddReadCommands();
  AddWeightsCommands();
  AddRuleCommands();
  AddRolloutCommands();
  AddGuardrailCommands();
  AddHashToken();
}

void Command::AddGlobalOptions() {
  // No CLI11 envname: the environment must not count as "given" when a flag contradicts it
  // (connection_options.h resolves the two).
  ctl_->add_option("--socket", global_.socket,
                   "admin Unix socket [env CUTOVER_SOCKET, default /run/cutover/admin.sock]");
  ctl_->add_option("--url", global_.url,
                   "admin TCP listener http://HOST:PORT or https://HOST:PORT [env CUTOVER_URL]");
  ctl_->add_option("--token", global_.token,
                   "bearer token for TCP [env CUTOVER_TOKEN]; prefer --token-file");
  ctl_->add_option("--token-file", global_.token_file, "file whose first line is the token");
  ctl_->add_option("--cacert", global_.cacert,
                   "https: CA bundle of the listener's certificate [env CUTOVER_CACERT, default "
                   "the system's]");
  ctl_->add_option("--cert", global_.cert,
                   "https: client certificate (PEM, with --key) [env CUTOVER_CERT]");
  ctl_->add_option("--key", global_.key, "https: the client certificate's key [env CUTOVER_KEY]");
  ctl_->add_option("--reason", global_.reason,
                   "why, for the audit log (X-Cutover-Reason; up to 1024 bytes)");
  ctl_->add_option("--timeout", global_.timeout_seconds, "seconds per call")->capture_default_str();
  ctl_->add_flag("--json", global_.json, "print the server's JSON answer instead of tables");
}

void Command::AddReadCommands() {
  auto* status = ctl_->add_subcommand("status", "Version, pools with weights, and rules");
  handlers_.emplace_back(status, [this] { return WithSession(&RunStatus); });

  auto* history = ctl_->add_subcommand("history", "Past versions, newest first");
  history_limit_ = history->add_option("--limit", history_limit_value_, "at most N versions");
  handlers_.emplace_back(history, [this] {
    return WithSession([this](Session& s) {
      return RunHistory(s, IfGiven(history_limit_, history_limit_value_));
    });
  });

  auto* audit = ctl_->add_subcommand("audit", "Audit log entries, newest first");
  audit_limit_ =
      audit->add_option("--limit", audit_limit_value_, "at most N entries (1..1000, default 50)");
  audit_offset_ = audit->add_option("--offset", offset_, "skip the newest M entries");
  handlers_.emplace_back(audit, [this] {
    return WithSession([this](Session& s) {
      return RunAudit(s, IfGiven(audit_limit_, audit_limit_value_),
                      IfGiven(audit_offset_, offset_));
    });
  });

  auto* compare = ctl_->add_subcommand("compare", "Blue and green side by side, recent window");
  compare->add_option("--window", compare_window_, "a duration from 1s to 10m")
      ->capture_default_str();
  handlers_.emplace_back(compare, [this] {
    return WithSession([this](Session& s) { return RunCompare(s, compare_window_); });
  });

  auto* health = ctl_->add_subcommand("health", "Endpoint health and ejections");
  handlers_.emplace_back(health, [this] { return WithSession(&RunHealth); });
}

void Command::AddWeightsCommands() {
  auto* weights = ctl_->add_subcommand("weights", "Set the split");
  weights->require_subcommand(1);
  auto* set = weights->add_subcommand(
      "set", "POOL=PERCENT...: the pools named get these; the baseline the rest; others 0");
  set->add_option("assignments", assignments_, "e.g. green=20 (blue=80)")->required();
  handlers_.emplace_back(set, [this] {
    return WithSession([this](Session& s) { return RunWeightsSet(s, assignments_); });
  });

  auto* ramp = ctl_->add_subcommand("ramp", "Move POOL through STEPS percent, pausing between");
  ramp->add_option("pool", ramp_.pool, "the pool to ramp, e.g. green")->required();
  ramp->add_option("steps", ramp_.steps, "percents, e.g. 5,25,50,100")->required();
  ramp->add_option("--every", ramp_.every, "pause between steps: 250ms, 30s, 5m, 1h")->required();
  handlers_.emplace_back(
      ramp, [this] { return WithSession([this](Session& s) { return RunRamp(s, ramp_); }); });

  auto* rollback = ctl_->add_subcommand(
      "rollback", "Candidate's weight to the baseline; disable rules to the candidate");
  handlers_.emplace_back(rollback, [this] { return WithSession(&RunRollback); });

  auto* revert = ctl_->add_subcommand("revert", "Restore the weights and rules of version N");
  revert->add_option("version", revert_version_, "a version from `history`")->required();
  handlers_.emplace_back(revert, [this] {
    return WithSession([this](Session& s) { return RunRevert(s, revert_version_); });
  });
}

void Command::AddRuleCommands() {
  auto* rules = ctl_->add_subcommand("rules", "List, add, enable, disable, remove rules");
  rules->require_subcommand(1);

  auto* list = rules->add_subcommand("list", "Rules in evaluation order (first match wins)");
  handlers_.emplace_back(list, [this] { return WithSession(&RunRulesList); });

  auto* add = rules->add_subcommand("add", "Add a rule (last, or at --position)");
  add->add_option("name", rule_.name, "rule name");
  add->add_option("--pool", rule_.pool, "pool the rule sends matching requests to");
  add->add_option("--header", rule_.headers, "K=V: header K equals V (repeat K for any of)");
  add->add_option("--header-present", rule_.header_present, "K: header K is present");
  add->add_option("--path-prefix", rule_.path_prefixes, "/p: the path starts with /p");
  add->add_option("--cookie", rule_.cookies, "K=V: cookie K equals V");
  add->add_option("--query", rule_.queries, "K=V: query parameter K equals V");
  add->add_option("--method", rule_.methods, "request method, e.g. GET");
  add->add_option("--client-cidr", rule_.client_cidrs, "client address in, e.g. 10.0.0.0/8");
  add->add_option("--kind", rule_.kind, "temporary (default), targeted or environment");
  add->add_option("--owner", rule_.owner, "who to ask about the rule");
  add->add_option("--expires", rule_.expires, "YYYY-MM-DD: last day the rule applies (UTC)");
  add->add_flag("--disabled", rule_.disabled, "add it disabled");
  position_option_ = add->add_option("--position", position_, "0-based place in the rule list");
  add->add_option("--from-json", from_json_, "FILE or - : the whole rule as JSON");
  handlers_.emplace_back(add, [this] {
    return WithSession([this](Session& s) {
      return RunRulesAdd(s, rule_, from_json_, IfGiven(position_option_, position_));
    });
  });

  for (const bool enabled : {true, false}) {
    auto* toggle = rules->add_subcommand(enabled ? "enable" : "disable",
                                         enabled ? "Enable rule NAME" : "Disable rule NAME");
    toggle->add_option("name", rule_name_, "rule name")->required();
    handlers_.emplace_back(toggle, [this, enabled] {
      return WithSession(
          [this, enabled](Session& s) { return RunRulesEnable(s, rule_name_, enabled); });
    });
  }

  auto* remove = rules->add_subcommand("rm", "Remove rule NAME");
  remove->add_option("name", rule_name_, "rule name")->required();
  handlers_.emplace_back(remove, [this] {
    return WithSession([this](Session& s) { return RunRulesRemove(s, rule_name_); });
  });
}

void Command::AddRolloutCommands() {
  auto* rollout = ctl_->add_subcommand(
      "rollout", "A rollout the server runs: steps that advance only while guardrails hold");
  rollout->require_subcommand(1);

  auto* start = rollout->add_subcommand("start", "Start moving traffic to the candidate in STEPS");
  start->add_option("steps", rollout_.steps, "rising percents, e.g. 1,5,25,50,100")->required();
  start->add_option("--every", rollout_.every, "dwell at each step: 1s to 24h, e.g. 2m")
      ->required();
  min_requests_option_ = start->add_option("--min-requests", min_requests_,
                                           "candidate requests a step needs before the next one");
  // CLI11 would read "-1" into the unsigned as 2^64 - 1.
  min_requests_option_->check(CLI::Validator(
      [](const std::string& text) { return text.starts_with('-') ? "must be 0 or more" : ""; }, "",
      "non-negative"));
  handlers_.emplace_back(start, [this] {
    if (min_requests_option_->count() > 0) rollout_.min_requests = min_requests_;
    return WithSession([this](Session& s) { return RunRolloutStart(s, rollout_); });
  });

  auto* status = rollout->add_subcommand("status", "Where the rollout stands");
  handlers_.emplace_back(status, [this] { return WithSession(&RunRolloutStatus); });

  struct Step {
    const char* name;
    RolloutAction action;
    const char* help;
  };
  for (const Step& step : {
           Step{"pause", RolloutAction::kPause, "Hold the rollout at its step"},
           Step{"resume", RolloutAction::kResume, "Go on from the step it was paused at"},
           Step{"abort", RolloutAction::kAbort, "Stop and roll the candidate back"},
           Step{"promote", RolloutAction::kPromote, "Skip the remaining steps: candidate to 100 %"},
       }) {
    auto* command = rollout->add_subcommand(step.name, step.help);
    handlers_.emplace_back(command, [this, action = step.action] {
      return WithSession([action](Session& s) { return RunRolloutStep(s, action); });
    });
  }

  auto* promote = ctl_->add_subcommand(
      "promote-baseline",
      "The candidate at 100 % becomes the baseline (and the old baseline the candidate)");
  handlers_.emplace_back(promote, [this] { return WithSession(&RunPromoteBaseline); });
}

void Command::AddGuardrailCommands() {
  auto* guardrails =
      ctl_->add_subcommand("guardrails", "The verdict on the candidate, the rules, and any breach");
  auto* ack = guardrails->add_subcommand("ack", "Acknowledge the breach the guardrails reported");
  ack->add_flag("--resume", resume_, "also resume the rollout the breach paused");
  // Before `guardrails` itself: Run() takes the first parsed entry, and `guardrails ack` parses
  // both.
  handlers_.emplace_back(ack, [this] {
    return WithSession([this](Session& s) { return RunGuardrailsAck(s, resume_); });
  });
  handlers_.emplace_back(guardrails, [this] { return WithSession(&RunGuardrails); });
}

void Command::AddHashToken() {
  auto* hash = ctl_->add_subcommand(
      "hash-token",
      "SHA-256 of TOKEN (or of stdin's first line with -) for tokens_file; with no TOKEN, make "
      "a new token and its [[token]] entry");
  hash->add_option("token", token_, "the token, or - to read it from stdin");
  hash->add_option("--name", token_name_, "name in the new entry (the audit log's actor)")
      ->capture_default_str();
  hash->add_option("--role", token_role_, "viewer, operator or admin")->capture_default_str();
  handlers_.emplace_back(
      hash, [this] { return RunHashToken(token_, token_name_, token_role_, global_.json); });
}

int Command::WithSession(const std::function<int(Session&)>& command) {
  Connection connection;
  std::string error;
  const GetEnv getenv = [](const char* name) -> const char* { return std::getenv(name); };
  if (!ResolveConnection(global_, getenv, &connection, &error)) {
    std::fprintf(stderr, "cutover ctl: %s\n", error.c_str());
    return ToInt(ExitCode::kUsage);
  }
  Session session(std::move(connection), global_.json);
  return command(session);
}

int Command::Run() {
  for (const auto& [subcommand, handler] : handlers_) {
    if (subcommand->parsed()) return handler();
  }
  return ToInt(ExitCode::kUsage);  // unreachable: CLI11 requires a subcommand
}

int Command::Exit(const CLI::ParseError& error) {
  const int code = app_.exit(error);
  return parsed() && code != 0 ? ToInt(ExitCode::kUsage) : code;
}

}  // namespace

std::unique_ptr<CtlCommand> AddCommand(CLI::App& app) {
  return std::make_unique<Command>(app);
}

}  // namespace cutover::proxy::ctl
