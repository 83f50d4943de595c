// Bytes waiting to go out on one stream, as iovecs into memory that outlives the write:
// pooled read blocks (referenced until written, so body bytes are never copied), strings the
// owning exchange keeps alive, and static text. Writes are batched: everything queued while
// handling one read goes out in one uv_try_write; only what the kernel does not take is
// handed to uv_write, and at most one uv_write is in flight.
//
// On a TLS connection (SealWith) the queue holds plaintext until Flush(), which seals it with
// the connection's engine into ciphertext blocks and writes those: every iovec queued while
// handling one read becomes full TLS records, not one small record per piece.
//
// Ownership: embedded in the connection that owns the stream; used only on its worker's
// thread. The uv_write_t lives in the queue's storage, so the owner must not be freed while
// writing() is true (connections close their stream first; libuv then cancels the write and
// calls back).
#pragma once

#include <uv.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "proxy/buffer_pool.h"

namespace cutover::tls {
class Engine;
}

namespace cutover::proxy {

// What a queue needs only while it has bytes to write: the iovecs, the blocks they point
// into, the write request and the chunk-size lines. Pooled per worker, so an idle
// connection holds none of it (DESIGN §8: idle connections hold no buffers).
struct OutputStorage {
  std::vector<uv_buf_t> pending;
  std::vector<Block*> pending_blocks;
  std::vector<Block*> writing_blocks;
  uv_write_t write_req;
  // Chunk-size lines live in a small ring: one chunk at most is pending and one in flight,
  // because a connection stops reading its source while its sink is writing.
  std::array<std::array<char, 20>, 4> chunk_headers{};
  std::size_t next_chunk_header = 0;
};

// Free OutputStorage objects of one worker. Worker thread only.
class OutputStoragePool {
 public:
  OutputStoragePool() = default;
  OutputStoragePool(const OutputStoragePool&) = delete;
  OutputStoragePool& operator=(const OutputStoragePool&) = delete;

  OutputStorage* Acquire();
  void Release(OutputStorage* storage);

 private:
  std::vector<std::unique_ptr<OutputStorage>> free_;
};

class OutputQueue {
 public:
  // Told when an in-flight uv_write finishes (status 0 or a libuv error).
  class Listener {
   public:
    virtual void OnQueueWritten(OutputQueue* queue, int status) = 0;

   protected:
    ~Listener() = default;
  };

  OutputQueue(Listener* listener, OutputStoragePool* pool);
  OutputQueue(const OutputQueue&) = delete;
  OutputQueue& operator=(const OutputQueue&) = delete;
  ~OutputQueue();

  // `data` must stay valid until the queue is idle again (static text, or a string owned
  // by the exchange that is not touched until then).
  void AppendUnowned(std::string_view data);
  // Bytes inside a pooled block; the block is referenced until they are written.
  void AppendBlock(Block* block, const char* at, std::size_t length);
  // Body bytes re-framed as HTTP/1.1 chunked (RFC 9112 §7.1): consecutive pieces share one
  // chunk, closed by CloseChunk() (Flush() closes it too).
  void AppendChunkedBlock(Block* block, const char* at, std::size_t length);
  void CloseChunk();

  // TLS: from now on Flush() seals what is queued with `engine` into blocks from `blocks`, and
  // also writes what the engine has to send on its own (handshake messages, alerts). Both
  // outlive the queue.
  void SealWith(tls::Engine* engine, BufferPool* blocks) {
    engine_ = engine;
    blocks_ = blocks;
  }

  // Writes what is queued. Returns 0 or a negative libuv error (the stream is then dead).
  int Flush(uv_stream_t* stream);

  bool writing() const { return writing_; }
  // Queued bytes, or (TLS) ciphertext the engine produced on its own since the last Flush():
  // a handshake message or alert made while a write was in flight must not wait for more
  // plaintext to come along.
  bool has_pending() const;
  bool idle() const { return !writing_ && !has_pending(); }
  uint64_t bytes_written() const { return bytes_written_; }
  // Drops everything not yet handed to the kernel (the connection is closing).
  void DiscardPending();
  // Gives the storage back to the pool if nothing is queued or in flight.
  void ReleaseIfIdle();

 private:
  OutputStorage& Storage();
  void RefBlock(Block* block);
  void OnWrite(int status);
  void Seal();
  static void ReleaseAll(std::vector<Block*>* blocks);

  Listener* listener_;
  OutputStoragePool* pool_;
  tls::Engine* engine_ = nullptr;  // set on TLS connections
  BufferPool* blocks_ = nullptr;   // where sealed records go
  OutputStorage* storage_ = nullptr;
  uint64_t bytes_written_ = 0;
  std::ptrdiff_t open_chunk_index_ = -1;  // header iovec of the open chunk, filled on close
  std::size_t open_chunk_length_ = 0;
  bool writing_ = false;
};

}  // namespace cutover::proxy
