#include "proxy/ctl/response_views.h"

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <string_view>

#include "proxy/ctl/guardrail_view.h"
#include "proxy/ctl/json_fields.h"
#include "proxy/ctl/table.h"
#include "proxy/ctl/weights_plan.h"

namespace cutover::proxy::ctl {
namespace {

using nlohmann::json;

constexpr std::string_view kMissing = "-";

// A value as a table cell: strings as they are, booleans as yes/no, percents without float
// noise, missing or empty as "-".
std::string Cell(const json& value) {
  if (value.is_null()) return std::string(kMissing);
  if (value.is_string()) {
    const auto& text = value.get_ref<const std::string&>();
    return text.empty() ? std::string(kMissing) : text;
  }
  if (value.is_boolean()) return value.get<bool>() ? "yes" : "no";
  if (value.is_number_float()) {
    const double number = value.get<double>();
    const double basis_points = std::round(number * 100.0);
    if (number >= 0 && number <= 100 && std::fabs(number * 100.0 - basis_points) < 1e-6) {
      return FormatPercent(static_cast<uint32_t>(basis_points));
    }
  }
  return value.dump();
}

std::string Field(const json& object, const char* key) {
  if (!object.is_object()) return std::string(kMissing);
  const auto it = object.find(key);
  return it == object.end() ? std::string(kMissing) : Cell(*it);
}

// A number with `decimals` places, "-" when it is not a number (a ratio over nothing is null).
std::string Fixed(const json& value, int decimals) {
  if (!value.is_number()) return std::string(kMissing);
  char text[64];
  std::snprintf(text, sizeof text, "%.*f", decimals, value.get<double>());
  return text;
}

// "blue=90 green=10" from a {"blue": 90, "green": 10} object, in the object's order.
std::string WeightsText(const json& weights) {
  if (!weights.is_object() || weights.empty()) return std::string(kMissing);
  std::string text;
  for (const auto& [pool, weight] : weights.items()) {
    if (!text.empty()) text += ' ';
    text += pool + "=" + Cell(weight);
  }
  return text;
}

std::string Joined(const json& values) {
  if (!values.is_array()) return Cell(values);
  std::string text;
  for (const json& value : values) {
    if (!text.empty()) text += ',';
    text += value.is_string() ? value.get<std::string>() : value.dump();
  }
  return text;
}

std::string RulesTable(const json& rules) {
  Table table({"RULE", "ENABLED", "POOL", "KIND", "OWNER", "EXPIRES", "MATCH"});
  if (rules.is_array()) {
    for (const json& rule : rules) {
      const std::string match = MatchLine(Member(rule, "match"));
      table.AddRow({Field(rule, "name"), Field(rule, "enabled"), Field(rule, "pool"),
                    Field(rule, "kind"), Field(rule, "owner"), Field(rule, "expires"),
                    match.empty() ? "(everything)" : match});
    }
  }
  if (table.empty()) return "no rules\n";
  return table.Render();
}

// The weight of pool `name` in state["weights"], which lists pools by name.
std::string WeightOf(const json& state, const std::string& name) {
  const json& weights = Member(state, "weights");
  return weights.is_object() && weights.contains(name) ? Cell(weights[name])
                                                       : std::string(kMissing);
}

// "2027-01-10" (UTC).
std::string Date(int64_t unix_seconds) {
  const time_t when = static_cast<time_t>(unix_seconds);
  tm utc{};
  char text[32] = "?";
  if (gmtime_r(&when, &utc) != nullptr) std::strftime(text, sizeof text, "%Y-%m-%d", &utc);
  return text;
}

std::string Days(int64_t days) {
  return std::to_string(days) + (days == 1 ? " day" : " days");
}

// "tls: a.test, *.a.test  expires 2027-01-10 (46 days)" for each certificate in `certificates`.
std::string CertificateLines(const std::string& label, const json& certificates, int64_t now_unix) {
  std::string out;
  if (!certificates.is_array()) return out;
  for (const json& certificate : certificates) {
    const json& names = Member(certificate, "names");
    std::string named;
    if (names.is_array()) {
      for (const json& name : names) {
        if (!name.is_string()) continue;
        named += (named.empty() ? "" : ", ") + name.get<std::string>();
      }
    }
    if (named.empty()) named = Field(certificate, "file");
    named = SanitizeCell(named);  // from a certificate, on its way to the operator's terminal
    const json& not_after = Member(certificate, "not_after_unix");
    if (!not_after.is_number_integer()) {
      out += label + ": " + named + "  expires ?\n";
      continue;
    }
    const int64_t expiry = not_after.get<int64_t>();
    const json& days_left = Member(certificate, "days_left");
    const int64_t days =
        days_left.is_number_integer() ? days_left.get<int64_t>() : (expiry - now_unix) / 86400;
    if (expiry <= now_unix) {
      out += label + ": " + named + "  expired " + Date(expiry) + " (" +
             Days((now_unix - expiry) / 86400) + " ago)  EXPIRED\n";
    } else {
      out += label + ": " + named + "  expires " + Date(expiry) + " (" + Days(days) + ")" +
             (days < kExpirySoonDays ? "  EXPIRES SOON" : "") + "\n";
    }
  }
  return out;
}

}  // namespace

std::string TlsView(const json& tls, int64_t now_unix) {
  return CertificateLines("tls", Member(tls, "certificates"), now_unix) +
         CertificateLines("admin tls", Member(Member(tls, "admin"), "certificates"), now_unix);
}

std::string MatchLine(const json& match) {
  if (!match.is_object()) return "";
  std::string text;
  for (const auto& [key, value] : match.items()) {
    if (!text.empty()) text += "; ";
    text += key + " ";
    if (value.is_object()) {
      std::string named;
      for (const auto& [name, values] : value.items()) {
        if (!named.empty()) named += ' ';
        named += name + "=" + Joined(values);
      }
      text += named;
    } else {
      text += Joined(value);
    }
  }
  return text;
}

std::string WeightsLine(const json& state) {
  return WeightsText(Member(state, "weights"));
}

std::string StatusView(const json& state) {
  std::string out = "version " + Field(state, "version") + " (epoch " + Field(state, "epoch") +
                    ")  baseline " + Field(state, "baseline") + "  candidate " +
                    Field(state, "candidate") + "\n\n";
  Table pools({"POOL", "WEIGHT", "ENDPOINTS", "BALANCE", "FAILOVER"});
  const json& pool_list = Member(state, "pools");
  if (pool_list.is_array()) {
    for (const json& pool : pool_list) {
      const json& endpoints = Member(pool, "endpoints");
      const std::string name = Field(pool, "name");
      pools.AddRow({name, WeightOf(state, name),
                    endpoints.is_array() ? std::to_string(endpoints.size()) : std::string(kMissing),
                    Field(pool, "balance"), Field(pool, "failover")});
    }
  }
  out += pools.Render() + "\n" + RulesTable(Member(state, "rules"));
  return out;
}

std::string RulesView(const json& rules) {
  if (rules.is_array()) return RulesTable(rules);
  return "version " + Field(rules, "version") + "\n\n" + RulesTable(Member(rules, "rules"));
}

std::string HistoryView(const json& history) {
  Table table({"VERSION", "TIME", "ACTOR", "ACTION", "REASON", "WEIGHTS"});
  const json& entries = Member(history, "history");
  if (entries.is_array()) {
    for (const json& entry : entries) {
      table.AddRow({Field(entry, "version"), Field(entry, "time"), Field(entry, "actor"),
                    Field(entry, "action"), Field(entry, "reason"),
                    WeightsText(Member(entry, "weights"))});
    }
  }
  if (table.empty()) return "no history\n";
  return table.Render();
}

std::string AuditView(const json& audit) {
  Table table({"TIME", "ACTOR", "SOURCE", "ACTION", "RESULT", "VERSION", "REASON"});
  const json& entries = Member(audit, "entries");
  if (entries.is_array()) {
    for (const json& entry : entries) {
      table.AddRow({Field(entry, "time"), Field(entry, "actor"), Field(entry, "source"),
                    Field(entry, "action"), Field(entry, "result"), Field(entry, "version"),
                    Field(entry, "reason")});
    }
  }
  if (table.empty()) return "no audit entries\n";
  return table.Render();
}

std::string HealthView(const json& health) {
  Table table({"POOL", "ENDPOINT", "HEALTHY", "EJECTED", "EJECTIONS"});
  const json& pools = Member(health, "pools");
  if (pools.is_array()) {
    for (const json& pool : pools) {
      const json& endpoints = Member(pool, "endpoints");
      if (!endpoints.is_array() || endpoints.empty()) {
        table.AddRow({Field(pool, "name"), "(no endpoints)"});
        continue;
      }
      for (const json& endpoint : endpoints) {
        table.AddRow({Field(pool, "name"), Field(endpoint, "address"), Field(endpoint, "healthy"),
                      Field(endpoint, "ejected"), Field(endpoint, "ejections")});
      }
    }
  }
  std::string out = "version " + Field(health, "version") + "\n\n";
  return out + (table.empty() ? "no pools\n" : table.Render());
}

std::string CompareView(const json& compare) {
  Table table({"POOL", "WEIGHT", "REQUESTS", "REQ/S", "ERROR RATE", "P50 MS", "P90 MS", "P99 MS"});
  const json& pools = Member(compare, "pools");
  if (pools.is_object()) {
    for (const auto& [name, pool] : pools.items()) {
      table.AddRow({name, Field(pool, "weight"), Field(pool, "requests"),
                    Fixed(Member(pool, "requests_per_second"), 1),
                    Fixed(Member(pool, "error_rate"), 4), Fixed(Member(pool, "p50_ms"), 1),
                    Fixed(Member(pool, "p90_ms"), 1), Fixed(Member(pool, "p99_ms"), 1)});
    }
  }
  std::string out = "version " + Field(compare, "version") + ", last " +
                    Fixed(Member(compare, "covered_seconds"), 0) + " s of a " +
                    Fixed(Member(compare, "window_seconds"), 0) + " s window\n\n";
  out += table.empty() ? "no pools\n" : table.Render();
  const json& delta = Member(compare, "delta");
  if (delta.is_object()) {
    out += "\n" + Field(compare, "candidate") + " - " + Field(compare, "baseline") +
           ": error rate " + Fixed(Member(delta, "error_rate"), 4) + ", p50 " +
           Fixed(Member(delta, "p50_ms"), 1) + " ms, p99 " + Fixed(Member(delta, "p99_ms"), 1) +
           " ms, p99 ratio " + Fixed(Member(delta, "p99_ratio"), 2) + "\n";
  }
  const std::string verdict = VerdictLine(Member(compare, "guardrail"));
  if (!verdict.empty()) out += "guardrail verdict: " + verdict + "\n";
  return out;
}

std::string ChangeView(const json& state) {
  std::string out = "version " + Field(state, "version") + ": " + WeightsLine(state);
  const json& workers = Member(state, "workers");
  const json& switch_us = Member(state, "switch_us");
  if (!workers.is_null() || !switch_us.is_null()) {
    const bool one = workers.is_number() && workers.get<double>() == 1;
    out += " (" + Cell(workers) + (one ? " worker" : " workers") + " switched in " +
           Cell(switch_us) + " us)";
  }
  return out + "\n";
}

}  // namespace cutover::proxy::ctl
