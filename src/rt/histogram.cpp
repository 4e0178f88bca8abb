#include "rtcell/rt/histogram.hpp"

#include <algorithm>
#include <cmath>

#include "rtcell/error.hpp"

namespace rtcell::rt {

Histogram::Histogram(uint32_t buckets, int64_t bucket_ns, uint32_t overflow_capacity)
    : buckets_(buckets, 0), bucket_ns_(bucket_ns) {
  if (buckets == 0) usage_error("histogram size 0: use at least 1 bucket (e.g. --histogram 1000)");
  if (bucket_ns <= 0) usage_error("histogram bucket width must be positive");
  overflows_.reserve(overflow_capacity);
}

void Histogram::reset() noexcept {
  std::fill(buckets_.begin(), buckets_.end(), 0);
  overflows_.clear();
  count_ = overflow_count_ = 0;
  sum_ = 0;
  min_ = std::numeric_limits<int64_t>::max();
  max_ = std::numeric_limits<int64_t>::min();
}

void Histogram::merge(const Histogram& o) {
  if (o.buckets_.size() != buckets_.size() || o.bucket_ns_ != bucket_ns_)
    usage_error("cannot merge histograms of different shapes");
  for (size_t i = 0; i < buckets_.size(); ++i) buckets_[i] += o.buckets_[i];
  // Overflow indices are per-source sample numbers; merged lists keep them as
  // they were (a total has no single sample sequence).
  for (const auto& ov : o.overflows_) {
    if (overflows_.size() == overflows_.capacity()) break;
    overflows_.push_back(ov);
  }
  count_ += o.count_;
  overflow_count_ += o.overflow_count_;
  sum_ += o.sum_;
  min_ = std::min(min_, o.min_);
  max_ = std::max(max_, o.max_);
}

void Histogram::assign(std::span<const uint64_t> buckets, std::span<const Overflow> overflows,
                       uint64_t overflow_count, uint64_t count, int64_t sum, int64_t min, int64_t max) {
  if (buckets.size() != buckets_.size()) usage_error("cannot assign histogram counts of a different shape");
  std::copy(buckets.begin(), buckets.end(), buckets_.begin());
  overflows_.clear();
  for (const auto& ov : overflows) {
    if (overflows_.size() == overflows_.capacity()) break;
    overflows_.push_back(ov);
  }
  overflow_count_ = overflow_count;
  count_ = count;
  sum_ = sum;
  min_ = count ? min : std::numeric_limits<int64_t>::max();
  max_ = count ? max : std::numeric_limits<int64_t>::min();
}

std::optional<Histogram::Percentile> Histogram::percentile(double q) const {
  if (count_ == 0 || !(q > 0) || q > 1) return std::nullopt;
  // Nearest rank; the 1e-9 guards against 0.999 * 1000 landing on 999.0000001.
  auto rank = static_cast<uint64_t>(std::ceil(q * static_cast<double>(count_) - 1e-9));
  rank = std::clamp<uint64_t>(rank, 1, count_);
  uint64_t seen = 0;
  for (size_t i = 0; i < buckets_.size(); ++i) {
    seen += buckets_[i];
    if (seen >= rank) {
      Percentile p;
      // Bucket i holds [i*w, (i+1)*w); the max is a tighter upper edge.
      p.value_ns = std::min<int64_t>(static_cast<int64_t>(i + 1) * bucket_ns_ - 1, max_);
      p.exact = buckets_[i] > 0 && p.value_ns == max_;
      return p;
    }
  }
  Percentile p;
  p.in_overflow = true;
  if (!overflows_truncated()) {
    std::vector<int64_t> vals;
    vals.reserve(overflows_.size());
    for (const auto& ov : overflows_) vals.push_back(ov.value_ns);
    std::sort(vals.begin(), vals.end());
    p.value_ns = vals[static_cast<size_t>(rank - seen - 1)];
    p.exact = true;
  } else {
    p.value_ns = max_;
  }
  return p;
}

}  // namespace rtcell::rt
