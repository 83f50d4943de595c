#include "proxy/health_checker.h"

#include <cstring>
#include <string>

#include "proxy/log.h"
#include "proxy/uv_callback.h"

namespace cutover::proxy {

// One endpoint's check loop: timer -> connect -> write request -> read the status line ->
// verdict -> timer. One attempt at a time; each attempt gets a fresh TCP handle.
class HealthChecker::Probe {
 public:
  Probe(uv_loop_t* loop, const ResolvedEndpoint& endpoint, const std::string& pool,
        const routing::HealthCheckSpec& spec)
      : loop_(loop), endpoint_(endpoint), pool_(pool), spec_(spec) {
    uv_timer_init(loop, &interval_timer_);
    interval_timer_.data = this;
    uv_timer_init(loop, &timeout_timer_);
    timeout_timer_.data = this;
    request_ = "GET " + spec.path + " HTTP/1.1\r\nHost: " + endpoint.name +
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
    uv_buf_t buf = uv_buf_init(request_.data(), static_cast<unsigned>(request_.size()));
    write_req_.data = this;
    uv_write(&write_req_, reinterpret_cast<uv_stream_t*>(tcp_), &buf, 1,
             &UvCallback<&Probe::OnWrite>::Call);
    uv_read_start(reinterpret_cast<uv_stream_t*>(tcp_), &UvCallback<&Probe::OnAlloc>::Call,
                  &UvCallback<&Probe::OnRead>::Call);
  }

  void OnWrite(int status) {
    if (attempt_open_ && status < 0) Verdict(false, uv_strerror(status));
  }

  void OnAlloc(size_t, uv_buf_t* buf) { *buf = uv_buf_init(read_buffer_, sizeof read_buffer_); }

  void OnRead(ssize_t nread, const uv_buf_t* buf) {
    if (!attempt_open_) return;
    if (nread < 0) {
      Verdict(false, "closed before a status line");
      return;
    }
    status_line_.append(buf->base, static_cast<std::size_t>(nread));
    const std::size_t eol = status_line_.find("\r\n");
    if (eol == std::string::npos) {
      if (status_line_.size() > 1024) Verdict(false, "status line too long");
      return;
    }
    // "HTTP/1.x NNN reason": 2xx and 3xx pass.
    const bool pass = eol >= 12 && status_line_.compare(0, 7, "HTTP/1.") == 0 &&
                      (status_line_[9] == '2' || status_line_[9] == '3');
    Verdict(pass, pass ? "" : status_line_.substr(0, eol).c_str());
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
  uv_write_t write_req_;
  char read_buffer_[1024];
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
