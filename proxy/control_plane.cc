#include "proxy/control_plane.h"

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <map>
#include <utility>

#include "proxy/admin/state_file.h"
#include "proxy/admin/timestamp.h"
#include "proxy/log.h"
#include "proxy/worker.h"
#include "tls/sha256.h"

namespace cutover::proxy {
namespace {

using nlohmann::json;

// A worker that has not switched after this long is stuck; the change stands (it is
// persisted and the other workers run it) and the answer says how many switched.
constexpr auto kSwitchDeadline = std::chrono::seconds(5);

// The rules of `live` by name.
std::map<std::string, json> RulesByName(const json& live) {
  std::map<std::string, json> rules;
  for (const json& rule : live.at("rules")) rules.emplace(rule.at("name").get<std::string>(), rule);
  return rules;
}

// What an accepted change changed, for the audit log: the weights when they differ, and the
// rules that differ by name (missing on one side = added or removed). Keeps each entry small
// however many rules there are.
void DiffLive(const json& before_live, const json& after_live, json* before, json* after) {
  *before = json::object();
  *after = json::object();
  for (const char* key : {"weights", "baseline", "candidate"}) {
    const json& old_value = before_live.contains(key) ? before_live.at(key) : json();
    const json& new_value = after_live.contains(key) ? after_live.at(key) : json();
    if (old_value != new_value) {
      (*before)[key] = old_value;
      (*after)[key] = new_value;
    }
  }
  const auto old_rules = RulesByName(before_live);
  const auto new_rules = RulesByName(after_live);
  for (const auto& [name, rule] : old_rules) {
    const auto found = new_rules.find(name);
    if (found == new_rules.end() || found->second != rule) (*before)["rules"].push_back(rule);
  }
  for (const auto& [name, rule] : new_rules) {
    const auto found = old_rules.find(name);
    if (found == old_rules.end() || found->second != rule) (*after)["rules"].push_back(rule);
  }
}

// As the state file's checksum expects it (admin/state_file.cc): sorted keys, no spaces,
// invalid UTF-8 replaced.
std::string CompactJson(const json& value) {
  return value.dump(-1, ' ', false, json::error_handler_t::replace);
}

json ErrorBody(const admin::FieldError& error) {
  return {{"error", error.message}, {"field", error.field}};
}

}  // namespace

json LiveRouting(const routing::RoutingSpec& spec) {
  json state = admin::StateToJson(spec, 0);
  return {{"weights", std::move(state["weights"])},
          {"rules", std::move(state["rules"])},
          {"baseline", std::move(state["baseline"])},
          {"candidate", std::move(state["candidate"])}};
}

bool ApplyLiveRouting(const json& live, const routing::RoutingSpec& base, routing::RoutingSpec* out,
                      admin::FieldError* error) {
  if (!live.is_object() || !live.contains("weights") || !live.contains("rules") ||
      !live.at("rules").is_array()) {
    *error = {"", "expected {\"weights\": {...}, \"rules\": [...]}"};
    return false;
  }
  routing::RoutingSpec next = base;
  for (const auto& [key, role] : {std::pair<const char*, std::string*>{"baseline", &next.baseline},
                                  {"candidate", &next.candidate}}) {
    if (!live.contains(key)) continue;  // a state file from before roles could change
    const json& name = live.at(key);
    if (name.is_null()) {
      role->clear();
    } else if (name.is_string()) {
      *role = name.get<std::string>();
    } else {
      *error = {key, "expected a pool name or null"};
      return false;
    }
  }
  if (!admin::ApplyWeights(live.at("weights"), next, &next, error)) return false;
  next.rules.clear();
  for (const json& rule : live.at("rules")) {
    routing::RuleSpec parsed;
    if (!admin::ApplyRuleJson(rule, next, &parsed, error)) return false;
    next.rules.push_back(std::move(parsed));
  }
  std::string build_error;
  if (routing::RoutingTable::Build(next, 1, &build_error) == nullptr) {
    *error = {"", build_error};
    return false;
  }
  *out = std::move(next);
  return true;
}

std::string RoutingSectionDigest(const routing::RoutingSpec& spec) {
  json state = admin::StateToJson(spec, 0);
  const json section = {{"baseline", state["baseline"]},
                        {"candidate", state["candidate"]},
                        {"weights", state["weights"]},
                        {"rules", state["rules"]}};
  char hex[64];
  tls::Sha256Hex(section.dump(), hex);
  return std::string(hex, sizeof hex);
}

ControlPlane::ControlPlane(HealthRegistry* health, SwitchSignal* switched)
    : health_(health), switched_(switched) {}

bool ControlPlane::Start(const Config& config, bool discard_state, std::string* error) {
  std::lock_guard<std::mutex> lock(mutex_);
  admin_ = config.admin;
  Config effective = config;
  const std::string digest = RoutingSectionDigest(config.routing);
  const std::string& path = admin_.state_file;
  const bool persisted = admin_.enabled && !path.empty();
  bool restored = false;
  bool had_state = false;

  if (persisted) {
    std::string problem;
    std::optional<std::string> text = admin::ReadStateFile(path, &problem);
    json state;
    if (text && !admin::UnwrapState(*text, &state, &problem)) text.reset();
    if (text) {
      try {
        version_ = state.at("version").get<uint64_t>();
        if (state.contains("rollout") && state.at("rollout").is_object()) {
          rollout_ = state.at("rollout");
        }
        for (const json& entry : state.at("history")) {
          // The checksum says we wrote it; the shape is still checked so that no later use
          // of an entry can throw on the admin thread.
          const json& live = entry.at("live");
          live.at("weights").get_ref<const json::object_t&>();
          for (const json& rule : live.at("rules").get_ref<const json::array_t&>()) {
            rule.at("name").get_ref<const std::string&>();
          }
          history_.push_back(
              Version{entry.at("version").get<uint64_t>(), entry.at("unix_ms").get<int64_t>(),
                      entry.at("actor").get<std::string>(), entry.at("action").get<std::string>(),
                      entry.at("reason").get<std::string>(), entry.at("live"), CompactJson(entry)});
        }
        had_state = true;
        routing::RoutingSpec live;
        admin::FieldError misfit;
        if (discard_state) {
          Log(LogLevel::kWarn,
              "state: --discard-state: starting from the config's weights and rules instead of "
              "version %llu in %s (kept in the history)",
              static_cast<unsigned long long>(version_), path.c_str());
        } else if (state.at("config_routing_digest").get<std::string>() != digest) {
          Log(LogLevel::kInfo,
              "state: the config's [routing] changed since %s was written (version %llu); "
              "starting from the config's weights and rules",
              path.c_str(), static_cast<unsigned long long>(version_));
        } else if (!ApplyLiveRouting(state.at("routing"), config.routing, &live, &misfit)) {
          Log(LogLevel::kWarn,
              "state: %s (version %llu) no longer fits the config (%s%s%s); starting from the "
              "config's weights and rules",
              path.c_str(), static_cast<unsigned long long>(version_), misfit.field.c_str(),
              misfit.field.empty() ? "" : ": ", misfit.message.c_str());
        } else {
          effective.routing = std::move(live);
          restored = true;
          Log(LogLevel::kInfo, "state: restored routing version %llu from %s",
              static_cast<unsigned long long>(version_), path.c_str());
        }
      } catch (const json::exception& e) {
        problem = std::string("unexpected contents: ") + e.what();
        history_.clear();
        version_ = 1;
        had_state = false;
        text.reset();
      }
    }
    if (!text && !problem.empty()) {
      if (!discard_state) {
        *error = "state file " + path + " is unusable: " + problem +
                 "; fix or remove it, or start with --discard-state to start from the config";
        return false;
      }
      const std::string aside = path + ".discarded." + std::to_string(admin::UnixMillisNow());
      const bool moved = std::rename(path.c_str(), aside.c_str()) == 0;
      Log(LogLevel::kWarn, "state: discarding %s (%s)%s%s", path.c_str(), problem.c_str(),
          moved ? "; kept as " : "", moved ? aside.c_str() : "");
    }
  }

  // The newest history entry must describe the running version (CurrentLive() relies on it).
  if (!restored || history_.empty() || history_.front().version != version_) {
    if (had_state && !restored) ++version_;  // the config's routing is newer than the file's
    ChangeRequest start{had_state ? "config" : "start", {"config", "startup"}, {}, "", {}};
    Remember(&history_, version_, start, LiveRouting(effective.routing));
  }
  snapshot_ = BuildSnapshot(effective, version_, health_, error);
  if (!snapshot_) return false;
  config_digest_ = digest;
  if (admin_.enabled && !admin_.audit_log.empty() && !audit_.Open(admin_.audit_log, error)) {
    *error = "audit log " + admin_.audit_log + ": " + *error;
    return false;
  }
  if (!Persist(version_, config_digest_, history_, rollout_, error)) {
    *error = "state file " + path + ": " + *error;
    return false;
  }
  state_file_text_ = std::move(pending_state_file_text_);
  return true;
}

void ControlPlane::AttachWorkers(std::vector<Worker*> workers) {
  std::lock_guard<std::mutex> lock(mutex_);
  workers_ = std::move(workers);
  // The admin API answers before the workers exist, so a change may have been acknowledged
  // after the workers were built from an older snapshot: hand them the live one (under the
  // same lock as every change, so none slips between). A worker that has not started yet
  // applies it as soon as its loop runs.
  for (Worker* worker : workers_) worker->Publish(snapshot_);
}

std::shared_ptr<const Snapshot> ControlPlane::snapshot() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return snapshot_;
}

uint64_t ControlPlane::version() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return version_;
}

ControlAnswer ControlPlane::Change(const ChangeRequest& request, const Mutation& mutation) {
  std::lock_guard<std::mutex> lock(mutex_);
  return ChangeLocked(request, mutation, nullptr);
}

ControlAnswer ControlPlane::Change(const ChangeRequest& request, const Mutation& mutation,
                                   const json& rollout) {
  std::lock_guard<std::mutex> lock(mutex_);
  return ChangeLocked(request, mutation, &rollout);
}

ControlAnswer ControlPlane::ChangeLocked(const ChangeRequest& request, const Mutation& mutation,
                                         const json* rollout) {
  if (request.if_match && *request.if_match != version_) {
    return Reject(request, 409,
                  {"If-Match", "the live version is " + std::to_string(version_) + ", not " +
                                   std::to_string(*request.if_match)},
                  {{"version", version_}});
  }
  const routing::RoutingSpec& current = snapshot_->routing->spec();
  routing::RoutingSpec next = current;
  admin::FieldError error;
  if (const int status = mutation(current, &next, &error); status != 0) {
    return Reject(request, status, error);
  }
  Config config = snapshot_->config;
  config.routing = next;
  return Commit(request, std::move(next), config, rollout);
}

ControlAnswer ControlPlane::Revert(const ChangeRequest& request, uint64_t version) {
  std::lock_guard<std::mutex> lock(mutex_);
  // Runs under the lock, so it reads history_ safely.
  return ChangeLocked(
      request,
      [this, version](const routing::RoutingSpec& current, routing::RoutingSpec* next,
                      admin::FieldError* error) {
        for (const Version& entry : history_) {
          if (entry.version != version) continue;
          if (!ApplyLiveRouting(entry.live, current, next, error)) {
            error->message = "version " + std::to_string(version) +
                             " does not fit the current pools: " + error->message;
            return 400;
          }
          return 0;
        }
        *error = {"version", "version " + std::to_string(version) +
                                 " is not in the history (the last " +
                                 std::to_string(kHistoryLimit) + " versions are kept)"};
        return 404;
      },
      nullptr);
}

ControlAnswer ControlPlane::Commit(const ChangeRequest& request, routing::RoutingSpec next,
                                   const Config& config, const json* rollout) {
  const uint64_t version = version_ + 1;
  std::string error;
  std::shared_ptr<const routing::RoutingTable> table =
      routing::RoutingTable::Build(next, version, &error);
  if (!table) return Reject(request, 400, {"", error});
  auto snapshot = std::make_shared<Snapshot>(*snapshot_);
  snapshot->config = config;
  snapshot->routing = std::move(table);

  json after_live = LiveRouting(next);
  json before, after;
  DiffLive(CurrentLive(), after_live, &before, &after);
  std::deque<Version> history = history_;
  Remember(&history, version, request, std::move(after_live));
  const json& next_rollout = rollout != nullptr ? *rollout : rollout_;
  if (!Persist(version, config_digest_, history, next_rollout, &error)) {
    Log(LogLevel::kError, "admin: state file %s: %s; change refused", admin_.state_file.c_str(),
        error.c_str());
    return Reject(request, 500, {"", "cannot write the state file; nothing changed"});
  }
  if (!Audit(request, before, after, "ok", version)) {
    RestoreStateFile();  // not acknowledged, so the state file must not keep it either
    return {500, ErrorBody({"", "cannot append to the audit log; nothing changed"})};
  }
  state_file_text_ = std::move(pending_state_file_text_);
  const int64_t switch_us = PublishAndWait(snapshot);
  applied_.fetch_add(1, std::memory_order_relaxed);
  snapshot_ = std::move(snapshot);
  version_ = version;
  history_ = std::move(history);
  if (rollout != nullptr) rollout_ = *rollout;

  json body = admin::StateToJson(next, version_);
  body["switch_us"] = switch_us;
  unsigned running = 0;
  for (const Worker* worker : workers_) running += worker->finished() ? 0 : 1;
  body["workers"] = running;
  return {request.action == "rule.add" ? 201 : 200, std::move(body)};
}

ControlAnswer ControlPlane::Refuse(const ChangeRequest& request, int status,
                                   const admin::FieldError& error) {
  std::lock_guard<std::mutex> lock(mutex_);
  return Reject(request, status, error);
}

ControlAnswer ControlPlane::Reject(const ChangeRequest& request, int status,
                                   const admin::FieldError& error, json extra) {
  json body = ErrorBody(error);
  body.update(extra);
  rejected_.fetch_add(1, std::memory_order_relaxed);
  const std::string result = std::to_string(status) + ": " + error.message;
  Audit(request, nullptr, request.request, result, version_);
  return {status, std::move(body)};
}

bool ControlPlane::ApplyConfig(const Config& next, const Caller& caller, std::string* error) {
  std::lock_guard<std::mutex> lock(mutex_);
  const std::string digest = RoutingSectionDigest(next.routing);
  Config effective = next;
  effective.admin = admin_;  // the admin listeners and files are fixed at start
  const routing::RoutingSpec& current = snapshot_->routing->spec();
  if (digest == config_digest_) {
    routing::RoutingSpec live;
    admin::FieldError misfit;
    if (ApplyLiveRouting(LiveRouting(current), next.routing, &live, &misfit)) {
      effective.routing = std::move(live);
    } else {
      Log(LogLevel::kWarn,
          "reload: the live weights and rules do not fit the new pools (%s%s%s); using the "
          "config's",
          misfit.field.c_str(), misfit.field.empty() ? "" : ": ", misfit.message.c_str());
    }
  } else if (version_ > 1 || history_.size() > 1) {
    Log(LogLevel::kInfo,
        "reload: the config's [routing] changed; its weights and rules replace the live ones");
  }
  const uint64_t version = version_ + 1;
  std::shared_ptr<const Snapshot> snapshot = BuildSnapshot(effective, version, health_, error);
  if (!snapshot) return false;

  const ChangeRequest request{"reload", caller, {}, "", {}};
  json after_live = LiveRouting(effective.routing);
  json before, after;
  DiffLive(CurrentLive(), after_live, &before, &after);
  std::deque<Version> history = history_;
  Remember(&history, version, request, std::move(after_live));
  if (!Persist(version, digest, history, rollout_, error)) {
    *error = "state file " + admin_.state_file + ": " + *error;
    return false;
  }
  if (!Audit(request, before, after, "ok", version)) {
    RestoreStateFile();
    *error = "cannot append to the audit log " + admin_.audit_log;
    return false;
  }
  state_file_text_ = std::move(pending_state_file_text_);
  PublishAndWait(snapshot);
  applied_.fetch_add(1, std::memory_order_relaxed);
  snapshot_ = std::move(snapshot);
  version_ = version;
  config_digest_ = digest;
  history_ = std::move(history);
  return true;
}

bool ControlPlane::Record(const ChangeRequest& request, const json& details, const json& rollout,
                          std::string* error) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!rollout.is_null()) {
    if (!Persist(version_, config_digest_, history_, rollout, error)) {
      *error = "state file " + admin_.state_file + ": " + *error;
      return false;
    }
  }
  if (!Audit(request, nullptr, details, "ok", version_)) {
    if (!rollout.is_null()) RestoreStateFile();
    *error = "cannot append to the audit log " + admin_.audit_log;
    return false;
  }
  if (!rollout.is_null()) {
    state_file_text_ = std::move(pending_state_file_text_);
    rollout_ = rollout;
  }
  return true;
}

json ControlPlane::rollout() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return rollout_;
}

int64_t ControlPlane::HeldSince(const std::function<bool(const json& live)>& held) const {
  std::lock_guard<std::mutex> lock(mutex_);
  int64_t since = 0;
  for (const Version& entry : history_) {
    if (!held(entry.live)) break;
    since = entry.unix_ms;
  }
  return since;
}

json ControlPlane::History(std::size_t limit) const {
  std::lock_guard<std::mutex> lock(mutex_);
  json entries = json::array();
  for (const Version& entry : history_) {
    if (entries.size() >= limit) break;
    entries.push_back({{"version", entry.version},
                       {"time", admin::FormatRfc3339Millis(entry.unix_ms)},
                       {"actor", entry.actor},
                       {"action", entry.action},
                       {"reason", entry.reason},
                       {"weights", entry.live.at("weights")},
                       {"rules", entry.live.at("rules")}});
  }
  return {{"version", version_}, {"history", std::move(entries)}};
}

json ControlPlane::Health() const {
  std::lock_guard<std::mutex> lock(mutex_);
  const int64_t now = admin::UnixMillisNow();
  json state = admin::StateToJson(snapshot_->routing->spec(), version_);
  json pools = json::array();
  const auto& specs = snapshot_->routing->pools();
  for (std::size_t p = 0; p < specs.size(); ++p) {
    json endpoints = json::array();
    bool available = false;
    for (const ResolvedEndpoint& endpoint : snapshot_->endpoints[p]) {
      const bool healthy = endpoint.health->healthy.load(std::memory_order_relaxed);
      const bool ejected =
          endpoint.health->ejected_until_unix_ms.load(std::memory_order_relaxed) > now;
      available = available || (healthy && !ejected);
      endpoints.push_back({{"address", endpoint.name},
                           {"weight", endpoint.weight},
                           {"healthy", healthy},
                           {"ejected", ejected},
                           {"ejections", endpoint.health->ejections.load()}});
    }
    pools.push_back({{"name", specs[p].name},
                     {"weight", state["weights"][specs[p].name]},
                     {"available", available},
                     {"health_check", specs[p].health_check.enabled},
                     {"endpoints", std::move(endpoints)}});
  }
  return {{"version", version_}, {"pools", std::move(pools)}};
}

void ControlPlane::ReopenAuditLog() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!audit_.is_open()) return;
  std::string error;
  if (audit_.Reopen(&error)) {
    Log(LogLevel::kInfo, "audit: reopened %s", audit_.path().c_str());
  } else {
    Log(LogLevel::kError, "audit: cannot reopen %s: %s; still writing to the old file",
        audit_.path().c_str(), error.c_str());
  }
}

bool ControlPlane::Persist(uint64_t version, const std::string& digest,
                           const std::deque<Version>& history, const json& rollout,
                           std::string* error) {
  if (!admin_.enabled || admin_.state_file.empty()) return true;
  // The compact state exactly as json::dump() would print it (keys in sorted order), built
  // from entries serialised once each, so a change costs one entry, not the whole history.
  std::string state = "{\"config_routing_digest\":" + CompactJson(digest) + ",\"history\":[";
  for (std::size_t i = 0; i < history.size(); ++i) {
    if (i > 0) state += ',';
    state += history[i].text;
  }
  state += "]";
  if (!rollout.is_null()) state += ",\"rollout\":" + CompactJson(rollout);
  state += ",\"routing\":" + CompactJson(history.front().live) +
           ",\"version\":" + std::to_string(version) + "}";
  pending_state_file_text_ = admin::WrapCompactState(state, admin::UnixMillisNow());
  return admin::WriteStateFileAtomically(admin_.state_file, pending_state_file_text_, error);
}

void ControlPlane::RestoreStateFile() {
  if (!admin_.enabled || admin_.state_file.empty()) return;
  std::string error;
  if (!admin::WriteStateFileAtomically(admin_.state_file, state_file_text_, &error)) {
    Log(LogLevel::kError,
        "state: cannot put back %s after a failed change (%s); it may hold a change that was "
        "not applied",
        admin_.state_file.c_str(), error.c_str());
  }
}

bool ControlPlane::Audit(const ChangeRequest& request, const json& before, const json& after,
                         std::string_view result, uint64_t version) {
  if (!audit_.is_open()) return true;
  std::string error;
  const json entry =
      admin::AuditEntry(request.caller.actor, request.caller.source, request.action, before, after,
                        result, version, request.reason, admin::UnixMillisNow());
  if (audit_.Append(entry, &error)) return true;
  Log(LogLevel::kError, "audit: cannot append to %s: %s", audit_.path().c_str(), error.c_str());
  return false;
}

int64_t ControlPlane::PublishAndWait(const std::shared_ptr<const Snapshot>& snapshot) {
  const auto start = std::chrono::steady_clock::now();
  const uint64_t version = snapshot->routing->version();
  for (Worker* worker : workers_) worker->Publish(snapshot);
  const bool all = switched_->WaitUntil(
      [&] {
        for (const Worker* worker : workers_) {
          if (!worker->finished() && worker->routing_version() < version) return false;
        }
        return true;
      },
      start + kSwitchDeadline);
  const auto waited = std::chrono::duration_cast<std::chrono::microseconds>(
                          std::chrono::steady_clock::now() - start)
                          .count();
  if (!all) {
    Log(LogLevel::kError, "control: not every worker switched to version %llu within %lld ms",
        static_cast<unsigned long long>(version),
        static_cast<long long>(std::chrono::milliseconds(kSwitchDeadline).count()));
  }
  return waited;
}

void ControlPlane::Remember(std::deque<Version>* history, uint64_t version,
                            const ChangeRequest& request, json live) const {
  Version entry{version,
                admin::UnixMillisNow(),
                request.caller.actor,
                request.action,
                request.reason,
                std::move(live),
                ""};
  entry.text = CompactJson(json{{"version", entry.version},
                                {"unix_ms", entry.unix_ms},
                                {"actor", entry.actor},
                                {"action", entry.action},
                                {"reason", entry.reason},
                                {"live", entry.live}});
  history->push_front(std::move(entry));
  while (history->size() > kHistoryLimit) history->pop_back();
}

}  // namespace cutover::proxy
