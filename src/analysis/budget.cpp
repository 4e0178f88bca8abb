#include "rtcell/analysis/budget.hpp"

#include "rtcell/analysis/edf.hpp"
#include "rtcell/analysis/fp.hpp"

namespace rtcell::analysis {

bool schedulable_on(std::span<const Task> tasks, LocalScheduler sched, const Supply& supply) {
  if (sched == LocalScheduler::Edf) return qpa(tasks, supply).schedulable;
  return fp_analysis(tasks, supply).schedulable;
}

namespace {

// Least Θ in [1, hi] with ok(Θ), given ok(hi); `rate_reaches(Θ)` is false
// where the long-run rate Θ/Π is below U (no such Θ passes).
template <typename Ok, typename Rate>
Time least_passing(Time hi, Ok ok, Rate rate_reaches) {
  Time lo = 0;  // fails (or is below every feasible Θ)
  for (Time step = hi / 2; step > 0 && !rate_reaches(step); step = lo + (hi - lo) / 2) {
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

}  // namespace

std::optional<Time> min_budget(std::span<const Task> tasks, LocalScheduler sched, Time period,
                               std::optional<Time> deadline) {
  Time delta = deadline.value_or(period);
  if (period <= 0 || delta <= 0 || delta > period) return std::nullopt;
  return min_budget(tasks, sched, Supply::edp(period, delta, delta));
}

std::optional<Time> min_budget(std::span<const Task> tasks, LocalScheduler sched, const Supply& shape) {
  Time period = shape.period();
  Time hi = shape.is_throttled() ? period : shape.deadline();
  if (period <= 0 || hi <= 0) return std::nullopt;
  if (tasks.empty()) return 0;
  auto ok = [&](Time theta) { return schedulable_on(tasks, sched, shape.with_budget(theta)); };
  if (!ok(hi)) return std::nullopt;
  // The long-run rate Θ/Π must reach U: start the search there.
  return least_passing(hi, ok, [&](Time theta) {
    return compare_utilization(tasks, Ratio{theta, period}) != Compare::Greater;
  });
}

}  // namespace rtcell::analysis
