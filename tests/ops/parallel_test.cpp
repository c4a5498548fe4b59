// faultgraph's kernels loop on ATen's intra-op threads (core/parallel.h): at::parallel_for
// called from faultgraph's sources, compiled without -fopenmp, ran on the calling thread.
#include "core/parallel.h"

#include <ATen/Parallel.h>
#include <gtest/gtest.h>

#include <mutex>
#include <set>
#include <vector>

namespace fg {
namespace {

TEST(Parallel, ForRunsEveryIndexOnceOnTheIntraOpThreads) {
  const int threads = at::get_num_threads();
  at::set_num_threads(2);
  std::vector<int> hits(1000, 0);
  std::set<int> ids;
  std::mutex m;
  parallel_for(0, 1000, 1, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) ++hits[static_cast<size_t>(i)];
    std::lock_guard<std::mutex> lock(m);
    ids.insert(at::get_thread_num());
  });
  at::set_num_threads(threads);
  for (size_t i = 0; i < hits.size(); ++i) ASSERT_EQ(hits[i], 1) << "index " << i;
  EXPECT_EQ(ids, (std::set<int>{0, 1}));
}

TEST(Parallel, ForKeepsSmallLoopsOnTheCallingThread) {
  const int threads = at::get_num_threads();
  at::set_num_threads(2);
  int chunks = 0;
  parallel_for(0, 10, 100, [&](int64_t begin, int64_t end) {
    ++chunks;
    EXPECT_EQ(begin, 0);
    EXPECT_EQ(end, 10);
  });
  at::set_num_threads(threads);
  EXPECT_EQ(chunks, 1);
}

}  // namespace
}  // namespace fg
