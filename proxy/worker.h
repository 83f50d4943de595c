// A worker: one thread, one libuv loop, one SO_REUSEPORT listening socket, and everything a
// request touches (connections, upstream pools, buffers, counters) owned by that thread
// alone, so the request path takes no lock (DESIGN §2).
//
// Ownership: the Server owns each Worker. Publish(), Drain() and Stop() may be called from
// any thread: they post to a one-slot mailbox and wake the loop with uv_async_send (which
// coalesces, so only the latest snapshot matters); once the loop has ended they do nothing.
// Everything else runs on the worker's thread. The Worker owns its uv handles (listener, async,
// timers); they are closed when the loop winds down, and the Worker outlives its thread (Join()).
#pragma once

#include <uv.h>

#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "metrics/worker_counters.h"
#include "proxy/access_log.h"
#include "proxy/buffer_pool.h"
#include "proxy/http_head.h"
#include "proxy/output_queue.h"
#include "proxy/snapshot.h"
#include "proxy/switch_signal.h"
#include "proxy/upstream_endpoint.h"

namespace cutover::proxy {

class ClientConnection;
class UpstreamConnection;

class ListenerTls;

class Worker {
 public:
  // `listen_fd` is a bound, listening socket this worker now owns. `switched` (may be null) is
  // notified each time the worker has applied a snapshot and when its loop ends.
  Worker(unsigned index, int listen_fd, std::shared_ptr<const Snapshot> snapshot,
         SwitchSignal* switched = nullptr);
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;
  ~Worker();

  // Before Start(): terminate TLS on accepted connections with `tls`'s current context.
  void SetListenerTls(const ListenerTls* tls) { listener_tls_ = tls; }
  void Start();
  void Join();
  // Any thread.
  void Publish(std::shared_ptr<const Snapshot> snapshot);
  void Drain();  // stop accepting; finish in-flight exchanges; the loop then ends
  void Stop();   // close everything now
  const metrics::WorkerCounters& counters() const { return counters_; }
  uint64_t routing_version() const { return applied_version_.load(std::memory_order_acquire); }
  // True once the loop has ended (after Drain() or Stop()).
  bool finished() const { return finished_.load(std::memory_order_acquire); }

  // --- worker thread only ---
  uv_loop_t* loop() { return &loop_; }
  const Snapshot& snapshot() const { return *snapshot_; }
  const Config& config() const { return snapshot_->config; }
  BufferPool& blocks() { return blocks_; }
  OutputStoragePool& output_storage() { return output_storage_; }
  HeadBuffer* AcquireHead();
  void ReleaseHead(HeadBuffer* head);
  uint64_t NextRandom();
  // The endpoint of `pool` to use next (the pool's balance mode, over available endpoints
  // not in `avoid`), or null if none is available.
  UpstreamEndpoint* PickEndpoint(uint32_t pool, std::span<UpstreamEndpoint* const> avoid = {});
  // Per pool: does it have an available endpoint now? Parallel to the snapshot's pools.
  std::span<const bool> PoolAvailability();
  unsigned index() const { return index_; }
  // Loop time in milliseconds (cached per loop iteration: no syscall).
  int64_t NowMs() const { return static_cast<int64_t>(uv_now(const_cast<uv_loop_t*>(&loop_))); }
  // The snapshot's table needs a RequestView (it has rules or affinity).
  bool needs_request_view() const { return needs_request_view_; }
  std::vector<routing::HeaderView>& header_views() { return header_views_; }
  // Passive outlier ejection: one exchange's outcome on `endpoint`.
  void RecordOutcome(UpstreamEndpoint* endpoint, bool failure);
  UpstreamConnection* NewUpstream(UpstreamEndpoint* endpoint);
  void ForgetUpstream(UpstreamConnection* upstream);
  void ForgetClient(ClientConnection* client);
  void Record(const metrics::RequestRecord& record) { counters_.Record(record); }
  metrics::WorkerCounters& mutable_counters() { return counters_; }
  AccessLog& access_log() { return access_log_; }
  bool draining() const { return draining_; }

 private:
  void Run();
  void OnConnection(int status);
  void OnAsync();
  void OnLogFlushTimer();
  void OnDrainDeadline();
  void ApplySnapshot(std::shared_ptr<const Snapshot> snapshot);
  // Wakes the loop for a message just put in the mailbox; mailbox_mutex_ must be held.
  void WakeLocked();
  // Closes the endpoint's pooled idle connections (made with settings that no longer apply).
  void CloseIdle(UpstreamEndpoint* endpoint);
  void BeginDrain();
  void CloseEverything();
  void MaybeFinishDrain();

  unsigned index_;
  const ListenerTls* listener_tls_ = nullptr;  // owned by the Server; null = plain HTTP
  int listen_fd_;
  SwitchSignal* switched_;
  std::thread thread_;
  uv_loop_t loop_;
  uv_tcp_t listener_;
  uv_async_t async_;
  uv_timer_t log_timer_;
  uv_timer_t drain_timer_;

  std::mutex mailbox_mutex_;  // guards the four fields below; never taken per request
  std::shared_ptr<const Snapshot> mailbox_snapshot_;
  bool mailbox_drain_ = false;
  bool mailbox_stop_ = false;
  // False once the loop closes async_: libuv forbids uv_async_send on a closing or closed
  // handle, and Stop() (the Server's destructor) or Publish() (a late admin change) may come
  // after the loop has ended. Checked and sent under the mutex, so the close cannot slip in.
  bool async_open_ = true;

  std::shared_ptr<const Snapshot> snapshot_;
  std::atomic<uint64_t> applied_version_{0};
  std::atomic<bool> finished_{false};
  // By "host:port", plus " tls:POOL" for a TLS pool's endpoints.
  std::unordered_map<std::string, std::unique_ptr<UpstreamEndpoint>> endpoints_by_name_;
  std::vector<std::vector<UpstreamEndpoint*>> pool_endpoints_;
  std::vector<routing::WeightedRoundRobin> balancers_;  // per pool
  std::vector<routing::EndpointLoad> loads_;            // scratch for PickEndpoint
  std::unique_ptr<bool[]> pool_available_;              // scratch for PoolAvailability
  std::vector<routing::HeaderView> header_views_;       // scratch for RequestView
  bool needs_request_view_ = false;
  BufferPool blocks_;
  OutputStoragePool output_storage_;
  std::vector<std::unique_ptr<HeadBuffer>> heads_;  // free head buffers
  uint64_t random_state_;
  uint64_t next_connection_id_ = 1;
  ClientConnection* clients_ = nullptr;  // intrusive list
  std::size_t client_count_ = 0;
  std::unordered_set<UpstreamConnection*> upstreams_;  // every open upstream connection
  metrics::WorkerCounters counters_{16};
  AccessLog access_log_;
  bool draining_ = false;
  bool listening_ = false;
  bool stopped_ = false;
};

// Opens a TCP socket with SO_REUSEADDR and SO_REUSEPORT, bound to host:port, listening.
// Returns the fd, or -1 with *error set.
int OpenReusePortListener(const std::string& host, uint16_t port, std::string* error);

}  // namespace cutover::proxy
