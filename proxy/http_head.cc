#include "proxy/http_head.h"

#include <array>
#include <charconv>

namespace cutover::proxy {
namespace {

constexpr char ToLower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
}

// Fields that describe one connection, not the message (RFC 9110 §7.6.1), plus the
// framing fields the proxy restates itself.
bool IsHopByHop(std::string_view name) {
  static constexpr std::array<std::string_view, 10> kNames = {
      "connection", "keep-alive",        "proxy-connection", "te",     "trailer",
      "upgrade",    "transfer-encoding", "content-length",   "expect", "proxy-authorization"};
  for (std::string_view hop : kNames)
    if (EqualsIgnoreCase(name, hop)) return true;
  return false;
}

// Calls `fn` for each comma-separated token of a list value (RFC 9110 §5.6.1).
template <typename Fn>
void ForEachToken(std::string_view list, Fn&& fn) {
  while (!list.empty()) {
    const std::size_t comma = list.find(',');
    const std::string_view token = TrimOws(list.substr(0, comma));
    if (!token.empty()) fn(token);
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
}

bool ListedInConnection(const HeadBuffer& head, std::string_view name) {
  bool listed = false;
  for (const HeaderField& f : head.fields) {
    if (!EqualsIgnoreCase(head.Name(f), "connection")) continue;
    ForEachToken(head.Value(f), [&](std::string_view token) {
      if (EqualsIgnoreCase(token, name)) listed = true;
    });
  }
  return listed;
}

void AppendField(std::string* out, std::string_view name, std::string_view value) {
  out->append(name).append(": ").append(value).append("\r\n");
}

void AppendNumberField(std::string* out, std::string_view name, uint64_t value) {
  char digits[24];
  auto [end, ec] = std::to_chars(digits, digits + sizeof digits, value);
  AppendField(out, name, std::string_view(digits, static_cast<std::size_t>(end - digits)));
}

// Copies the end-to-end fields, dropping hop-by-hop ones and any in `also_drop`.
void AppendEndToEndFields(const HeadBuffer& head, std::string* out,
                          std::initializer_list<std::string_view> also_drop) {
  bool has_connection_list = false;
  for (const HeaderField& f : head.fields)
    if (EqualsIgnoreCase(head.Name(f), "connection")) has_connection_list = true;
  for (const HeaderField& f : head.fields) {
    const std::string_view name = head.Name(f);
    if (IsHopByHop(name)) continue;
    bool drop = false;
    for (std::string_view other : also_drop) drop = drop || EqualsIgnoreCase(name, other);
    if (drop || (has_connection_list && ListedInConnection(head, name))) continue;
    AppendField(out, name, head.Value(f));
  }
}

}  // namespace

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (ToLower(a[i]) != ToLower(b[i])) return false;
  return true;
}

std::string_view TrimOws(std::string_view value) {
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
  return value;
}

RequestHeadScan ScanRequestHead(const HeadBuffer& head) {
  RequestHeadScan scan;
  bool connection_upgrade = false;
  std::string_view upgrade;
  for (const HeaderField& f : head.fields) {
    const std::string_view name = head.Name(f);
    const std::string_view value = TrimOws(head.Value(f));
    if (EqualsIgnoreCase(name, "host")) {
      ++scan.host_count;
      scan.host = value;
    } else if (EqualsIgnoreCase(name, "expect")) {
      if (EqualsIgnoreCase(value, "100-continue")) {
        scan.expect_continue = true;
      } else {
        scan.expect_other = true;
      }
    } else if (EqualsIgnoreCase(name, "transfer-encoding")) {
      ForEachToken(value, [&](std::string_view token) {
        if (!EqualsIgnoreCase(token, "chunked")) scan.te_other = true;
      });
    } else if (EqualsIgnoreCase(name, "upgrade")) {
      upgrade = value;
    } else if (EqualsIgnoreCase(name, "connection")) {
      ForEachToken(value, [&](std::string_view token) {
        if (EqualsIgnoreCase(token, "upgrade")) connection_upgrade = true;
      });
    }
  }
  if (connection_upgrade) scan.upgrade = upgrade;
  return scan;
}

void SerializeRequestHead(HeadBuffer* head, const RequestRewrite& rw) {
  std::string& out = head->out;
  out.clear();
  out.append(rw.method).append(" ").append(rw.target).append(" HTTP/1.1\r\n");
  if (!rw.authority.empty()) AppendField(&out, "Host", rw.authority);
  AppendEndToEndFields(*head, &out,
                       {rw.authority.empty() ? std::string_view() : std::string_view("host"),
                        rw.client_address.empty() ? std::string_view() : "x-forwarded-for",
                        rw.forwarded_proto.empty() ? std::string_view() : "x-forwarded-proto"});
  if (!rw.client_address.empty()) {
    // Several incoming X-Forwarded-For fields form one list, in order (RFC 9110 §5.3).
    out.append("X-Forwarded-For: ");
    for (const HeaderField& f : head->fields) {
      if (!EqualsIgnoreCase(head->Name(f), "x-forwarded-for")) continue;
      const std::string_view value = TrimOws(head->Value(f));
      if (!value.empty()) out.append(value).append(", ");
    }
    out.append(rw.client_address).append("\r\n");
  }
  if (!rw.forwarded_proto.empty()) AppendField(&out, "X-Forwarded-Proto", rw.forwarded_proto);
  if (rw.framing == BodyFraming::kContentLength) {
    AppendNumberField(&out, "Content-Length", rw.content_length);
  } else if (rw.framing == BodyFraming::kChunked) {
    AppendField(&out, "Transfer-Encoding", "chunked");
  }
  if (!rw.upgrade.empty()) {
    AppendField(&out, "Upgrade", rw.upgrade);
    AppendField(&out, "Connection", "upgrade");
  }
  out.append("\r\n");
}

void SerializeResponseHead(HeadBuffer* head, const ResponseRewrite& rw) {
  std::string& out = head->out;
  out.clear();
  out.append("HTTP/1.1 ");
  char digits[4];
  auto [end, ec] = std::to_chars(digits, digits + sizeof digits, rw.status);
  out.append(digits, static_cast<std::size_t>(end - digits)).append(" ");
  out.append(rw.reason.empty() ? StatusReason(rw.status) : rw.reason).append("\r\n");
  AppendEndToEndFields(*head, &out, {});
  if (rw.head_request || rw.status == 304) {
    // Framing fields of a HEAD or 304 response describe the representation, not this
    // message (RFC 9110 §9.3.2, §15.4.5): pass Content-Length through as sent.
    for (const HeaderField& f : head->fields)
      if (EqualsIgnoreCase(head->Name(f), "content-length"))
        AppendField(&out, "Content-Length", TrimOws(head->Value(f)));
  } else if (rw.framing == BodyFraming::kContentLength) {
    AppendNumberField(&out, "Content-Length", rw.content_length);
  } else if (rw.framing == BodyFraming::kChunked) {
    AppendField(&out, "Transfer-Encoding", "chunked");
  }
  out.append(rw.extra_fields);
  if (!rw.upgrade.empty()) {
    AppendField(&out, "Upgrade", rw.upgrade);
    AppendField(&out, "Connection", "upgrade");
  } else if (!rw.keep_alive) {
    AppendField(&out, "Connection", "close");
  } else if (rw.http10_keep_alive) {
    AppendField(&out, "Connection", "keep-alive");
  }
  out.append("\r\n");
}

std::string_view StatusReason(int status) {
  switch (status) {
    case 100:
      return "Continue";
    case 101:
      return "Switching Protocols";
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 204:
      return "No Content";
    case 304:
      return "Not Modified";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 409:
      return "Conflict";
    case 411:
      return "Length Required";
    case 413:
      return "Content Too Large";
    case 414:
      return "URI Too Long";
    case 417:
      return "Expectation Failed";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    case 505:
      return "HTTP Version Not Supported";
    default:
      return "Unknown";
  }
}

std::string BuildErrorResponse(int status, std::string_view detail, bool close) {
  std::string body = "cutover: ";
  body.append(detail).append("\n");
  std::string out = "HTTP/1.1 ";
  out.append(std::to_string(status)).append(" ").append(StatusReason(status)).append("\r\n");
  out.append("Content-Type: text/plain; charset=utf-8\r\n");
  out.append("Content-Length: ").append(std::to_string(body.size())).append("\r\n");
  if (status == 405) out.append("Allow: GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS\r\n");
  if (close) out.append("Connection: close\r\n");
  out.append("\r\n").append(body);
  return out;
}

bool ValidHost(std::string_view host) {
  for (const char c : host) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    std::string_view("-._~%!$&'()*+,;=:[]").find(c) != std::string_view::npos;
    if (!ok) return false;
  }
  return true;
}

bool SplitAbsoluteForm(std::string_view target, std::string_view* authority,
                       std::string_view* origin_form) {
  std::size_t scheme_end = target.find("://");
  if (scheme_end == std::string_view::npos || target.empty() || target[0] == '/') return false;
  const std::string_view scheme = target.substr(0, scheme_end);
  if (!EqualsIgnoreCase(scheme, "http") && !EqualsIgnoreCase(scheme, "https")) return false;
  const std::string_view rest = target.substr(scheme_end + 3);
  const std::size_t path_start = rest.find_first_of("/?");
  *authority = rest.substr(0, path_start);
  if (path_start == std::string_view::npos) {
    *origin_form = "/";
  } else if (rest[path_start] == '?') {
    *origin_form = rest.substr(path_start);  // caller prefixes "/" if needed
  } else {
    *origin_form = rest.substr(path_start);
  }
  return !authority->empty();
}

}  // namespace cutover::proxy
