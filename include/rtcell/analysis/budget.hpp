// Hierarchical scheduling: is a task set schedulable on a periodic share of a
// CPU, and what is the least share that makes it so.
#pragma once

#include <optional>
#include <span>

#include "rtcell/analysis/supply.hpp"
#include "rtcell/analysis/task.hpp"

namespace rtcell::analysis {

enum class LocalScheduler { FixedPriority, Edf };

// The exact test for the scheduler on the supply: RTA against sbf for fixed
// priority (Shin & Lee 2003, Theorem 3; priorities must be set), QPA against
// sbf for EDF (Shin & Lee 2003, Theorem 1; Easwaran et al. 2007, Theorem 2).
bool schedulable_on(std::span<const Task> tasks, LocalScheduler sched, const Supply& supply);

// The minimum budget Θ (ns) such that `tasks` are schedulable on
// Ω(period, Θ, deadline) (deadline defaults to period: Shin & Lee's
// Γ(Π, Θ)). Exact, not the linear bound: sbf is non-decreasing in Θ for a
// fixed Π and Δ, so schedulability is monotone in Θ and a binary search over
// [1, Δ] with the exact test finds the least Θ; Θ − 1 fails that test.
// nullopt if even Θ = Δ fails.
std::optional<Time> min_budget(std::span<const Task> tasks, LocalScheduler sched, Time period,
                               std::optional<Time> deadline = std::nullopt);

// The same search over the budgets of `shape` (shape.with_budget(Θ)), e.g. a
// Supply::throttled group under tick accounting, possibly with interference.
// Θ ranges over [1, Π] for a throttled group (Θ = Π: never throttled) and
// [1, Δ] for Ω. Without interference sbf is non-decreasing in Θ, so the
// answer is exact; with interference the bound of supply.hpp may dip by a
// hair where a larger Θ shrinks the slack, and the answer is a Θ that passes
// (never one that fails), not always the least.
std::optional<Time> min_budget(std::span<const Task> tasks, LocalScheduler sched, const Supply& shape);

}  // namespace rtcell::analysis
