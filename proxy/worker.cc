#include "proxy/worker.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <random>

#include "metrics/single_writer.h"
#include "proxy/client_connection.h"
#include "proxy/listener_tls.h"
#include "proxy/log.h"
#include "proxy/upstream_connection.h"
#include "proxy/uv_callback.h"

namespace cutover::proxy {

int OpenReusePortListener(const std::string& host, uint16_t port, std::string* error) {
  sockaddr_storage address;
  if (!ResolveNumeric(host, port, &address)) {
    *error = "listener address '" + host + "' is not a numeric address";
    return -1;
  }
  const int fd = socket(address.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    *error = std::string("socket: ") + std::strerror(errno);
    return -1;
  }
  const int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  // Each worker binds its own socket; the kernel spreads new connections across them.
  setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
  const socklen_t length =
      address.ss_family == AF_INET ? sizeof(sockaddr_in) : sizeof(sockaddr_in6);
  if (bind(fd, reinterpret_cast<sockaddr*>(&address), length) != 0 || listen(fd, 4096) != 0) {
    *error = "cannot listen on " + host + ":" + std::to_string(port) + ": " + std::strerror(errno);
    close(fd);
    return -1;
  }
  return fd;
}

Worker::Worker(unsigned index, int listen_fd, std::shared_ptr<const Snapshot> snapshot,
               SwitchSignal* switched)
    : index_(index),
      listen_fd_(listen_fd),
      switched_(switched),
      random_state_(std::random_device{}()) {
  random_state_ = (random_state_ << 32) ^ std::random_device{}();
  uv_loop_init(&loop_);
  loop_.data = this;
  uv_tcp_init(&loop_, &listener_);
  listener_.data = this;
  uv_async_init(&loop_, &async_, &UvCallback<&Worker::OnAsync>::Call);
  async_.data = this;
  uv_timer_init(&loop_, &log_timer_);
  log_timer_.data = this;
  uv_timer_init(&loop_, &drain_timer_);
  drain_timer_.data = this;
  ApplySnapshot(std::move(snapshot));
}

Worker::~Worker() {
  Join();
  for (auto& [name, endpoint] : endpoints_by_name_) endpoint->idle.clear();
  uv_loop_close(&loop_);
}

void Worker::Start() {
  const auto& log = config().log;
  if (log.access && !access_log_.Open(log.access_path)) {
    Log(LogLevel::kError, "worker %u: cannot open access log %s: %s", index_,
        log.access_path.c_str(), std::strerror(errno));
  }
  if (access_log_.enabled()) {
    uv_timer_start(&log_timer_, &UvCallback<&Worker::OnLogFlushTimer>::Call, 200, 200);
  }
  int rc = uv_tcp_open(&listener_, listen_fd_);
  if (rc == 0) {
    rc = uv_listen(reinterpret_cast<uv_stream_t*>(&listener_), 4096,
                   &UvCallback<&Worker::OnConnection>::Call);
  }
  if (rc != 0) {
    Log(LogLevel::kError, "worker %u: listen failed: %s", index_, uv_strerror(rc));
  }
  listening_ = rc == 0;
  thread_ = std::thread([this] { Run(); });
}

void Worker::Join() {
  if (thread_.joinable()) thread_.join();
}

void Worker::Run() {
  // A snapshot published before the thread started (a change acknowledged while the proxy was
  // starting) is applied before the first connection is accepted, not in whatever order the
  // first loop iteration finds the async and the listener ready.
  OnAsync();
  uv_run(&loop_, UV_RUN_DEFAULT);
  access_log_.Flush();
  finished_.store(true, std::memory_order_release);
  if (switched_ != nullptr) switched_->Notify();  // a publisher waiting on us stops waiting
}

void Worker::Publish(std::shared_ptr<const Snapshot> snapshot) {
  std::lock_guard<std::mutex> lock(mailbox_mutex_);
  mailbox_snapshot_ = std::move(snapshot);
  WakeLocked();
}

void Worker::Drain() {
  std::lock_guard<std::mutex> lock(mailbox_mutex_);
  mailbox_drain_ = true;
  WakeLocked();
}

void Worker::Stop() {
  std::lock_guard<std::mutex> lock(mailbox_mutex_);
  mailbox_stop_ = true;
  WakeLocked();
}

void Worker::WakeLocked() {
  // A closed async handle means the loop has ended: nobody is left to read the mailbox.
  if (async_open_) uv_async_send(&async_);
}

void Worker::OnAsync() {
  std::shared_ptr<const Snapshot> snapshot;
  bool drain, stop;
  {
    std::lock_guard<std::mutex> lock(mailbox_mutex_);
    snapshot = std::move(mailbox_snapshot_);
    drain = mailbox_drain_;
    stop = mailbox_stop_;
    mailbox_drain_ = mailbox_stop_ = false;
  }
  if (snapshot) ApplySnapshot(std::move(snapshot));
  if (stop) {
    CloseEverything();
  } else if (drain) {
    BeginDrain();
  }
}

void Worker::ApplySnapshot(std::shared_ptr<const Snapshot> snapshot) {
  // Endpoints live as long as the worker, keyed by address, so exchanges in flight keep
  // valid pointers and idle pooled connections survive a weight change.
  const std::size_t pool_count = snapshot->endpoints.size();
  pool_endpoints_.assign(pool_count, {});
  for (std::size_t p = 0; p < pool_count; ++p) {
    const routing::PoolSpec& pool = snapshot->routing->pools()[p];
    for (const ResolvedEndpoint& resolved : snapshot->endpoints[p]) {
      // A TLS pool's endpoint is its own: the same address in another pool may speak plain
      // HTTP or verify another name, and its pooled connections must not be mixed up.
      auto& slot =
          endpoints_by_name_[resolved.tls ? resolved.name + " tls:" + pool.name : resolved.name];
      if (!slot) slot = std::make_unique<UpstreamEndpoint>();
      if (slot->address.tls != resolved.tls) CloseIdle(slot.get());  // reloaded TLS settings
      slot->address = resolved;  // weight and health may change with the config
      slot->outlier_spec = pool.outlier;
      pool_endpoints_[p].push_back(slot.get());
    }
  }
  balancers_.assign(pool_count, routing::WeightedRoundRobin());
  pool_available_ = std::make_unique<bool[]>(pool_count);
  const routing::RoutingTable& table = *snapshot->routing;
  needs_request_view_ =
      !table.rules().empty() || table.affinity().mode != routing::AffinityMode::kNone;
  snapshot_ = std::move(snapshot);
  applied_version_.store(snapshot_->routing->version(), std::memory_order_release);
  if (switched_ != nullptr) switched_->Notify();
}

void Worker::CloseIdle(UpstreamEndpoint* endpoint) {
  std::vector<UpstreamConnection*> idle;
  idle.swap(endpoint->idle);
  for (UpstreamConnection* upstream : idle) upstream->Close();
}

void Worker::OnConnection(int status) {
  if (status < 0) {
    Log(LogLevel::kWarn, "worker %u: accept: %s", index_, uv_strerror(status));
    return;
  }
  auto* client = new ClientConnection(this, next_connection_id_++);
  // Listed before anything can close it: Close() unlists it again.
  client->next = clients_;
  if (clients_) clients_->prev = client;
  clients_ = client;
  ++client_count_;
  counters_.SetDownstreamConnections(client_count_);
  if (uv_accept(reinterpret_cast<uv_stream_t*>(&listener_), client->stream()) != 0) {
    client->Close();
    return;
  }
  const uint32_t limit = config().limits.connections;
  if (limit != 0 && client_count_ > limit) {
    Log(LogLevel::kWarn, "worker %u: connection limit %u reached, closing new connection", index_,
        limit);
    client->Close();
    return;
  }
  if (listener_tls_ != nullptr) client->EnableTls(listener_tls_->current());
  client->Start();
}

void Worker::ForgetClient(ClientConnection* client) {
  if (client->prev) client->prev->next = client->next;
  if (client->next) client->next->prev = client->prev;
  if (clients_ == client) clients_ = client->next;
  client->prev = client->next = nullptr;
  --client_count_;
  counters_.SetDownstreamConnections(client_count_);
  if (draining_) MaybeFinishDrain();
}

UpstreamConnection* Worker::NewUpstream(UpstreamEndpoint* endpoint) {
  auto* upstream = new UpstreamConnection(this, endpoint);
  upstreams_.insert(upstream);
  metrics::Bump(endpoint->address.health->shards[index_].connections, 1);
  return upstream;
}

void Worker::ForgetUpstream(UpstreamConnection* upstream) {
  if (upstreams_.erase(upstream) != 0) {
    metrics::Bump(upstream->endpoint()->address.health->shards[index_].connections, -1);
  }
}

HeadBuffer* Worker::AcquireHead() {
  if (heads_.empty()) return new HeadBuffer();
  HeadBuffer* head = heads_.back().release();
  heads_.pop_back();
  return head;
}

void Worker::ReleaseHead(HeadBuffer* head) {
  head->Clear();
  // A pathological head (megabytes of headers) should not stay pinned in the pool.
  if (head->raw.capacity() > 64 * 1024 || heads_.size() >= 1024) {
    delete head;
    return;
  }
  heads_.emplace_back(head);
}

uint64_t Worker::NextRandom() {
  // splitmix64: fast, well distributed, and per worker (no shared state).
  uint64_t z = (random_state_ += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

UpstreamEndpoint* Worker::PickEndpoint(uint32_t pool, std::span<UpstreamEndpoint* const> avoid) {
  if (pool >= pool_endpoints_.size()) return nullptr;
  const auto& endpoints = pool_endpoints_[pool];
  const int64_t now = NowMs();
  loads_.clear();
  for (UpstreamEndpoint* endpoint : endpoints) {
    bool tried = false;
    for (const UpstreamEndpoint* other : avoid) tried = tried || other == endpoint;
    loads_.push_back(routing::EndpointLoad{.weight = endpoint->address.weight,
                                           .in_flight = endpoint->in_flight,
                                           .available = !tried && endpoint->Available(now)});
  }
  const routing::BalanceMode mode = snapshot_->routing->pools()[pool].balance;
  const int chosen = mode == routing::BalanceMode::kPowerOfTwo
                         ? routing::PickPowerOfTwo(loads_, NextRandom())
                         : balancers_[pool].Pick(loads_);
  return chosen < 0 ? nullptr : endpoints[static_cast<std::size_t>(chosen)];
}

std::span<const bool> Worker::PoolAvailability() {
  const int64_t now = NowMs();
  for (std::size_t p = 0; p < pool_endpoints_.size(); ++p) {
    bool available = false;
    for (const UpstreamEndpoint* endpoint : pool_endpoints_[p]) {
      if (endpoint->Available(now)) {
        available = true;
        break;
      }
    }
    pool_available_[p] = available;
  }
  return {pool_available_.get(), pool_endpoints_.size()};
}

void Worker::RecordOutcome(UpstreamEndpoint* endpoint, bool failure) {
  if (endpoint == nullptr) return;
  if (!failure) {
    endpoint->outlier.OnSuccess(NowMs());
    return;
  }
  if (endpoint->outlier.OnFailure(endpoint->outlier_spec, NowMs())) {
    counters_.RecordEjection();
    endpoint->address.health->RecordEjection(endpoint->outlier.ejected_until_ms() - NowMs());
    Log(LogLevel::kWarn, "worker %u: endpoint %s ejected for %lld ms after %u failures", index_,
        endpoint->address.name.c_str(),
        static_cast<long long>(endpoint->outlier.ejected_until_ms() - NowMs()),
        endpoint->outlier_spec.consecutive_failures);
  }
}

void Worker::OnLogFlushTimer() {
  access_log_.Flush();
}

void Worker::BeginDrain() {
  if (draining_) return;
  draining_ = true;
  if (listening_) {
    uv_close(reinterpret_cast<uv_handle_t*>(&listener_), nullptr);
    listening_ = false;
  }
  uv_timer_start(&drain_timer_, &UvCallback<&Worker::OnDrainDeadline>::Call,
                 static_cast<uint64_t>(config().timeouts.drain.count()), 0);
  for (ClientConnection* c = clients_; c != nullptr;) {
    ClientConnection* next = c->next;  // Drain() may unlink c
    c->Drain();
    c = next;
  }
  MaybeFinishDrain();
}

void Worker::OnDrainDeadline() {
  Log(LogLevel::kWarn, "worker %u: drain deadline reached with %zu connections open", index_,
      client_count_);
  CloseEverything();
}

void Worker::MaybeFinishDrain() {
  if (client_count_ == 0) CloseEverything();
}

void Worker::CloseEverything() {
  if (stopped_) return;
  stopped_ = true;
  draining_ = true;
  for (ClientConnection* c = clients_; c != nullptr;) {
    ClientConnection* next = c->next;
    c->Close();
    c = next;
  }
  std::vector<UpstreamConnection*> upstreams(upstreams_.begin(), upstreams_.end());
  for (UpstreamConnection* u : upstreams) u->Close();
  if (listening_) {
    uv_close(reinterpret_cast<uv_handle_t*>(&listener_), nullptr);
    listening_ = false;
  } else if (!uv_is_closing(reinterpret_cast<uv_handle_t*>(&listener_))) {
    uv_close(reinterpret_cast<uv_handle_t*>(&listener_), nullptr);
  }
  {
    std::lock_guard<std::mutex> lock(mailbox_mutex_);
    async_open_ = false;  // no uv_async_send on it from now on (WakeLocked)
  }
  uv_close(reinterpret_cast<uv_handle_t*>(&async_), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&log_timer_), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&drain_timer_), nullptr);
}

}  // namespace cutover::proxy
