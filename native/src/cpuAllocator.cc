// Tensor memory on the CPU: libtorch's default allocator takes every block from glibc's malloc, where a training
// step's large activations (up to tens of MiB) share the heap with the small objects that outlive them until V8's
// garbage collector runs (each JavaScript tensor handle's N-API records). Those small objects pin the freed
// blocks' neighbourhood, the heap fragments, and peak RSS grows step after step (llama-bench training: +8-12 MiB a
// step, 466 -> 565 MiB over 8 steps; flat at 473 MiB when V8 collects after every step; docs/benchmarks.md,
// "Peak RSS").
//
// This allocator, installed for the whole process when the addon loads, gives blocks of kLargeBlock bytes or more their
// own mappings (mmap) and keeps a freed one for the next allocation of its size class: a training step, a forward or a
// decode step asks for about the same sizes every time, so after the first step nearly every large block is reused
// without a page fault. Sizes are rounded up to one of eight classes per power of two (at most 12.5% more address
// space, and pages past the request are never touched): a batch padded to 126 positions then reuses the block of one
// padded to 128, where exact sizes made every step map (and fault in) dozens of fresh blocks: the demo's base trained
// at 5,500 tokens/s against 7,700 with glibc's malloc (now 6,800-7,100 against 6,900-7,300 in the same runs, at 535 MiB
// peak RSS against 820-940). When a request finds no block of its class, cached blocks of other classes are unmapped
// first as far as needed to keep the memory mapped within the most the process ever had live at once, plus a quarter.
// Smaller blocks come from c10's default (posix_memalign, as before).
// SAFETUNE_CPU_ALLOCATOR=default in the environment leaves libtorch's allocator in place.
#include <c10/core/CPUAllocator.h>
#include <c10/core/impl/alloc_cpu.h>
#include <sys/mman.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <unordered_map>

#include "common.h"

namespace safetune {

namespace {

constexpr size_t kLargeBlock = 256 * 1024;
constexpr size_t kPage = 4096;
constexpr size_t kClassesPerDoubling = 8;
static_assert(kLargeBlock / kClassesPerDoubling % kPage == 0, "every size class must be whole pages");
// Cached blocks may take the memory mapped past the live high-water mark by a quarter of it (at least 16 MiB):
// with no slack a step's changing mix of sizes unmaps blocks it needs again later in the same step.
constexpr size_t kSlackDivisor = 4, kMinSlack = 16 * 1024 * 1024;

struct Blocks {
  std::mutex mutex;
  std::unordered_map<void*, size_t> live;  // large blocks in use: their mapped size
  std::multimap<size_t, void*> cached;     // large blocks freed, by size
  size_t cachedBytes = 0;
  size_t liveBytes = 0;
  size_t liveMark = 0;  // the most ever live at once
};

Blocks& blocks() {
  static auto* state = new Blocks();  // never destroyed: tensors may be freed during exit
  return *state;
}

void unmap(void* block, size_t size) { munmap(block, size); }

// The block size serving a request of nbytes: rounded up to a multiple of an eighth of the largest power of two
// not above it (kLargeBlock's eighth is a multiple of the page, so every class is whole pages).
size_t sizeClass(size_t nbytes) {
  size_t power = kLargeBlock;
  while (power * 2 <= nbytes) power *= 2;
  size_t step = power / kClassesPerDoubling;
  return (nbytes + step - 1) / step * step;
}

void* takeLarge(size_t size) {
  auto& b = blocks();
  std::lock_guard<std::mutex> lock(b.mutex);
  // The most recently freed block of this size (a multimap keeps equal keys in insertion order): its pages are the
  // likeliest still to be in the CPU's caches.
  auto upper = b.cached.upper_bound(size);
  auto hit = upper == b.cached.begin() ? b.cached.end() : std::prev(upper);
  if (hit != b.cached.end() && hit->first == size) {
    void* block = hit->second;
    b.cached.erase(hit);
    b.cachedBytes -= size;
    b.live.emplace(block, size);
    b.liveBytes += size;
    b.liveMark = std::max(b.liveMark, b.liveBytes);
    return block;
  }
  // No block of this size: map a new one, first unmapping cached blocks (largest first) while the total mapped
  // would pass the live high-water mark plus the slack.
  size_t limit = b.liveMark + std::max(b.liveMark / kSlackDivisor, kMinSlack);
  while (b.liveBytes + b.cachedBytes + size > limit && !b.cached.empty()) {
    auto largest = std::prev(b.cached.end());
    unmap(largest->second, largest->first);
    b.cachedBytes -= largest->first;
    b.cached.erase(largest);
  }
  void* block = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  TORCH_CHECK(block != MAP_FAILED, "CPU out of memory: could not map ", size, " bytes for a tensor");
  b.live.emplace(block, size);
  b.liveBytes += size;
  b.liveMark = std::max(b.liveMark, b.liveBytes);
  return block;
}

void release(void* data) {
  if (data == nullptr) return;
  auto& b = blocks();
  {
    std::lock_guard<std::mutex> lock(b.mutex);
    auto found = b.live.find(data);
    if (found != b.live.end()) {
      b.cached.emplace(found->second, data);
      b.cachedBytes += found->second;
      b.liveBytes -= found->second;
      b.live.erase(found);
      return;
    }
  }
  c10::free_cpu(data);
}

class ReusingCpuAllocator final : public at::Allocator {
 public:
  at::DataPtr allocate(size_t nbytes) const override {
    void* data = nbytes >= kLargeBlock ? takeLarge(sizeClass(nbytes)) : c10::alloc_cpu(nbytes);
    return {data, data, &release, at::Device(at::DeviceType::CPU)};
  }
  at::DeleterFnPtr raw_deleter() const override { return &release; }
};

}  // namespace

void installCpuAllocator() {
  static bool installed = false;
  if (installed) return;
  installed = true;
  const char* choice = std::getenv("SAFETUNE_CPU_ALLOCATOR");
  if (choice != nullptr && std::strcmp(choice, "default") == 0) return;
  // Priority 1 outranks the default allocator's registration (0); ownership passes to c10.
  c10::SetCPUAllocator(new ReusingCpuAllocator(), 1);
}

}  // namespace safetune
