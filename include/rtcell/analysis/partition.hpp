// Partitioned scheduling: place tasks that name no CPU onto a cell's CPUs,
// one task set per CPU, each checked by the exact test on that CPU's supply.
#pragma once

#include <optional>
#include <span>
#include <vector>

#include "rtcell/analysis/budget.hpp"

namespace rtcell::analysis {

enum class Fit { First, Worst, Best };

struct PartitionResult {
  bool ok = true;
  // Per task (input order): the bin (0-based CPU slot) it runs on.
  std::vector<int> bin;
  // The first task (in decreasing-utilization order) that fits no bin.
  std::optional<size_t> unplaced;
};

// First/worst/best-fit decreasing (Dhall & Liu 1978; Lopez, Diaz & Garcia
// 2004 "Utilization bounds for EDF scheduling on real-time multiprocessor
// systems"): tasks by decreasing utilization, each into the first bin /
// the least loaded / the most loaded bin where the exact test still passes.
// `fixed[i]` >= 0 pins task i to that bin before the others are placed.
// For fixed priority the tasks' priorities must be set.
PartitionResult partition(std::span<const Task> tasks, std::span<const int> fixed, int bins,
                          LocalScheduler sched, const Supply& supply, Fit fit = Fit::First);

}  // namespace rtcell::analysis
