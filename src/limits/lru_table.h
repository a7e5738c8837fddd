// A map with a fixed capacity: inserting into a full table evicts the
// entry used least recently. The abuse limits keep their per-client and
// per-user state in these, so that an attacker who rotates addresses or
// user names can only push older entries out, never grow memory.
//
// Not thread-safe: the owner holds its own mutex around every call.
#pragma once

#include <cstddef>
#include <list>
#include <string>
#include <unordered_map>
#include <utility>

namespace chasquid::limits {

template <typename V>
class LruTable {
 public:
  // `capacity` >= 1.
  explicit LruTable(size_t capacity) : capacity_(capacity ? capacity : 1) {}

  // The entry for `key`, marked as most recently used; nullptr if absent.
  // The pointer is valid until the next Get/Insert call.
  V* Get(const std::string& key) {
    auto it = index_.find(key);
    if (it == index_.end()) return nullptr;
    order_.splice(order_.begin(), order_, it->second);
    return &it->second->second;
  }

  // The entry for `key`, created (value-initialised) if absent, evicting
  // the least recently used entry when the table is full.
  V* GetOrInsert(const std::string& key) {
    if (V* v = Get(key)) return v;
    if (index_.size() >= capacity_) {
      index_.erase(order_.back().first);
      order_.pop_back();
      evictions_++;
    }
    order_.emplace_front(key, V{});
    index_.emplace(key, order_.begin());
    return &order_.front().second;
  }

  // The entry for `key` without marking it used; nullptr if absent.
  const V* Peek(const std::string& key) const {
    auto it = index_.find(key);
    return it == index_.end() ? nullptr : &it->second->second;
  }

  size_t size() const { return index_.size(); }
  size_t capacity() const { return capacity_; }
  // Entries pushed out so far (for tests and monitoring).
  size_t evictions() const { return evictions_; }

 private:
  using List = std::list<std::pair<std::string, V>>;
  size_t capacity_;
  size_t evictions_ = 0;
  List order_;  // Most recently used first.
  std::unordered_map<std::string, typename List::iterator> index_;
};

}  // namespace chasquid::limits
