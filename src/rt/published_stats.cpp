#include "rtcell/rt/published_stats.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstring>

namespace rtcell::rt {

std::optional<int64_t> histogram_quantile(const uint64_t* counts, int buckets, int64_t bucket_ns,
                                          int64_t max_ns, double q) {
  uint64_t total = 0;
  for (int i = 0; i < buckets; ++i) total += counts[i];
  if (total == 0) return std::nullopt;
  const auto rank = static_cast<uint64_t>(std::ceil(q * static_cast<double>(total)));
  uint64_t seen = 0;
  for (int i = 0; i < buckets; ++i) {
    seen += counts[i];
    if (seen >= rank && i + 1 < buckets) return std::min(max_ns, (i + 1) * bucket_ns);
    if (seen >= rank) break;
  }
  return max_ns;
}

namespace {

// The page's size by version: version 1 ends at latency_max_ns.
size_t page_size(uint32_t version) {
  return version == 1 ? offsetof(PublishedStats, response_bucket_ns) : sizeof(PublishedStats);
}

}  // namespace

std::optional<StatsSnapshot> read_published_stats(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  // A file shorter than the page would fault (SIGBUS) on access.
  struct stat st {};
  if (::fstat(fd, &st) != 0 || st.st_size < static_cast<off_t>(page_size(1))) {
    ::close(fd);
    return std::nullopt;
  }
  // Map the whole page when the file has it; a version-1 file is shorter
  // and only its fields are read.
  const size_t mapped = std::min(sizeof(PublishedStats), static_cast<size_t>(st.st_size));
  void* m = ::mmap(nullptr, mapped, PROT_READ, MAP_SHARED, fd, 0);
  ::close(fd);
  if (m == MAP_FAILED) return std::nullopt;
  const auto* p = static_cast<const PublishedStats*>(m);
  std::optional<StatsSnapshot> out;
  const uint32_t version = p->magic == PublishedStats::kMagic ? p->version : 0;
  if ((version == 1 || version == PublishedStats::kVersion) && mapped >= page_size(version)) {
    constexpr auto r = std::memory_order_relaxed;
    StatsSnapshot s;
    s.name.assign(p->name, strnlen(p->name, sizeof p->name));
    s.period_ns = p->period_ns;
    s.deadline_ns = p->deadline_ns;
    s.cycles = p->cycles.load(r);
    s.misses = p->misses.load(r);
    s.overruns = p->overruns.load(r);
    s.exec_max_ns = p->exec_max_ns.load(r);
    s.response_max_ns = p->response_max_ns.load(r);
    s.latency_max_ns = p->latency_max_ns.load(r);
    if (version >= 2 && p->response_bucket_ns > 0) {
      uint64_t counts[PublishedStats::kResponseBuckets];
      for (int i = 0; i < PublishedStats::kResponseBuckets; ++i) counts[i] = p->response_hist[i].load(r);
      s.response_p999_ns = histogram_quantile(counts, PublishedStats::kResponseBuckets, p->response_bucket_ns,
                                              s.response_max_ns, 0.999);
    }
    out = s;
  }
  ::munmap(m, mapped);
  return out;
}

}  // namespace rtcell::rt
