#include "rtcell/analysis/partition.hpp"

#include <algorithm>
#include <numeric>

namespace rtcell::analysis {

namespace {

// Fixed-point load of a bin, for choosing among bins only (never a verdict).
UWide load(std::span<const Task> tasks) {
  UWide u = 0;
  for (const auto& t : tasks) u += (static_cast<UWide>(t.wcet) << 40) / static_cast<UWide>(t.period);
  return u;
}

}  // namespace

PartitionResult partition(std::span<const Task> tasks, std::span<const int> fixed, int bins,
                          LocalScheduler sched, const Supply& supply, Fit fit) {
  PartitionResult res;
  res.bin.assign(tasks.size(), -1);
  std::vector<std::vector<Task>> content(static_cast<size_t>(std::max(bins, 0)));
  for (size_t i = 0; i < tasks.size(); ++i) {
    if (i < fixed.size() && fixed[i] >= 0 && fixed[i] < bins) {
      res.bin[i] = fixed[i];
      content[static_cast<size_t>(fixed[i])].push_back(tasks[i]);
    }
  }
  std::vector<size_t> order;
  for (size_t i = 0; i < tasks.size(); ++i)
    if (res.bin[i] < 0) order.push_back(i);
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return utilization(tasks[b]) < utilization(tasks[a]); });
  for (size_t i : order) {
    int chosen = -1;
    UWide chosen_load = 0;
    for (int b = 0; b < bins; ++b) {
      auto& c = content[static_cast<size_t>(b)];
      c.push_back(tasks[i]);
      bool fits = schedulable_on(c, sched, supply);
      UWide l = fits && fit != Fit::First ? load(c) : 0;
      c.pop_back();
      if (!fits) continue;
      if (fit == Fit::First) {
        chosen = b;
        break;
      }
      if (chosen < 0 || (fit == Fit::Worst ? l < chosen_load : l > chosen_load)) {
        chosen = b;
        chosen_load = l;
      }
    }
    if (chosen < 0) {
      res.ok = false;
      res.unplaced = i;
      return res;
    }
    res.bin[i] = chosen;
    content[static_cast<size_t>(chosen)].push_back(tasks[i]);
  }
  return res;
}

}  // namespace rtcell::analysis
