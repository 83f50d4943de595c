#include "proxy/output_queue.h"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <string>

#include "tls/client_context.h"
#include "tls/engine.h"

namespace cutover::proxy {
namespace {

// Drives an OutputQueue over a real socketpair on a private loop.
class OutputQueueTest : public ::testing::Test, public OutputQueue::Listener {
 protected:
  void SetUp() override {
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, fds_), 0);
    fcntl(fds_[1], F_SETFL, O_NONBLOCK);
    uv_loop_init(&loop_);
    uv_pipe_init(&loop_, &pipe_, 0);
    ASSERT_EQ(uv_pipe_open(&pipe_, fds_[0]), 0);
  }
  void TearDown() override {
    uv_close(reinterpret_cast<uv_handle_t*>(&pipe_), nullptr);
    uv_run(&loop_, UV_RUN_DEFAULT);
    uv_loop_close(&loop_);
    close(fds_[1]);
  }
  void OnQueueWritten(OutputQueue*, int status) override {
    ++written_calls_;
    last_status_ = status;
  }
  // Reads what the peer end has now (non-blocking), at most `limit` bytes.
  std::string ReadAvailable(std::size_t limit) {
    std::string got;
    char buf[65536];
    while (got.size() < limit) {
      const ssize_t n = read(fds_[1], buf, std::min(sizeof buf, limit - got.size()));
      if (n <= 0) break;
      got.append(buf, static_cast<std::size_t>(n));
    }
    return got;
  }
  uv_stream_t* stream() { return reinterpret_cast<uv_stream_t*>(&pipe_); }

  int fds_[2];
  uv_loop_t loop_;
  uv_pipe_t pipe_;
  BufferPool pool_;
  OutputStoragePool storage_;
  int written_calls_ = 0;
  int last_status_ = 1;
};

TEST_F(OutputQueueTest, BatchesUnownedAndBlockBytesInOneWrite) {
  OutputQueue queue(this, &storage_);
  Block* block = pool_.Acquire();
  std::memcpy(block->data, "hello", 5);
  queue.AppendUnowned("HEAD\r\n");
  queue.AppendBlock(block, block->data, 5);
  EXPECT_EQ(block->refs, 2u);
  BufferPool::Unref(block);
  ASSERT_EQ(queue.Flush(stream()), 0);
  EXPECT_TRUE(queue.idle());
  EXPECT_EQ(ReadAvailable(11), "HEAD\r\nhello");
  EXPECT_EQ(queue.bytes_written(), 11u);
  queue.ReleaseIfIdle();  // storage back to the pool; the queue stays usable
  queue.AppendUnowned("again");
  ASSERT_EQ(queue.Flush(stream()), 0);
  EXPECT_EQ(ReadAvailable(5), "again");
}

// Ciphertext the engine made on its own (here the ClientHello that Connect queues; later
// handshake messages or alerts) is pending too: a finished write must not leave it behind
// waiting for plaintext that may never come.
TEST_F(OutputQueueTest, EngineOutputCountsAsPendingAndIsWritten) {
  tls::ClientSettings settings;
  settings.verify = false;
  std::string error;
  std::shared_ptr<const tls::ClientContext> context = tls::ClientContext::Load(settings, &error);
  ASSERT_NE(context, nullptr) << error;
  std::unique_ptr<tls::Engine> engine = tls::Engine::Connect(context, "127.0.0.1");
  OutputQueue queue(this, &storage_);
  queue.SealWith(engine.get(), &pool_);
  EXPECT_TRUE(queue.has_pending());
  EXPECT_FALSE(queue.idle());
  ASSERT_EQ(queue.Flush(stream()), 0);
  EXPECT_FALSE(queue.has_pending());
  const std::string hello = ReadAvailable(65536);
  ASSERT_GE(hello.size(), 5u);
  EXPECT_EQ(hello[0], 0x16);  // a handshake record (RFC 8446 §5.1)
}

TEST_F(OutputQueueTest, ChunkedPiecesShareOneChunk) {
  OutputQueue queue(this, &storage_);
  Block* block = pool_.Acquire();
  std::memcpy(block->data, "abcdefghijklmnopq", 17);
  queue.AppendChunkedBlock(block, block->data, 10);
  queue.AppendChunkedBlock(block, block->data + 10, 7);
  queue.CloseChunk();
  queue.AppendUnowned("0\r\n\r\n");
  BufferPool::Unref(block);
  ASSERT_EQ(queue.Flush(stream()), 0);
  EXPECT_EQ(ReadAvailable(29), "11\r\nabcdefghijklmnopq\r\n0\r\n\r\n");
}

TEST_F(OutputQueueTest, PartialWriteKeepsBlocksUntilWriteCompletes) {
  OutputQueue queue(this, &storage_);
  // Far more than a socketpair buffer takes at once, so uv_write must finish the job.
  std::string big(4 * 1024 * 1024, 'x');
  Block* block = pool_.Acquire();
  std::memcpy(block->data, "tail", 4);
  queue.AppendUnowned(big);
  queue.AppendBlock(block, block->data, 4);
  BufferPool::Unref(block);
  ASSERT_EQ(queue.Flush(stream()), 0);
  ASSERT_TRUE(queue.writing());
  EXPECT_EQ(block->refs, 1u);  // still held by the in-flight write
  std::string got;
  for (int round = 0; round < 100000 && queue.writing(); ++round) {
    uv_run(&loop_, UV_RUN_NOWAIT);
    got += ReadAvailable(big.size() + 4);
  }
  ASSERT_FALSE(queue.writing());
  got += ReadAvailable(big.size() + 4 - got.size());
  EXPECT_EQ(got.size(), big.size() + 4);
  EXPECT_EQ(got.substr(got.size() - 4), "tail");
  EXPECT_EQ(written_calls_, 1);
  EXPECT_EQ(last_status_, 0);
}

}  // namespace
}  // namespace cutover::proxy
