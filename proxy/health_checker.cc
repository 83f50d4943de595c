#include "proxy/health_checker.h"

#include <cstring>
#include <memory>
#include <string>

#include "proxy/log.h"
#include "proxy/uv_callback.h"
#include "tls/client_context.h"
#include "tls/engine.h"

namespace cutover::proxy {

// One endpoint's check loop: timer -> connect -> (TLS handshake) -> write request -> read the
// status line -> verdict -> timer. One attempt at a time; each attempt gets a fresh TCP handle
// (and, for a TLS pool, a fresh engine: the check speaks to the endpoint exactly as requests
// do, verifying it the same way, so a certificate problem also marks it unhealthy).
class HealthChecker::Probe {
 public:
  Probe(uv_loop_t* loop, const ResolvedEndpoint& endpoint, const std::string& pool,
        const routing::HealthCheckSpec& spec)
      : loop_(loop), endpoint_(endpoint), pool_(pool), spec_(spec) {
    uv_timer_init(loop, &interval_timer_);
    interval_timer_.data = this;
    uv_timer_init(loop, &timeout_timer_);
    timeout_timer_.data = this;
    // A TLS pool's server_name is the virtual host the backend serves.
    const std::string_view server_name =
        endpoint.tls ? endpoint.tls->NameFor("") : std::string_view();
    const std::string host = server_name.empty() ? endpoint.name : std::string(server_name);
    request_ = "GET " + spec.path + " HTTP/1.1\r\nHost: " + host +
               "\r\nUser-Agent: cutover-health-check\r\nConnection: close\r\n\r\n";
    uv_timer_start(&interval_timer_, &UvCallback<&Probe::OnInterval>::Call, 0,
                   static_cast<uint64_t>(spec.interval_ms));
  }
  Probe(const Probe&) = delete;
  Probe& operator=(const Probe&) = delete;

  void Stop() {
    stopped_ = true;
    EndAttempt();
    CloseHandle(&interval_timer_);
    CloseHandle(&timeout_timer_);
  }

 private:
  ~Probe() = default;

  template <typename Handle>
  void CloseHandle(Handle* handle) {
    ++closing_;
    uv_close(reinterpret_cast<uv_handle_t*>(handle), &UvCallback<&Probe::OnHandleClosed>::Call);
  }
  void OnHandleClosed() {
    if (--closing_ == 0 && stopped_) delete this;
  }

  void OnInterval() {
    if (attempt_open_) return;  // the previous attempt is still within its timeout
    tcp_ = new uv_tcp_t;
    uv_tcp_init(loop_, tcp_);
    tcp_->data = this;
    attempt_open_ = true;
    status_line_.clear();
    connect_req_.data = this;
    const int rc =
        uv_tcp_connect(&connect_req_, tcp_, reinterpret_cast<const sockaddr*>(&endpoint_.address),
                       &UvCallback<&Probe::OnConnect>::Call);
    uv_timer_start(&timeout_timer_, &UvCallback<&Probe::OnTimeout>::Call,
                   static_cast<uint64_t>(spec_.timeout_ms), 0);
    if (rc != 0) Verdict(false, uv_strerror(rc));
  }

  void OnConnect(int status) {
    if (!attempt_open_) return;
    if (status < 0) {
      Verdict(false, uv_strerror(status));
      return;
    }
    uv_read_start(reinterpret_cast<uv_stream_t*>(tcp_), &UvCallback<&Probe::OnAlloc>::Call,
                  &UvCallback<&Probe::OnRead>::Call);
    if (!endpoint_.tls) {
      Send(request_);
      return;
    }
    // Its own session key: checks resume sessions among themselves and never use up the
    // tickets the workers' connections would resume with.
    tls_ = tls::Engine::Connect(endpoint_.tls, endpoint_.host, endpoint_.name + " health check");
    if (tls_->failed()) {
      Verdict(false, ("TLS: " + tls_->error()).c_str());
      return;
    }
    tls_->Write(request_.data(), request_.size());  // held until the handshake is done
    tls_->Flush();
    SendTls();  // the ClientHello
  }

  // One write per call, each with its own request and copy of the bytes: a TLS handshake
  // writes more than once and a check is rare enough not to pool them.
  struct PendingWrite {
    uv_write_t req;  // first: the callback gets the request back
    uv_tcp_t* tcp;   // the attempt it belongs to
    std::string bytes;
  };

  void Send(std::string bytes) {
    auto* write = new PendingWrite{.req = {}, .tcp = tcp_, .bytes = std::move(bytes)};
    write->req.data = this;
    uv_buf_t buf = uv_buf_init(write->bytes.data(), static_cast<unsigned>(write->bytes.size()));
    const int rc = uv_write(&write->req, reinterpret_cast<uv_stream_t*>(tcp_), &buf, 1,
                            [](uv_write_t* req, int status) {
                              auto* done = reinterpret_cast<PendingWrite*>(req);
                              static_cast<Probe*>(req->data)->OnWrite(done->tcp, status);
                              delete done;
                            });
    if (rc != 0) {
      delete write;
      Verdict(false, uv_strerror(rc));
    }
  }

  void SendTls() {
    if (tls_->PendingOutput() == 0) return;
    std::string bytes(tls_->PendingOutput(), '\0');
    bytes.resize(tls_->TakeOutput(bytes.data(), bytes.size()));
    Send(std::move(bytes));
  }

  // Runs before the attempt's TCP handle is freed (a close cancels its writes first), and
  // before the probe is deleted (Stop closes the TCP handle before the timers).
  void OnWrite(const uv_tcp_t* tcp, int status) {
    if (attempt_open_ && tcp == tcp_ && status < 0) Verdict(false, uv_strerror(status));
  }

  void OnAlloc(size_t, uv_buf_t* buf) { *buf = uv_buf_init(read_buffer_, sizeof read_buffer_); }

  void OnRead(ssize_t nread, const uv_buf_t* buf) {
    if (!attempt_open_) return;
    if (nread < 0) {
      const bool handshaking = tls_ && !tls_->handshake_done();
      Verdict(false,
              handshaking ? "closed during the TLS handshake" : "closed before a status line");
      return;
    }
    if (!tls_) {
      OnResponseBytes(buf->base, static_cast<std::size_t>(nread));
      return;
    }
    tls_->Receive(buf->base, static_cast<std::size_t>(nread));
    char plain[1024];
    long n;
    while ((n = tls_->Read(plain, sizeof plain)) > 0) {
      if (!OnResponseBytes(plain, static_cast<std::size_t>(n))) return;  // verdict given
    }
    if (n == tls::Engine::kFailed) {
      const std::string why = "TLS: " + tls_->error();
      SendTls();  // the alert, telling the backend why
      if (attempt_open_) Verdict(false, why.c_str());
    } else if (n == tls::Engine::kClosed) {
      Verdict(false, "closed before a status line");
    } else {
      SendTls();  // handshake messages, then the request once the handshake is done
    }
  }

  // Response bytes (plaintext); false once they gave the verdict.
  bool OnResponseBytes(const char* data, std::size_t length) {
    status_line_.append(data, length);
    const std::size_t eol = status_line_.find("\r\n");
    if (eol == std::string::npos) {
      if (status_line_.size() <= 1024) return true;
      Verdict(false, "status line too long");
      return false;
    }
    // "HTTP/1.x NNN reason": 2xx and 3xx pass.
    const bool pass = eol >= 12 && status_line_.compare(0, 7, "HTTP/1.") == 0 &&
                      (status_line_[9] == '2' || status_line_[9] == '3');
    Verdict(pass, pass ? "" : status_line_.substr(0, eol).c_str());
    return false;
  }

  void OnTimeout() { Verdict(false, "timed out"); }

  void Verdict(bool pass, const char* why) {
    EndAttempt();
    uv_timer_stop(&timeout_timer_);
    EndpointHealth& health = *endpoint_.health;
    if (pass) {
      failures_ = 0;
      if (++passes_ >= spec_.healthy_threshold && !health.healthy.load()) {
        health.healthy.store(true);
        Log(LogLevel::kInfo, "health: %s endpoint %s is healthy again", pool_.c_str(),
            endpoint_.name.c_str());
      }
    } else {
      passes_ = 0;
      if (++failures_ >= spec_.unhealthy_threshold && health.healthy.load()) {
        health.healthy.store(false);
        Log(LogLevel::kWarn, "health: %s endpoint %s is unhealthy (%s)", pool_.c_str(),
            endpoint_.name.c_str(), why);
      }
    }
  }

  void EndAttempt() {
    if (!attempt_open_) return;
    attempt_open_ = false;
    tls_.reset();
    uv_tcp_t* tcp = tcp_;
    tcp_ = nullptr;
    // The TCP handle is per attempt: freed in its own close callback.
    uv_close(reinterpret_cast<uv_handle_t*>(tcp),
             [](uv_handle_t* handle) { delete reinterpret_cast<uv_tcp_t*>(handle); });
  }

  uv_loop_t* loop_;
  ResolvedEndpoint endpoint_;
  std::string pool_;
  routing::HealthCheckSpec spec_;
  std::string request_;
  std::string status_line_;
  uv_timer_t interval_timer_;
  uv_timer_t timeout_timer_;
  uv_tcp_t* tcp_ = nullptr;
  uv_connect_t connect_req_;
  std::unique_ptr<tls::Engine> tls_;  // per attempt, for a TLS pool
  char read_buffer_[4096];
  uint32_t passes_ = 0;
  uint32_t failures_ = 0;
  int closing_ = 0;
  bool attempt_open_ = false;
  bool stopped_ = false;
};

HealthChecker::~HealthChecker() {
  Stop();
}

void HealthChecker::Stop() {
  for (Probe* probe : probes_) probe->Stop();
  probes_.clear();
}

void HealthChecker::Apply(const Snapshot& snapshot) {
  Stop();
  const auto& pools = snapshot.routing->pools();
  for (std::size_t p = 0; p < pools.size(); ++p) {
    const routing::HealthCheckSpec& spec = pools[p].health_check;
    if (!spec.enabled) {
      // Unchecked endpoints must not stay marked down from an earlier config.
      for (const ResolvedEndpoint& endpoint : snapshot.endpoints[p])
        endpoint.health->healthy = true;
      continue;
    }
    for (const ResolvedEndpoint& endpoint : snapshot.endpoints[p]) {
      probes_.push_back(new Probe(loop_, endpoint, pools[p].name, spec));
    }
  }
}

}  // namespace cutover::proxy
