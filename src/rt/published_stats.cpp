#include "rtcell/rt/published_stats.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>

namespace rtcell::rt {

std::optional<StatsSnapshot> read_published_stats(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  // A file shorter than the page would fault (SIGBUS) on access.
  struct stat st {};
  if (::fstat(fd, &st) != 0 || st.st_size < static_cast<off_t>(sizeof(PublishedStats))) {
    ::close(fd);
    return std::nullopt;
  }
  void* m = ::mmap(nullptr, sizeof(PublishedStats), PROT_READ, MAP_SHARED, fd, 0);
  ::close(fd);
  if (m == MAP_FAILED) return std::nullopt;
  const auto* p = static_cast<const PublishedStats*>(m);
  std::optional<StatsSnapshot> out;
  if (p->magic == PublishedStats::kMagic && p->version == PublishedStats::kVersion) {
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
    out = s;
  }
  ::munmap(m, sizeof(PublishedStats));
  return out;
}

}  // namespace rtcell::rt
