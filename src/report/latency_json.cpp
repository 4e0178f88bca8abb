#include "report/latency_json.hpp"

#include <algorithm>

#include "report/host_json.hpp"
#include "rtcell/rt/sched.hpp"

namespace rtcell::report {

using nlohmann::json;

json histogram_json(const rt::Histogram& h) {
  json j;
  j["samples"] = h.count();
  j["min_ns"] = h.min_ns();
  j["avg_ns"] = h.avg_ns();
  j["max_ns"] = h.max_ns();
  json pct = json::object();
  json in_overflow = json::array();
  for (const auto& spec : kLatencyPercentiles) {
    auto p = h.percentile(spec.q);
    if (!p) {
      pct[spec.name] = nullptr;
      continue;
    }
    pct[spec.name] = p->value_ns;
    if (p->in_overflow) in_overflow.push_back(spec.name);
  }
  j["percentiles"] = std::move(pct);
  j["percentiles_in_overflow"] = std::move(in_overflow);
  j["histogram"] = {{"bucket_ns", h.bucket_ns()}, {"counts", h.buckets()}};
  json samples = json::array();
  for (const auto& ov : h.overflows()) samples.push_back({{"index", ov.index}, {"ns", ov.value_ns}});
  j["overflows"] = {
      {"count", h.overflow_count()}, {"truncated", h.overflows_truncated()}, {"samples", samples}};
  return j;
}

json latency_json(const measure::LatencyConfig& config, const measure::LatencyResult& result,
                  const host::HostFacts& host) {
  const std::string policy = rt::to_string(config.policy);
  json j;
  j["schema"] = kLatencySchema;

  std::vector<int> pinned;
  bool all_pinned = true;
  for (const auto& t : config.threads) {
    if (t.cpu)
      pinned.push_back(*t.cpu);
    else
      all_pinned = false;
  }
  const int64_t interval = config.threads.empty() ? 0 : config.threads.front().interval_ns;
  const int64_t distance = config.threads.size() > 1 ? config.threads[1].interval_ns - interval : 0;
  j["config"] = {{"threads", config.threads.size()},
                 {"cpus", all_pinned ? CpuSet(pinned).to_string() : std::string()},
                 {"policy", policy},
                 {"interval_ns", interval},
                 {"distance_ns", distance},
                 {"duration_ns", config.duration_ns},
                 {"loops", config.loops},
                 {"mlock", config.mlock},
                 {"dma_latency_us", result.dma_latency_us ? json(*result.dma_latency_us) : json(nullptr)},
                 {"histogram_buckets", config.histogram_buckets},
                 {"breaktrace_ns", config.breaktrace_ns},
                 {"aligned", config.aligned}};

  j["host"] = host_facts_json(host);

  json threads = json::array();
  uint64_t missed = 0;
  for (const auto& t : result.threads) {
    json tj;
    tj["thread"] = t.thread;
    tj["tid"] = t.tid;
    tj["cpu"] = t.cpu ? json(*t.cpu) : json(nullptr);
    tj["policy"] = policy;
    tj["interval_ns"] = t.interval_ns;
    tj["phase_ns"] = t.phase_ns;
    tj["missed"] = t.missed;
    tj["last_ns"] = t.last_ns;
    tj.update(histogram_json(t.histogram));
    threads.push_back(std::move(tj));
    missed += t.missed;
  }
  j["threads"] = std::move(threads);

  json total;
  total["policy"] = policy;
  total["interval_ns"] = interval;
  total["missed"] = missed;
  total.update(histogram_json(result.total));
  // A total has no single sample sequence: its kept overflows name their thread.
  json samples = json::array();
  for (const auto& t : result.threads)
    for (const auto& ov : t.histogram.overflows())
      samples.push_back({{"thread", t.thread}, {"index", ov.index}, {"ns", ov.value_ns}});
  total["overflows"]["samples"] = std::move(samples);
  j["total"] = std::move(total);

  j["stopped_by"] = measure::to_string(result.stopped_by);
  j["elapsed_ns"] = result.elapsed_ns;
  if (result.breaktrace) {
    j["breaktrace"] = {{"thread", result.breaktrace->thread},
                       {"tid", result.breaktrace->tid},
                       {"value_ns", result.breaktrace->value_ns},
                       {"sample", result.breaktrace->sample}};
  } else {
    j["breaktrace"] = nullptr;
  }
  return j;
}

}  // namespace rtcell::report
