// Fixed-size, reference-counted read blocks, recycled per worker so the steady state
// allocates nothing. A block read from one socket is parsed in place; body bytes are written
// to the other socket straight out of it (no copy), and the block goes back to the pool when
// the last write that points into it has completed.
//
// Ownership: a BufferPool belongs to one worker and is used only on that worker's thread.
// Each Block is held by whoever called Acquire() plus every OutputQueue that Ref()'d it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace cutover::proxy {

class BufferPool;

struct Block {
  static constexpr std::size_t kSize = 16 * 1024;

  BufferPool* pool;
  uint32_t refs;
  char data[kSize];
};

class BufferPool {
 public:
  BufferPool() = default;
  BufferPool(const BufferPool&) = delete;
  BufferPool& operator=(const BufferPool&) = delete;
  ~BufferPool();

  Block* Acquire();  // refs == 1
  static void Ref(Block* block) { ++block->refs; }
  static void Unref(Block* block);

 private:
  void Release(Block* block);

  // Free blocks kept for reuse; beyond this many, blocks go back to the allocator so a
  // burst does not pin memory forever.
  static constexpr std::size_t kMaxFree = 256;
  std::vector<Block*> free_;
};

}  // namespace cutover::proxy
