#include "rtcell/analysis/budget.hpp"

#include "rtcell/analysis/edf.hpp"
#include "rtcell/analysis/fp.hpp"

namespace rtcell::analysis {

bool schedulable_on(std::span<const Task> tasks, LocalScheduler sched, const Supply& supply) {
  if (sched == LocalScheduler::Edf) return qpa(tasks, supply).schedulable;
  return fp_analysis(tasks, supply).schedulable;
}

std::optional<Time> min_budget(std::span<const Task> tasks, LocalScheduler sched, Time period,
                               std::optional<Time> deadline) {
  Time delta = deadline.value_or(period);
  if (period <= 0 || delta <= 0 || delta > period) return std::nullopt;
  if (tasks.empty()) return 0;
  auto ok = [&](Time theta) { return schedulable_on(tasks, sched, Supply::edp(period, theta, delta)); };
  if (!ok(delta)) return std::nullopt;
  // The long-run rate Θ/Π must reach U: start the search there.
  Time lo = 0;  // fails (or is below every feasible Θ)
  Time hi = delta;
  for (Time step = delta / 2; step > 0 && compare_utilization(tasks, Ratio{step, period}) == Compare::Greater;
       step = lo + (hi - lo) / 2) {
    lo = step;
    if (hi - lo <= 1) break;
  }
  while (hi - lo > 1) {
    Time mid = lo + (hi - lo) / 2;
    if (ok(mid))
      hi = mid;
    else
      lo = mid;
  }
  return hi;
}

}  // namespace rtcell::analysis
