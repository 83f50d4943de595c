#include "proxy/ctl/guardrail_view.h"

#include <cctype>
#include <cmath>
#include <cstdio>
#include <optional>

#include "proxy/ctl/json_fields.h"
#include "proxy/ctl/table.h"
#include "proxy/ctl/time_text.h"

namespace cutover::proxy::ctl {
namespace {

using nlohmann::json;

std::optional<double> Number(const json& object, const char* key) {
  const json& value = Member(object, key);
  if (!value.is_number()) return std::nullopt;
  return value.get<double>();
}

bool Flag(const json& object, const char* key) {
  const json& value = Member(object, key);
  return value.is_boolean() && value.get<bool>();
}

// A limit as typed in the config: 0.01, 1.5, 0.0001 (%g drops trailing zeros).
std::string Figure(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%g", value);
  return text;
}

// A number with `decimals` places, "-" when absent (p99 of no requests is null).
std::string Fixed(const json& object, const char* key, int decimals) {
  const auto value = Number(object, key);
  if (!value) return "-";
  char text[64];
  std::snprintf(text, sizeof text, "%.*f", decimals, *value);
  return text;
}

// "p99" for 0.99, "p99.9" for 0.999, "p50" for 0.5.
std::string QuantileName(double quantile) {
  return "p" + Figure(std::round(quantile * 1000.0) / 10.0);
}

// What the configured action does to the candidate, in words.
std::string ActionWords(const std::string& action) {
  if (action == "rollback") return "rolls back the candidate";
  if (action == "pause") return "pauses the rollout";
  return action.empty() ? "does nothing" : "does '" + action + "'";
}

void AddPoolRow(Table* table, const json& pool, const char* role) {
  if (!pool.is_object()) return;
  table->AddRow({Text(pool, "pool"), role, Fixed(pool, "requests", 0), Fixed(pool, "errors", 0),
                 Fixed(pool, "error_rate", 4), Fixed(pool, "p99_ms", 1)});
}

// What a breach did, in the past tense.
std::string DoneWords(const std::string& action) {
  if (action == "rollback") return "rolled back";
  if (action == "pause") return "rollout paused";
  return action;
}

std::string BreachLines(const json& breach) {
  if (!breach.is_object()) return "";
  const bool acknowledged = Flag(breach, "acknowledged");
  std::string out = "breach: " + Text(breach, "rule");
  const auto when = Number(breach, "unix_ms");
  if (when) out += " at " + FormatUtc(static_cast<int64_t>(*when));
  const std::string action = Text(breach, "action");
  if (!action.empty()) out += ", " + DoneWords(action);
  out += acknowledged ? ", acknowledged\n" : ", NOT ACKNOWLEDGED\n";
  const std::string explain = Text(breach, "explain");
  if (!explain.empty()) out += "  " + explain + "\n";
  if (!acknowledged) {
    out += "  `cutover ctl guardrails ack --reason TEXT` acknowledges it";
    out += action == "pause" ? " (add --resume to resume the rollout)\n" : "\n";
  }
  return out;
}

// "error_rate 1, latency 2", only the rules that fired; "" when none did.
std::string BreachCounts(const json& totals) {
  if (!totals.is_object()) return "";
  std::string text;
  for (const auto& [rule, count] : totals.items()) {
    if (!count.is_number() || count.get<double>() <= 0) continue;
    if (!text.empty()) text += ", ";
    text += SanitizeCell(rule) + " " + count.dump();
  }
  return text;
}

}  // namespace

std::string VerdictLine(const json& verdict) {
  const std::string kind = Text(verdict, "kind");
  const std::string explain = Text(verdict, "explain");
  // The server's explanation starts with its verdict ("breach error_rate: ...", "healthy:
  // ...", "insufficient data: ..."); the label goes in front only when it does not, so the
  // line never says it twice.
  const auto labelled = [&explain](const std::string& label) {
    if (explain.empty()) return label;
    std::string said = label;
    for (char& c : said) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (explain.starts_with(said)) return label + explain.substr(said.size());
    return label + ": " + explain;
  };
  if (kind == "healthy") return labelled("healthy");
  if (kind == "breach") {
    const std::string rule = Text(verdict, "rule");
    return labelled(rule.empty() ? "BREACH" : "BREACH " + rule);
  }
  if (kind == "insufficient_data") return labelled("insufficient data");
  if (kind == "none") return labelled("no candidate");
  return kind.empty() ? "" : labelled(kind);
}

std::string GuardrailSpecLine(const json& spec) {
  std::string text;
  const auto add = [&text](const std::string& rule) { text += (text.empty() ? "" : "; ") + rule; };
  const auto limit = [&spec](const char* key) {
    const auto value = Number(spec, key);
    return value && *value > 0 ? value : std::nullopt;
  };
  if (const auto n = limit("min_requests")) add("at least " + Figure(*n) + " requests per pool");
  if (const auto v = limit("max_error_rate_increase")) {
    add("error rate at most baseline + " + Figure(*v));
  }
  if (const auto v = limit("max_error_rate_ratio"))
    add("error rate at most " + Figure(*v) + " x baseline");
  if (const auto v = limit("max_error_rate")) add("error rate at most " + Figure(*v));
  const std::string quantile = QuantileName(Number(spec, "latency_quantile").value_or(0.99));
  if (const auto v = limit("max_latency_ratio"))
    add(quantile + " at most " + Figure(*v) + " x baseline");
  if (const auto v = limit("max_latency_ms")) add(quantile + " at most " + Figure(*v) + " ms");
  const auto per_check = limit("false_alarm");
  const auto budget = limit("budget_false_alarm");
  if (per_check || budget) {
    // false_alarm bounds the breaches of a candidate that behaves like the baseline;
    // budget_false_alarm those of one right at the edge of its budget (routing/guardrail.h).
    std::string alarms = "false breaches at most";
    if (per_check) alarms += " " + Figure(*per_check) + " per check like the baseline";
    if (per_check && budget) alarms += ",";
    if (budget) alarms += " " + Figure(*budget) + " at the budget's edge";
    add(alarms);
  }
  return text;
}

std::string GuardrailsView(const json& guardrails) {
  std::string out;
  const auto window_ms = Number(guardrails, "window_ms");
  const std::string window =
      window_ms ? " (window " + FormatDuration(static_cast<int64_t>(*window_ms)) + ")" : "";
  if (Flag(guardrails, "enabled")) {
    out = "guardrails on: a breach " + ActionWords(Text(guardrails, "action")) + window + "\n";
  } else {
    // docs/guardrails.md: without the section only a rollout acts on a breach (it stops).
    out = "guardrails off (no [guardrails] in the config): a breach only stops a rollout" + window +
          "\n";
  }
  const json& verdict = Member(guardrails, "verdict");
  const std::string line = VerdictLine(verdict);
  out += "verdict: " + (line.empty() ? std::string("-") : line);
  const auto evaluated = Number(verdict, "evaluated_unix_ms");
  if (evaluated && *evaluated > 0) out += " (" + FormatUtc(static_cast<int64_t>(*evaluated)) + ")";
  out += "\n";
  Table pools({"POOL", "ROLE", "REQUESTS", "ERRORS", "ERROR RATE", "P99 MS"});
  AddPoolRow(&pools, Member(verdict, "baseline"), "baseline");
  AddPoolRow(&pools, Member(verdict, "candidate"), "candidate");
  if (!pools.empty()) out += "\n" + pools.Render() + "\n";
  const std::string rules = GuardrailSpecLine(Member(guardrails, "spec"));
  if (!rules.empty()) out += "rules: " + rules + "\n";
  out += BreachLines(Member(guardrails, "breach"));
  const std::string counts = BreachCounts(Member(guardrails, "breaches_total"));
  if (!counts.empty()) out += "breaches since start: " + counts + "\n";
  return out;
}

std::string GuardrailStatusLine(const json& guardrails) {
  const std::string verdict = VerdictLine(Member(guardrails, "verdict"));
  std::string line = Flag(guardrails, "enabled")
                         ? "guardrails (" + Text(guardrails, "action") + " on breach): "
                         : "guardrails off (verdict only): ";
  line += verdict.empty() ? "-" : verdict;
  const json& breach = Member(guardrails, "breach");
  if (breach.is_object() && !Flag(breach, "acknowledged")) {
    line += "; unacknowledged " + Text(breach, "rule") + " breach: `cutover ctl guardrails`";
  }
  return line;
}

}  // namespace cutover::proxy::ctl
