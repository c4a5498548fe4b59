// Copies of constant weights in a kernel's own layout, shared by the threads.
#pragma once

#include <ATen/ATen.h>

#include <algorithm>
#include <map>
#include <mutex>
#include <utility>
#include <vector>

namespace fg::ops {

// One copy per weight tensor (data pointer and sizes) and layout (`Layout`, compared with
// ==), made by `make` on first use and valid while the weight's storage lives and its
// version holds: a weight changed in place, as an optimiser does, is copied again, and the
// copies of freed weights are dropped when a new copy is made. A copy is made outside the
// lock: two threads may make the same one, and both are the same.
template <class Layout, class Copy>
class WeightCache {
 public:
  template <class Make>
  Copy get(const at::Tensor& w, const Layout& layout, Make make) {
    Key key{w.data_ptr(), w.sizes().vec()};
    {
      std::lock_guard<std::mutex> lock(mutex_);
      auto it = entries_.find(key);
      if (it != entries_.end()) {
        for (const Entry& e : it->second) {
          if (!e.storage.expired() && e.version == w._version() && e.layout == layout)
            return e.copy;
        }
      }
    }
    Entry made{w.storage().getWeakStorageImpl(), w._version(), layout, make()};
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto it = entries_.begin(); it != entries_.end();) {
      std::erase_if(it->second, [](const Entry& e) { return e.storage.expired(); });
      it = it->second.empty() ? entries_.erase(it) : std::next(it);
    }
    auto& list = entries_[key];
    std::erase_if(list, [&](const Entry& e) { return e.version != made.version; });
    list.push_back(made);
    return made.copy;
  }

 private:
  using Key = std::pair<const void*, std::vector<int64_t>>;
  struct Entry {
    c10::weak_intrusive_ptr<c10::StorageImpl> storage;
    int64_t version;
    Layout layout;
    Copy copy;
  };
  std::mutex mutex_;
  std::map<Key, std::vector<Entry>> entries_;  // under mutex_
};

}  // namespace fg::ops
