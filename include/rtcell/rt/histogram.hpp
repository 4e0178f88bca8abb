// A latency histogram that loses nothing: fixed-width buckets up to a limit,
// plus an exact count, max and (up to a capacity chosen at start-up) the
// sample indices and values of everything that overflowed. All storage is
// allocated in the constructor; record() never allocates, locks or throws, so
// it is safe in an RT loop. One writer; readers use snapshot copies.
#pragma once

#include <cstdint>
#include <limits>
#include <optional>
#include <span>
#include <vector>

namespace rtcell::rt {

struct Overflow {
  uint64_t index;  // 0-based sample number
  int64_t value_ns;
};

class Histogram {
 public:
  // `buckets` buckets of `bucket_ns` each cover [0, buckets * bucket_ns);
  // values at or above that are overflows. Negative values (clock skew) count
  // in bucket 0. `overflow_capacity` overflow samples are kept individually.
  explicit Histogram(uint32_t buckets = 1000, int64_t bucket_ns = 1000, uint32_t overflow_capacity = 1024);

  void record(int64_t value_ns) noexcept {
    const uint64_t index = count_++;
    sum_ += value_ns;
    if (value_ns < min_) min_ = value_ns;
    if (value_ns > max_) max_ = value_ns;
    int64_t b = value_ns < 0 ? 0 : value_ns / bucket_ns_;
    if (b < static_cast<int64_t>(buckets_.size())) {
      ++buckets_[static_cast<size_t>(b)];
      return;
    }
    ++overflow_count_;
    if (overflows_.size() < overflows_.capacity()) overflows_.push_back({index, value_ns});
  }

  void reset() noexcept;
  // Adds another histogram of the same shape (for all-threads totals).
  void merge(const Histogram& other);
  // Replaces the contents with counts kept elsewhere in the same shape (the
  // lock-free copy a PeriodicTask publishes to readers). Overflow samples
  // beyond the capacity are counted in `overflow_count` but not kept.
  void assign(std::span<const uint64_t> buckets, std::span<const Overflow> overflows, uint64_t overflow_count,
              uint64_t count, int64_t sum, int64_t min, int64_t max);

  uint64_t count() const noexcept { return count_; }
  int64_t min_ns() const noexcept { return count_ ? min_ : 0; }
  int64_t max_ns() const noexcept { return count_ ? max_ : 0; }
  int64_t sum_ns() const noexcept { return sum_; }
  double avg_ns() const noexcept {
    return count_ ? static_cast<double>(sum_) / static_cast<double>(count_) : 0;
  }
  int64_t bucket_ns() const noexcept { return bucket_ns_; }
  const std::vector<uint64_t>& buckets() const noexcept { return buckets_; }
  uint64_t overflow_count() const noexcept { return overflow_count_; }
  // The overflow samples kept (at most the capacity); overflow_count() is exact.
  const std::vector<Overflow>& overflows() const noexcept { return overflows_; }
  bool overflows_truncated() const noexcept { return overflow_count_ > overflows_.size(); }

  struct Percentile {
    int64_t value_ns = 0;      // upper edge of the bucket holding the rank (exact to the bucket)
    bool in_overflow = false;  // the rank lies beyond the histogram range
    bool exact = false;        // value_ns is the exact sample (from the kept overflows)
  };
  // The q-quantile (0 < q <= 1) by the nearest-rank method: the smallest value
  // v such that at least ceil(q * count) samples are <= v. Computed from the
  // buckets; in the overflow it is exact while every overflow was kept, and
  // otherwise reported as max with in_overflow set.
  std::optional<Percentile> percentile(double q) const;

 private:
  std::vector<uint64_t> buckets_;
  std::vector<Overflow> overflows_;
  int64_t bucket_ns_;
  uint64_t count_ = 0;
  uint64_t overflow_count_ = 0;
  int64_t sum_ = 0;
  int64_t min_ = std::numeric_limits<int64_t>::max();
  int64_t max_ = std::numeric_limits<int64_t>::min();
};

}  // namespace rtcell::rt
