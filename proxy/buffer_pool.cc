#include "proxy/buffer_pool.h"

#include <new>

namespace cutover::proxy {

BufferPool::~BufferPool() {
  for (Block* block : free_) ::operator delete(block);
}

Block* BufferPool::Acquire() {
  Block* block;
  if (!free_.empty()) {
    block = free_.back();
    free_.pop_back();
  } else {
    block = static_cast<Block*>(::operator new(sizeof(Block)));
    block->pool = this;
  }
  block->refs = 1;
  return block;
}

void BufferPool::Unref(Block* block) {
  if (--block->refs == 0) block->pool->Release(block);
}

void BufferPool::Release(Block* block) {
  if (free_.size() < kMaxFree) {
    free_.push_back(block);
  } else {
    ::operator delete(block);
  }
}

}  // namespace cutover::proxy
