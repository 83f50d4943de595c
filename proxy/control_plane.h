// The one place the live routing state changes (DESIGN §3): admin API calls and config
// reloads both come here, are applied one at a time, and each accepted change goes through
// the same steps: validate completely, build the next snapshot (version + 1), write the state
// file, append to the audit log, publish to every worker, wait until every worker switched.
// A step that fails leaves everything as it was: the version, the snapshot, the state file.
//
// Threads: the main thread (start, SIGHUP, SIGUSR1) and the admin thread (API calls) call in;
// one mutex serialises them. It is never taken on the request path: workers read the snapshot
// they were published.
//
// Ownership: the Server owns the ControlPlane; the ControlPlane owns the audit log and the
// history, and holds plain pointers to the workers (owned by the Server, which outlives
// every call here) and to the health registry.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "proxy/admin/audit_log.h"
#include "proxy/admin/state_json.h"
#include "proxy/config.h"
#include "proxy/endpoint_health.h"
#include "proxy/snapshot.h"
#include "proxy/switch_signal.h"

namespace cutover::proxy {

class Worker;

// Who asked, as the audit log records it.
struct Caller {
  std::string actor;   // token name, "uid:N", or "config" / "signal"
  std::string source;  // "unix", a client "address:port", or "SIGHUP"
};

// One mutating call as the API saw it.
struct ChangeRequest {
  std::string action;  // "weights", "rule.add", "rollback", ...
  Caller caller;
  std::optional<uint64_t> if_match;  // the version the caller last saw
  std::string reason;                // free text for the audit log
  nlohmann::json request;            // the body as sent (recorded when rejected)
};

// The answer to a call: an HTTP status and a JSON body.
struct ControlAnswer {
  int status = 200;
  nlohmann::json body;
};

// Computes the next routing spec from the current one. Returns 0 on success, or the HTTP
// status of the rejection (400, 404, 409) with *error filled.
using Mutation = std::function<int(const routing::RoutingSpec& current, routing::RoutingSpec* next,
                                   admin::FieldError* error)>;

// How many versions `GET /v1/history` keeps (in memory and in the state file).
inline constexpr std::size_t kHistoryLimit = 50;

class ControlPlane {
 public:
  ControlPlane(HealthRegistry* health, SwitchSignal* switched);
  ControlPlane(const ControlPlane&) = delete;
  ControlPlane& operator=(const ControlPlane&) = delete;

  // Startup, before any worker exists. Restores the live routing from the state file when
  // the config's routing section is the one it was derived from (the log says which won),
  // opens the audit log, writes the state file (so an unwritable path stops the start, not
  // the first change), and builds the first snapshot. A state file that cannot be read or
  // fails its checksum is an error unless `discard_state`, which also makes a good one's
  // weights and rules give way to the config's (its version and history are kept).
  bool Start(const Config& config, bool discard_state, std::string* error);

  // The workers to publish to and wait for; set once, after Start().
  void AttachWorkers(std::vector<Worker*> workers);

  std::shared_ptr<const Snapshot> snapshot() const;
  uint64_t version() const;

  // An admin API change (see the class comment). The answer is the new state plus
  // "switch_us" and "workers", or an error body {"error", "field"}.
  ControlAnswer Change(const ChangeRequest& request, const Mutation& mutation);

  // The same, also persisting `rollout` (the progressive rollout's state, GuardrailLoop) in the
  // same state file write as the change: a step and its weight are acknowledged together.
  ControlAnswer Change(const ChangeRequest& request, const Mutation& mutation,
                       const nlohmann::json& rollout);

  // Audits an event that changes no routing (a guardrail pause, an acknowledged breach, a
  // rollout paused or resumed) and, when `rollout` is not null, persists it. False when the
  // audit log or the state file could not be written; nothing is persisted then.
  bool Record(const ChangeRequest& request, const nlohmann::json& details,
              const nlohmann::json& rollout, std::string* error);

  // The rollout state the state file held at Start() (null when none).
  nlohmann::json rollout() const;

  // The history's newest run of versions whose live weights satisfy `held`: the time of the
  // oldest version in that run (unix ms), or 0 when the running version does not. For "the
  // candidate has held 100 % since".
  int64_t HeldSince(const std::function<bool(const nlohmann::json& live)>& held) const;

  // Restores the weights and rules of `version` from the history as a new version.
  ControlAnswer Revert(const ChangeRequest& request, uint64_t version);

  // A call refused before it could be applied (wrong role, oversized or malformed body): it
  // is audited like any other rejection. Returns the answer's body.
  ControlAnswer Refuse(const ChangeRequest& request, int status, const admin::FieldError& error);

  // A config reload (SIGHUP). The live weights and rules stay unless the config's routing
  // section changed since the last start or reload; everything else comes from `next`.
  // False with *error if the result does not build or cannot be persisted; nothing changes.
  // `caller` is who asked (the audit log's actor): a signal or an admin API call.
  bool ApplyConfig(const Config& next, const Caller& caller, std::string* error);

  // `GET /v1/history`: newest first, at most `limit`.
  nlohmann::json History(std::size_t limit) const;

  // `GET /v1/health`.
  nlohmann::json Health() const;

  // SIGUSR1: logrotate moved the audit log away.
  void ReopenAuditLog();

  const AdminConfig& admin_config() const { return admin_; }

  // For cutover_config_changes_total: changes applied and refused since start (any thread).
  uint64_t changes_applied() const { return applied_.load(std::memory_order_relaxed); }
  uint64_t changes_rejected() const { return rejected_.load(std::memory_order_relaxed); }

 private:
  struct Version {
    uint64_t version = 0;
    int64_t unix_ms = 0;
    std::string actor;
    std::string action;
    std::string reason;
    nlohmann::json live;  // {"weights": {...}, "rules": [...]}
    std::string text;     // this entry as the state file holds it, serialised once
  };

  // The steps after a change validated: build, persist, audit, publish, remember.
  ControlAnswer Commit(const ChangeRequest& request, routing::RoutingSpec next,
                       const Config& config, const nlohmann::json* rollout);
  ControlAnswer ChangeLocked(const ChangeRequest& request, const Mutation& mutation,
                             const nlohmann::json* rollout);
  ControlAnswer Reject(const ChangeRequest& request, int status, const admin::FieldError& error,
                       nlohmann::json extra = nlohmann::json::object());
  // Writes the state file: the live routing of `history.front()` (the version being written).
  bool Persist(uint64_t version, const std::string& digest, const std::deque<Version>& history,
               const nlohmann::json& rollout, std::string* error);
  // After a failed audit append: writes back the exact bytes of the last acknowledged state.
  void RestoreStateFile();
  // The live routing of the running version (the history's newest entry).
  const nlohmann::json& CurrentLive() const { return history_.front().live; }
  bool Audit(const ChangeRequest& request, const nlohmann::json& before,
             const nlohmann::json& after, std::string_view result, uint64_t version);
  // Publishes and waits for every running worker; returns microseconds waited.
  int64_t PublishAndWait(const std::shared_ptr<const Snapshot>& snapshot);
  void Remember(std::deque<Version>* history, uint64_t version, const ChangeRequest& request,
                nlohmann::json live) const;

  HealthRegistry* health_;
  SwitchSignal* switched_;
  mutable std::mutex mutex_;  // guards everything below
  AdminConfig admin_;
  std::shared_ptr<const Snapshot> snapshot_;
  uint64_t version_ = 1;
  std::string config_digest_;    // of the config's routing section the live state started from
  std::deque<Version> history_;  // newest first
  nlohmann::json rollout_;       // persisted with the routing; null when no rollout ran
  std::string state_file_text_;  // what the state file holds for the running version
  std::string pending_state_file_text_;  // written for a change not yet acknowledged
  admin::AuditLog audit_;
  std::vector<Worker*> workers_;
  std::atomic<uint64_t> applied_{0};
  std::atomic<uint64_t> rejected_{0};
};

// The live part of a routing spec as the state file and the history keep it:
// {"weights": {...}, "rules": [...], "baseline": ..., "candidate": ...} in the API's shape
// (secrets never appear in it). The roles change only by `POST /v1/promote-baseline`; older
// state files lack them, and then the config's stand.
nlohmann::json LiveRouting(const routing::RoutingSpec& spec);

// `base` with the weights and rules of `live`; false with *error if they do not fit it (a
// pool that no longer exists, a rule the router refuses).
bool ApplyLiveRouting(const nlohmann::json& live, const routing::RoutingSpec& base,
                      routing::RoutingSpec* out, admin::FieldError* error);

// SHA-256 of the config's routing section (baseline, candidate, weights, rules): equal digests
// mean the operator has not edited [routing] in between.
std::string RoutingSectionDigest(const routing::RoutingSpec& spec);

}  // namespace cutover::proxy
