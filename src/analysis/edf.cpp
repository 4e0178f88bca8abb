// EDF demand analysis (see edf.hpp for the sources).
//
// All bounds are formed in integer fixed point with rounding toward a larger
// L (a larger L only costs time, never correctness); the verdict itself is
// the integer comparison dbf(t) <= sbf(t).
#include "rtcell/analysis/edf.hpp"

#include <algorithm>

namespace rtcell::analysis {

namespace {

Time effective_deadline(const Task& t) {
  return t.deadline - t.jitter;
}

// Largest deadline d = D_eff + kT (k >= 0) with d <= t; -1 if none.
Time last_deadline_le(std::span<const Task> tasks, Time t) {
  Time best = -1;
  for (const auto& task : tasks) {
    Time d = effective_deadline(task);
    if (d > t) continue;
    Time k = (t - d) / task.period;
    best = std::max(best, d + k * task.period);
  }
  return best;
}

Wide total_blocking(std::span<const Task> tasks) {
  Wide b = 0;
  for (const auto& t : tasks) b += t.blocking;
  return b;
}

// Synchronous busy period on a dedicated CPU (Zhang & Burns 2009, Eq. (8)):
// w = Σ ⌈(w + J_i)/T_i⌉ C_i from w = Σ C_i; nullopt if it does not settle
// within the iteration cap (then La is used alone). Blocking adds ΣB: a
// processor busy period begins after idle time, when no lock is held, so
// the bound without it already holds; with it L is only larger (safe).
std::optional<Time> busy_period(std::span<const Task> tasks) {
  const Wide b = total_blocking(tasks);
  Wide w = b;
  for (const auto& t : tasks) w += t.wcet;
  if (w >= kInfinity) return std::nullopt;
  for (int it = 0; it < 100'000; ++it) {
    Wide next = b;
    for (const auto& t : tasks) {
      Time x = static_cast<Time>(w) + t.jitter;
      next += static_cast<Wide>(x <= t.period ? 1 : ceil_div(x, t.period)) * t.wcet;
      if (next >= kInfinity) return std::nullopt;
    }
    if (next == w) return static_cast<Time>(w);
    w = next;
  }
  return std::nullopt;
}

// L where U·t + A <= rate·(t − x) for all larger t, computed in 2^-40 fixed
// point rounded toward larger L. nullopt if the fixed point cannot separate
// U from the rate or L would not fit. A includes ΣB, the most b(t) can be.
std::optional<Time> linear_bound(std::span<const Task> tasks, const Supply& s) {
  constexpr int kFix = 40;
  UWide u_hi = 0;
  Wide a_hi = total_blocking(tasks);  // + Σ U_i·max(0, T_i − D_eff_i), ns, rounded up
  for (const auto& t : tasks) {
    UWide c = static_cast<UWide>(t.wcet) << kFix;
    u_hi += c / static_cast<UWide>(t.period) + (c % static_cast<UWide>(t.period) != 0 ? 1 : 0);
    Time gap = t.period - effective_deadline(t);
    if (gap > 0) {
      Wide p = static_cast<Wide>(t.wcet) * gap;
      a_hi += p / t.period + (p % t.period != 0 ? 1 : 0);
    }
  }
  Ratio rate = s.rate();
  UWide r_lo = (static_cast<UWide>(rate.num) << kFix) / static_cast<UWide>(rate.den);
  if (r_lo <= u_hi) return std::nullopt;
  // 0 for a dedicated CPU or a full budget (Θ = Π), Π + Δ − 2Θ for EDP, the
  // tick-accounting offset for a throttled group (supply.hpp).
  auto offset = s.linear_offset();
  if (!offset) return std::nullopt;
  Wide x = *offset;
  Wide num = a_hi + x;  // rate <= 1, so rate·x <= x
  if (num >= (static_cast<Wide>(1) << 86)) return std::nullopt;
  UWide n = static_cast<UWide>(num) << kFix;
  UWide d = r_lo - u_hi;
  UWide l = n / d + 1;
  if (l >= static_cast<UWide>(kInfinity)) return std::nullopt;
  return static_cast<Time>(l);
}

}  // namespace

Time dbf(std::span<const Task> tasks, Time t) {
  Wide sum = 0;
  for (const auto& task : tasks) {
    Time d = effective_deadline(task);
    if (t < d) continue;
    sum += static_cast<Wide>((t - d) / task.period + 1) * task.wcet;
    if (sum >= kInfinity) return kInfinity;
  }
  return static_cast<Time>(sum);
}

Time edf_blocking(std::span<const Task> tasks, Time t) {
  Wide sum = 0;
  for (const auto& task : tasks) {
    if (task.blocking == 0 || t < effective_deadline(task)) continue;
    sum += task.blocking;
    if (sum >= kInfinity) return kInfinity;
  }
  return static_cast<Time>(sum);
}

std::optional<bool> edf_utilization_test(std::span<const Task> tasks) {
  for (const auto& t : tasks)
    if (t.deadline != t.period || t.jitter != 0) return std::nullopt;
  switch (compare_utilization(tasks, Ratio{1, 1})) {
    case Compare::Less:
    case Compare::Equal:
      return true;
    case Compare::Greater:
      return false;
    case Compare::Unknown:
      break;
  }
  return std::nullopt;
}

EdfResult qpa(std::span<const Task> tasks, const Supply& supply) {
  EdfResult res;
  if (tasks.empty()) return res;
  const bool blocking = total_blocking(tasks) > 0;
  // h(t) of Zhang & Burns with the blocking term: still a non-decreasing
  // step function with steps only at deadlines, so QPA's jumps stay valid.
  auto demand = [&](Time t) {
    Time h = dbf(tasks, t);
    return blocking ? sat_add(h, edf_blocking(tasks, t)) : h;
  };
  auto fail_at = [&](Time t) {
    res.schedulable = false;
    res.miss_at = t;
    res.overload = demand(t) - supply.sbf(t);
    res.blocking = blocking ? edf_blocking(tasks, t) : 0;
    for (size_t i = 0; i < tasks.size(); ++i) {
      Time d = effective_deadline(tasks[i]);
      if (t >= d && (t - d) % tasks[i].period == 0) {
        res.missing_task = i;
        break;
      }
    }
    return res;
  };
  // A job that cannot fit even alone: demand C at its own deadline.
  Time d_min = kInfinity;
  for (size_t i = 0; i < tasks.size(); ++i) {
    Time d = effective_deadline(tasks[i]);
    if (d < tasks[i].wcet) {
      res.schedulable = false;
      res.miss_at = std::max<Time>(d, 0);
      res.overload = tasks[i].wcet - std::max<Time>(d, 0);
      res.missing_task = i;
      return res;
    }
    d_min = std::min(d_min, d);
  }

  // A supply shared with capped groups has no linear lower bound here: not
  // decided (reported as a miss, never as schedulable).
  if (!supply.interference().empty()) {
    res.schedulable = false;
    res.undecided = true;
    return res;
  }
  Compare cmp = compare_utilization(tasks, supply.rate());
  if (cmp == Compare::Greater) {
    res.schedulable = false;
    res.over_utilized = true;
    return res;
  }
  if (cmp == Compare::Unknown) {
    res.schedulable = false;
    res.undecided = true;
    return res;
  }
  // A full budget (Θ = Π) supplies sbf(t) = t: the dedicated-CPU bounds
  // apply to it, U = 1 included.
  const bool full = supply.is_full();
  // Every D − J ≥ T on a dedicated CPU: U ≤ 1 is exact (Liu & Layland 1973,
  // Theorem 7, extended to D ≥ T by Baruah et al. 1990), no walk needed —
  // this keeps 10 000-task sets and the WCET search on them linear. Not with
  // blocking: a job can still be blocked past its deadline.
  if (full && !blocking && std::all_of(tasks.begin(), tasks.end(), [](const Task& t) {
        return effective_deadline(t) >= t.period;
      }))
    return res;
  std::optional<Time> bound;
  if (full) {
    auto lb = busy_period(tasks);
    auto la = cmp == Compare::Less ? linear_bound(tasks, supply) : std::nullopt;
    if (la) {
      Time max_d = 0;
      for (const auto& t : tasks) max_d = std::max(max_d, effective_deadline(t));
      la = std::max(*la, max_d);
    }
    if (la && lb)
      bound = std::min(*la, *lb);
    else
      bound = la ? la : lb;
  } else if (cmp == Compare::Less) {
    bound = linear_bound(tasks, supply);
  }
  // Equal rate on a partial supply: dbf(kH) = U·kH exceeds sbf(kH) < U·kH
  // for constrained deadlines; for arbitrary ones we do not decide.
  if (!bound) {
    bool constrained = std::all_of(tasks.begin(), tasks.end(),
                                   [](const Task& t) { return effective_deadline(t) <= t.period; });
    res.schedulable = false;
    if (cmp == Compare::Equal && constrained && !full)
      res.over_utilized = true;
    else
      res.undecided = true;
    return res;
  }

  Time t = last_deadline_le(tasks, *bound);
  while (t >= d_min) {
    Time h = demand(t);
    if (h > supply.sbf(t)) return fail_at(t);
    Time next = supply.inverse(h);
    t = next < t ? next : last_deadline_le(tasks, t - 1);
  }
  return res;
}

}  // namespace rtcell::analysis
