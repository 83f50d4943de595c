#include "proxy/output_queue.h"

#include <cstdio>

#include "proxy/uv_callback.h"

namespace cutover::proxy {
namespace {

constexpr std::string_view kCrlf = "\r\n";

uv_buf_t Buf(const char* data, std::size_t length) {
  return uv_buf_init(const_cast<char*>(data), static_cast<unsigned>(length));
}

}  // namespace

OutputQueue::OutputQueue(Listener* listener) : listener_(listener) {
  write_req_.data = this;
  pending_.reserve(8);
  pending_blocks_.reserve(4);
  writing_blocks_.reserve(4);
}

OutputQueue::~OutputQueue() {
  ReleaseAll(&pending_blocks_);
  ReleaseAll(&writing_blocks_);
}

void OutputQueue::ReleaseAll(std::vector<Block*>* blocks) {
  for (Block* block : *blocks) BufferPool::Unref(block);
  blocks->clear();
}

void OutputQueue::AppendUnowned(std::string_view data) {
  if (data.empty()) return;
  CloseChunk();
  pending_.push_back(Buf(data.data(), data.size()));
}

void OutputQueue::AppendBlock(Block* block, const char* at, std::size_t length) {
  if (length == 0) return;
  CloseChunk();
  if (pending_blocks_.empty() || pending_blocks_.back() != block) {
    BufferPool::Ref(block);
    pending_blocks_.push_back(block);
  }
  pending_.push_back(Buf(at, length));
}

void OutputQueue::AppendChunkedBlock(Block* block, const char* at, std::size_t length) {
  if (length == 0) return;  // a zero-length chunk would end the body
  if (open_chunk_index_ < 0) {
    open_chunk_index_ = static_cast<std::ptrdiff_t>(pending_.size());
    open_chunk_length_ = 0;
    pending_.push_back(Buf(nullptr, 0));  // header, filled in by CloseChunk()
  }
  if (pending_blocks_.empty() || pending_blocks_.back() != block) {
    BufferPool::Ref(block);
    pending_blocks_.push_back(block);
  }
  pending_.push_back(Buf(at, length));
  open_chunk_length_ += length;
}

void OutputQueue::CloseChunk() {
  if (open_chunk_index_ < 0) return;
  auto& header = chunk_headers_[next_chunk_header_];
  next_chunk_header_ = (next_chunk_header_ + 1) % chunk_headers_.size();
  const int n = std::snprintf(header.data(), header.size(), "%zx\r\n", open_chunk_length_);
  pending_[static_cast<std::size_t>(open_chunk_index_)] =
      Buf(header.data(), static_cast<std::size_t>(n));
  pending_.push_back(Buf(kCrlf.data(), kCrlf.size()));
  open_chunk_index_ = -1;
}

int OutputQueue::Flush(uv_stream_t* stream) {
  CloseChunk();
  if (writing_ || pending_.empty()) return 0;
  std::size_t total = 0;
  for (const uv_buf_t& buf : pending_) total += buf.len;

  int written = uv_try_write(stream, pending_.data(), static_cast<unsigned>(pending_.size()));
  if (written == UV_EAGAIN || written == UV_ENOSYS) written = 0;
  if (written < 0) return written;
  bytes_written_ += static_cast<std::size_t>(written);
  if (static_cast<std::size_t>(written) == total) {
    pending_.clear();
    ReleaseAll(&pending_blocks_);
    return 0;
  }

  // Skip what the kernel took; uv_write copies the iovec array, not the bytes.
  std::size_t skip = static_cast<std::size_t>(written);
  std::size_t first = 0;
  while (skip >= pending_[first].len) skip -= pending_[first++].len;
  pending_[first].base += skip;
  pending_[first].len -= skip;
  const int rc = uv_write(&write_req_, stream, pending_.data() + first,
                          static_cast<unsigned>(pending_.size() - first),
                          &UvCallback<&OutputQueue::OnWrite>::Call);
  if (rc < 0) return rc;
  bytes_written_ += total - static_cast<std::size_t>(written);
  writing_ = true;
  pending_.clear();
  writing_blocks_.swap(pending_blocks_);
  return 0;
}

void OutputQueue::OnWrite(int status) {
  writing_ = false;
  ReleaseAll(&writing_blocks_);
  listener_->OnQueueWritten(this, status);
}

void OutputQueue::DiscardPending() {
  pending_.clear();
  open_chunk_index_ = -1;
  ReleaseAll(&pending_blocks_);
}

}  // namespace cutover::proxy
