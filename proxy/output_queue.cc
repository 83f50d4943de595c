#include "proxy/output_queue.h"

#include <cstdio>

#include "proxy/uv_callback.h"
#include "tls/engine.h"

namespace cutover::proxy {
namespace {

constexpr std::string_view kCrlf = "\r\n";

uv_buf_t Buf(const char* data, std::size_t length) {
  return uv_buf_init(const_cast<char*>(data), static_cast<unsigned>(length));
}

}  // namespace

OutputStorage* OutputStoragePool::Acquire() {
  if (free_.empty()) {
    auto* storage = new OutputStorage();
    storage->pending.reserve(8);
    storage->pending_blocks.reserve(4);
    storage->writing_blocks.reserve(4);
    return storage;
  }
  OutputStorage* storage = free_.back().release();
  free_.pop_back();
  return storage;
}

void OutputStoragePool::Release(OutputStorage* storage) {
  storage->pending.clear();
  // A burst of tiny chunks can grow the iovec list; do not keep that forever.
  if (storage->pending.capacity() > 1024 || free_.size() >= 4096) {
    delete storage;
    return;
  }
  free_.emplace_back(storage);
}

OutputQueue::OutputQueue(Listener* listener, OutputStoragePool* pool)
    : listener_(listener), pool_(pool) {}

OutputQueue::~OutputQueue() {
  if (storage_ == nullptr) return;
  ReleaseAll(&storage_->pending_blocks);
  ReleaseAll(&storage_->writing_blocks);
  pool_->Release(storage_);
}

OutputStorage& OutputQueue::Storage() {
  if (storage_ == nullptr) {
    storage_ = pool_->Acquire();
    storage_->write_req.data = this;
  }
  return *storage_;
}

bool OutputQueue::has_pending() const {
  return (storage_ != nullptr && !storage_->pending.empty()) ||
         (engine_ != nullptr && engine_->PendingOutput() > 0);
}

void OutputQueue::ReleaseAll(std::vector<Block*>* blocks) {
  for (Block* block : *blocks) BufferPool::Unref(block);
  blocks->clear();
}

void OutputQueue::ReleaseIfIdle() {
  if (storage_ == nullptr || !idle()) return;
  pool_->Release(storage_);
  storage_ = nullptr;
  open_chunk_index_ = -1;
}

void OutputQueue::RefBlock(Block* block) {
  auto& blocks = Storage().pending_blocks;
  if (blocks.empty() || blocks.back() != block) {
    BufferPool::Ref(block);
    blocks.push_back(block);
  }
}

void OutputQueue::AppendUnowned(std::string_view data) {
  if (data.empty()) return;
  CloseChunk();
  Storage().pending.push_back(Buf(data.data(), data.size()));
}

void OutputQueue::AppendBlock(Block* block, const char* at, std::size_t length) {
  if (length == 0) return;
  CloseChunk();
  RefBlock(block);
  storage_->pending.push_back(Buf(at, length));
}

void OutputQueue::AppendChunkedBlock(Block* block, const char* at, std::size_t length) {
  if (length == 0) return;  // a zero-length chunk would end the body
  OutputStorage& storage = Storage();
  if (open_chunk_index_ < 0) {
    open_chunk_index_ = static_cast<std::ptrdiff_t>(storage.pending.size());
    open_chunk_length_ = 0;
    storage.pending.push_back(Buf(nullptr, 0));  // header, filled in by CloseChunk()
  }
  RefBlock(block);
  storage.pending.push_back(Buf(at, length));
  open_chunk_length_ += length;
}

void OutputQueue::CloseChunk() {
  if (open_chunk_index_ < 0) return;
  OutputStorage& storage = *storage_;
  auto& header = storage.chunk_headers[storage.next_chunk_header];
  storage.next_chunk_header = (storage.next_chunk_header + 1) % storage.chunk_headers.size();
  const int n = std::snprintf(header.data(), header.size(), "%zx\r\n", open_chunk_length_);
  storage.pending[static_cast<std::size_t>(open_chunk_index_)] =
      Buf(header.data(), static_cast<std::size_t>(n));
  storage.pending.push_back(Buf(kCrlf.data(), kCrlf.size()));
  open_chunk_index_ = -1;
}

// Plaintext in, ciphertext out: the pieces are copied into the engine (which cuts full
// records), so their blocks go back at once; the records land in fresh blocks that the
// write path below treats like any others.
void OutputQueue::Seal() {
  if (storage_ != nullptr) {
    for (const uv_buf_t& buf : storage_->pending) engine_->Write(buf.base, buf.len);
    storage_->pending.clear();
    ReleaseAll(&storage_->pending_blocks);
  }
  engine_->Flush();
  while (engine_->PendingOutput() > 0) {
    Block* block = blocks_->Acquire();
    const std::size_t length = engine_->TakeOutput(block->data, Block::kSize);
    OutputStorage& storage = Storage();
    storage.pending.push_back(Buf(block->data, length));
    storage.pending_blocks.push_back(block);  // Acquire()'s reference, dropped once written
  }
}

int OutputQueue::Flush(uv_stream_t* stream) {
  CloseChunk();
  if (writing_) return 0;
  if (engine_ != nullptr) Seal();
  if (!has_pending()) return 0;
  auto& pending = storage_->pending;
  std::size_t total = 0;
  for (const uv_buf_t& buf : pending) total += buf.len;

  int written = uv_try_write(stream, pending.data(), static_cast<unsigned>(pending.size()));
  if (written == UV_EAGAIN || written == UV_ENOSYS) written = 0;
  if (written < 0) return written;
  bytes_written_ += static_cast<std::size_t>(written);
  if (static_cast<std::size_t>(written) == total) {
    pending.clear();
    ReleaseAll(&storage_->pending_blocks);
    return 0;
  }

  // Skip what the kernel took; uv_write copies the iovec array, not the bytes.
  std::size_t skip = static_cast<std::size_t>(written);
  std::size_t first = 0;
  while (skip >= pending[first].len) skip -= pending[first++].len;
  pending[first].base += skip;
  pending[first].len -= skip;
  const int rc = uv_write(&storage_->write_req, stream, pending.data() + first,
                          static_cast<unsigned>(pending.size() - first),
                          &UvCallback<&OutputQueue::OnWrite>::Call);
  if (rc < 0) return rc;
  bytes_written_ += total - static_cast<std::size_t>(written);
  writing_ = true;
  pending.clear();
  storage_->writing_blocks.swap(storage_->pending_blocks);
  return 0;
}

void OutputQueue::OnWrite(int status) {
  writing_ = false;
  ReleaseAll(&storage_->writing_blocks);
  listener_->OnQueueWritten(this, status);
}

void OutputQueue::DiscardPending() {
  open_chunk_index_ = -1;
  if (storage_ == nullptr) return;
  storage_->pending.clear();
  ReleaseAll(&storage_->pending_blocks);
}

}  // namespace cutover::proxy
