// Fixed-priority response-time analysis (see fp.hpp for the sources).
//
// Speed matters: `rtcell admit` runs at every container start and must
// handle 10 000 tasks; 1 000 tasks over three decades of periods take well
// under a millisecond (docs/performance.md). What keeps the O(n²)
// recurrence cheap: tasks are analysed in priority order and each
// recurrence starts from the previous task's busy window or the utilization
// lower bound, whichever is higher (both at or below the least fixed point,
// so the answer is the one from 0); the interference sum carries over from
// task to task and recounts only the tasks released again (Interference
// below); ⌈x/T⌉ is short-cut to 1 when x <= T.
#include "rtcell/analysis/fp.hpp"

#include <algorithm>
#include <numeric>

namespace rtcell::analysis {

namespace {

struct Hp {
  Time period;
  Time wcet;
  Time jitter;
};

// Where the recurrence w = own + Σ_j ⌈(w + J_j)/T_j⌉ C_j may start on a
// dedicated CPU. Every fixed point has w ≥ own + Σ_j (w + J_j) U_j, i.e.
// w ≥ L = (own + Σ_j J_j U_j) / (1 − Σ_j U_j) (Sjödin & Hansson 1998,
// "Improved response-time analysis calculations", RTSS; Davis, Zabos &
// Burns 2008, IEEE TC 57(9), use it as the initial value). For any x ≤ L,
// f(x) ≥ own + Σ(x + J)U ≥ x, so iterating from x climbs to the least fixed
// point and never past it: the result is exactly the one from 0, reached in
// a few steps instead of hundreds when the higher-priority utilization is
// high. Computed in double and lowered by a margin larger than its rounding;
// 0 (no jump) when Σ U ≥ 1 or the bound does not fit.
Time fixed_point_floor(Time own, double sum_u, double sum_ju) {
  if (sum_u >= 1.0 || own <= 0) return 0;
  const double l = (static_cast<double>(own) + sum_ju) / (1.0 - sum_u);
  const double safe = l * (1.0 - 1e-9) - 2.0;
  if (!(safe > 0) || safe >= 9e18) return 0;
  return static_cast<Time>(safe);
}

double utilization_of(const Hp& h) {
  return static_cast<double>(h.wcet) / static_cast<double>(h.period);
}

// Demand of `hp` in a window of length w (the Σ term), saturating.
Time interference(std::span<const Hp> hp, Time w) {
  Wide sum = 0;
  for (const auto& h : hp) {
    Time x = w + h.jitter;
    Time n = x <= h.period ? 1 : ceil_div(x, h.period);
    sum += static_cast<Wide>(n) * h.wcet;
    if (sum >= kInfinity) return kInfinity;
  }
  return static_cast<Time>(sum);
}

// Iteration limit for the number of jobs in one busy period; beyond it the
// task is treated as unbounded (only reachable at utilization exactly 1 with
// huge hyperperiods).
constexpr Time kMaxJobs = 1'000'000;

Time response_time_hp(const Task& task, std::span<const Hp> hp, const Supply& supply, Time limit,
                      Time start) {
  Time worst = 0;
  Time w = start;
  for (Time q = 0; q < kMaxJobs; ++q) {
    Time own = sat_add(task.blocking, sat_mul(q + 1, task.wcet));
    if (own == kInfinity) return kInfinity;
    // Stop once R(q) = w - qT + J exceeds the limit.
    Time w_limit =
        limit == kInfinity ? kInfinity : sat_add(sat_add(limit, sat_mul(q, task.period)), 1 - task.jitter);
    for (;;) {
      Time demand = sat_add(own, interference(hp, w));
      if (demand == kInfinity) return kInfinity;
      Time next = supply.inverse(demand);
      if (next == kInfinity) return kInfinity;
      if (next <= w) break;
      w = next;
      if (w >= w_limit) return w - q * task.period + task.jitter;
    }
    Time r = w - q * task.period + task.jitter;
    worst = std::max(worst, r);
    if (worst > limit) return worst;
    // Does job q+1 fall inside this busy period? (Tindell et al. 1994)
    if (sat_add(w, task.jitter) <= sat_mul(q + 1, task.period)) return worst;
  }
  return kInfinity;
}

std::vector<Hp> to_hp(std::span<const Task> tasks) {
  std::vector<Hp> hp;
  hp.reserve(tasks.size());
  for (const auto& t : tasks) hp.push_back({t.period, t.wcet, t.jitter});
  return hp;
}

// Indices sorted most urgent first; ties keep input order.
std::vector<size_t> by_priority(std::span<const Task> tasks) {
  std::vector<size_t> idx(tasks.size());
  std::iota(idx.begin(), idx.end(), 0);
  std::stable_sort(idx.begin(), idx.end(), [&](size_t a, size_t b) {
    return tasks[a].priority.value_or(0) > tasks[b].priority.value_or(0);
  });
  return idx;
}

}  // namespace

Time response_time(const Task& task, std::span<const Task> higher, const Supply& supply, Time limit) {
  auto hp = to_hp(higher);
  return response_time_hp(task, hp, supply, limit, 0);
}

namespace {

// Σ_j ⌈(w + J_j)/T_j⌉ C_j over a growing set of more urgent tasks, for a
// non-decreasing w. Each task keeps its job count and the largest w that
// count still covers (n·T − J); moving w forward recounts only the tasks
// released again below it, and the sum carries over from one task of a
// priority-ordered RTA to the next.
//
// The tasks lie in flat arrays in priority order, in blocks of kBlock that
// keep their least bound, rather than in a heap keyed by the bound: in a set
// spread over decades of periods the short-period tasks are released again
// at nearly every move of w, so a heap pops and pushes most of its entries
// each time (that was 70 % of the analysis); a block whose least bound is
// not crossed is skipped with one compare, and a crossed one is a scan of
// contiguous memory. The count uses a multiply by 1/T and one integer
// correction instead of a 64-bit division.
class Interference {
 public:
  void add(const Hp& h, Time w) {
    period_.push_back(h.period);
    jitter_.push_back(h.jitter);
    wcet_.push_back(h.wcet);
    inv_period_.push_back(1.0 / static_cast<double>(h.period));
    const size_t j = period_.size() - 1;
    const Time n = jobs(j, w);
    count_.push_back(n);
    bound_.push_back(bound(j, n));
    sum_ += static_cast<Wide>(n) * h.wcet;
    if (j % kBlock == 0) block_min_.push_back(kInfinity);
    block_min_.back() = std::min(block_min_.back(), bound_.back());
  }
  void advance(Time w) {
    const size_t size = bound_.size();
    for (size_t b = 0; b < block_min_.size(); ++b) {
      if (block_min_[b] >= w) continue;
      Time least = kInfinity;
      const size_t last = std::min(size, (b + 1) * kBlock);
      for (size_t j = b * kBlock; j < last; ++j) {
        if (bound_[j] < w) {
          const Time n = jobs(j, w);
          sum_ += static_cast<Wide>(n - count_[j]) * wcet_[j];
          count_[j] = n;
          bound_[j] = bound(j, n);
        }
        least = std::min(least, bound_[j]);
      }
      block_min_[b] = least;
    }
  }
  Time sum() const { return saturate(sum_); }
  void clear() {
    period_.clear();
    jitter_.clear();
    wcet_.clear();
    inv_period_.clear();
    count_.clear();
    bound_.clear();
    block_min_.clear();
    sum_ = 0;
  }

 private:
  // ⌈(w + J)/T⌉ (0 for w + J <= 0); exact: the double quotient is off by at
  // most one below 2^53, and the integer checks put it right.
  Time jobs(size_t j, Time w) const {
    const Time x = sat_add(w, jitter_[j]);
    const Time t = period_[j];
    if (x <= 0) return 0;
    if (x <= t) return 1;
    if (x >= (Time{1} << 52)) return ceil_div(x, t);
    Time n = static_cast<Time>(static_cast<double>(x) * inv_period_[j]);
    if (n * t < x) ++n;
    if ((n - 1) * t >= x) --n;
    return n;
  }
  Time bound(size_t j, Time n) const {
    return n >= kInfinity / period_[j] ? kInfinity : n * period_[j] - jitter_[j];
  }
  static constexpr size_t kBlock = 16;
  std::vector<Time> period_, jitter_, wcet_, count_, bound_;
  std::vector<Time> block_min_;  // least bound_ of each block
  std::vector<double> inv_period_;
  Wide sum_ = 0;
};

}  // namespace

FpResult fp_analysis(std::span<const Task> tasks, const Supply& supply, bool exact_miss) {
  FpResult res;
  res.response.assign(tasks.size(), 0);
  auto order = by_priority(tasks);
  std::vector<Hp> sorted;
  sorted.reserve(tasks.size());
  for (size_t i : order) sorted.push_back({tasks[i].period, tasks[i].wcet, tasks[i].jitter});

  // `w` is an iterate of the level-(k−1) recurrence from below, hence at most
  // that task's busy window. It stays a lower bound for a less urgent task t
  // whose demand dominates: demand_t(x) ≥ B_t + C_t + C_prev + I_prev(x) ≥
  // demand_prev(x) when B_t + C_t ≥ B_prev (x > 0). Otherwise restart at 0.
  Interference inf;
  Time w = 0;
  Time prev_b = 0;
  // Σ U and Σ J·U of the tasks in `inf`, for fixed_point_floor().
  double hp_u = 0, hp_ju = 0;
  const bool dedicated = supply.is_full();
  size_t k = 0;
  while (k < order.size()) {
    // [k, end) share one priority level: each sees all the others.
    size_t end = k + 1;
    while (end < order.size() && tasks[order[end]].priority == tasks[order[k]].priority) ++end;
    bool tie = end - k > 1;
    for (size_t m = k; m < end; ++m) {
      const Task& t = tasks[order[m]];
      Time limit = exact_miss ? sat_mul(t.deadline, 64) : t.deadline;
      Time r;
      if (tie) {
        std::vector<Hp> level_hp(sorted.begin(), sorted.begin() + static_cast<std::ptrdiff_t>(end));
        level_hp.erase(level_hp.begin() + static_cast<std::ptrdiff_t>(m));
        // The window before this level is a lower bound here too (same
        // argument as below), which saves most iterations in big levels.
        Time start = sat_add(t.blocking, t.wcet) >= prev_b ? w : 0;
        if (dedicated) {
          double u = 0, ju = 0;
          for (const auto& h : level_hp) {
            u += utilization_of(h);
            ju += static_cast<double>(h.jitter) * utilization_of(h);
          }
          start = std::max(start, fixed_point_floor(sat_add(t.blocking, t.wcet), u, ju));
        }
        r = response_time_hp(t, level_hp, supply, limit, start);
      } else {
        if (sat_add(t.blocking, t.wcet) < prev_b) {
          w = 0;
          inf.clear();
          for (size_t j = 0; j < k; ++j) inf.add(sorted[j], 0);
        }
        prev_b = t.blocking;
        Time own = sat_add(t.blocking, t.wcet);
        if (dedicated) w = std::max(w, fixed_point_floor(own, hp_u, hp_ju));
        bool converged = false;
        r = kInfinity;
        for (;;) {
          inf.advance(w);
          Time demand = sat_add(own, inf.sum());
          Time next = demand == kInfinity ? kInfinity : supply.inverse(demand);
          if (next == kInfinity) break;
          if (next <= w) {
            converged = true;
            r = w + t.jitter;
            break;
          }
          w = next;
          if (sat_add(w, t.jitter) > limit) {
            r = sat_add(w, t.jitter);
            break;
          }
        }
        // A busy period longer than the period holds more jobs of t
        // (Tindell et al. 1994): finish with the full recurrence from w.
        if (converged && sat_add(w, t.jitter) > t.period)
          r = response_time_hp(t, std::span<const Hp>(sorted.data(), k), supply, limit, w);
      }
      res.response[order[m]] = r;
      if (r > t.deadline) {
        res.schedulable = false;
        if (!res.first_miss) res.first_miss = order[m];
        if (!exact_miss) return res;
      }
    }
    for (size_t m = k; m < end; ++m) {
      inf.add(sorted[m], w);
      hp_u += utilization_of(sorted[m]);
      hp_ju += static_cast<double>(sorted[m].jitter) * utilization_of(sorted[m]);
    }
    k = end;
  }
  return res;
}

std::vector<int> deadline_monotonic(std::span<const Task> tasks) {
  std::vector<size_t> idx(tasks.size());
  std::iota(idx.begin(), idx.end(), 0);
  std::stable_sort(idx.begin(), idx.end(), [&](size_t a, size_t b) {
    Time da = tasks[a].deadline - tasks[a].jitter;
    Time db = tasks[b].deadline - tasks[b].jitter;
    if (da != db) return da < db;
    return tasks[a].period < tasks[b].period;
  });
  std::vector<int> prio(tasks.size());
  for (size_t r = 0; r < idx.size(); ++r) prio[idx[r]] = static_cast<int>(idx.size() - r);
  return prio;
}

std::vector<int> rate_monotonic(std::span<const Task> tasks) {
  std::vector<size_t> idx(tasks.size());
  std::iota(idx.begin(), idx.end(), 0);
  std::stable_sort(idx.begin(), idx.end(),
                   [&](size_t a, size_t b) { return tasks[a].period < tasks[b].period; });
  std::vector<int> prio(tasks.size());
  for (size_t r = 0; r < idx.size(); ++r) prio[idx[r]] = static_cast<int>(idx.size() - r);
  return prio;
}

std::optional<std::vector<int>> audsley_opa(std::span<const Task> tasks, const Supply& supply) {
  std::vector<int> prio(tasks.size(), 0);
  std::vector<size_t> unassigned(tasks.size());
  std::iota(unassigned.begin(), unassigned.end(), 0);
  for (int level = 1; level <= static_cast<int>(tasks.size()); ++level) {
    bool placed = false;
    for (size_t u = 0; u < unassigned.size(); ++u) {
      std::vector<Hp> hp;
      hp.reserve(unassigned.size());
      for (size_t v = 0; v < unassigned.size(); ++v) {
        if (v == u) continue;
        const Task& o = tasks[unassigned[v]];
        hp.push_back({o.period, o.wcet, o.jitter});
      }
      const Task& t = tasks[unassigned[u]];
      if (response_time_hp(t, hp, supply, t.deadline, 0) <= t.deadline) {
        prio[unassigned[u]] = level;
        unassigned.erase(unassigned.begin() + static_cast<std::ptrdiff_t>(u));
        placed = true;
        break;
      }
    }
    if (!placed) return std::nullopt;
  }
  return prio;
}

namespace {

// DM order, most urgent first: by D − J, then by period (deadline_monotonic's).
std::vector<size_t> dm_order(std::span<const Task> tasks) {
  auto rank = deadline_monotonic(tasks);
  std::vector<size_t> idx(tasks.size());
  std::iota(idx.begin(), idx.end(), 0);
  std::sort(idx.begin(), idx.end(), [&](size_t a, size_t b) { return rank[a] > rank[b]; });
  return idx;
}

// Does task i meet its deadline with every task of `group` but itself at its
// level or above?
bool meets_below(std::span<const Task> tasks, size_t i, std::span<const size_t> group, const Supply& supply) {
  std::vector<Hp> hp;
  hp.reserve(group.size());
  for (size_t j : group)
    if (j != i) hp.push_back({tasks[j].period, tasks[j].wcet, tasks[j].jitter});
  const Task& t = tasks[i];
  return response_time_hp(t, hp, supply, t.deadline, 0) <= t.deadline;
}

// Numbers bands given bottom first, each in DM order (most urgent first),
// after splitting them with the spare levels from the top down (a task
// lifted above the rest of its band interferes with them as before and
// suffers less itself).
std::vector<int> number_bands(const std::vector<std::vector<size_t>>& bottom_first, int levels, size_t n) {
  std::vector<std::vector<size_t>> top_first;
  int spare = levels - static_cast<int>(bottom_first.size());
  for (auto b = bottom_first.rbegin(); b != bottom_first.rend(); ++b) {
    size_t k = 0;
    for (; spare > 0 && b->size() - k > 1; ++k, --spare) top_first.push_back({(*b)[k]});
    top_first.emplace_back(b->begin() + static_cast<std::ptrdiff_t>(k), b->end());
  }
  std::vector<int> level(n, 0);
  int l = static_cast<int>(top_first.size());
  for (const auto& band : top_first) {
    for (size_t i : band) level[i] = l;
    --l;
  }
  return level;
}

}  // namespace

std::optional<std::vector<int>> deadline_monotonic_levels(std::span<const Task> tasks, int levels,
                                                          const Supply& supply) {
  auto order = dm_order(tasks);
  std::vector<std::vector<size_t>> bands;
  size_t end = order.size();
  while (end > 0) {
    if (static_cast<int>(bands.size()) >= levels) return std::nullopt;
    std::span<const size_t> rest(order.data(), end);
    size_t start = end;
    while (start > 0 && meets_below(tasks, order[start - 1], rest, supply)) --start;
    if (start == end) return std::nullopt;
    bands.emplace_back(order.begin() + static_cast<std::ptrdiff_t>(start),
                       order.begin() + static_cast<std::ptrdiff_t>(end));
    end = start;
  }
  return number_bands(bands, levels, tasks.size());
}

std::optional<std::vector<int>> audsley_levels(std::span<const Task> tasks, int levels,
                                               const Supply& supply) {
  auto rest = dm_order(tasks);
  std::vector<std::vector<size_t>> bands;
  while (!rest.empty()) {
    if (static_cast<int>(bands.size()) >= levels) return std::nullopt;
    std::vector<size_t> band, above;
    for (size_t i : rest) (meets_below(tasks, i, rest, supply) ? band : above).push_back(i);
    if (band.empty()) return std::nullopt;
    bands.push_back(std::move(band));
    rest = std::move(above);
  }
  return number_bands(bands, levels, tasks.size());
}

std::vector<int> deadline_monotonic_bands(std::span<const Task> tasks, int levels) {
  auto order = dm_order(tasks);
  size_t n = order.size();
  size_t k = static_cast<size_t>(std::max(levels, 1));
  std::vector<int> level(n, 0);
  // Position p (0 = most urgent) falls in band p·k/n, counted from the top.
  for (size_t p = 0; p < n; ++p) level[order[p]] = static_cast<int>(k - (k >= n ? p : p * k / n));
  return level;
}

namespace {

constexpr int kFix = 60;
constexpr UWide kOne = static_cast<UWide>(1) << kFix;
constexpr UWide kTwo = kOne * 2;

UWide mul_up(UWide a, UWide b) {
  UWide p = a * b;  // both <= 2^61 + something: < 2^123
  return (p >> kFix) + ((p & (kOne - 1)) != 0 ? 1 : 0);
}

UWide util_up(const Task& t) {
  UWide c = static_cast<UWide>(t.wcet) << kFix;
  return c / static_cast<UWide>(t.period) + (c % static_cast<UWide>(t.period) != 0 ? 1 : 0);
}

bool implicit_plain(std::span<const Task> tasks) {
  return std::all_of(tasks.begin(), tasks.end(), [](const Task& t) {
    return t.deadline == t.period && t.jitter == 0 && t.blocking == 0 && t.wcet <= t.period;
  });
}

}  // namespace

bool liu_layland_test(std::span<const Task> tasks) {
  if (tasks.empty()) return true;
  if (!implicit_plain(tasks)) return false;
  UWide u = 0;
  for (const auto& t : tasks) {
    u += util_up(t);
    if (u > kTwo) return false;
  }
  // U ≤ n(2^{1/n} − 1)  ⇔  (1 + U/n)^n ≤ 2; every rounding is upward.
  UWide n = tasks.size();
  UWide base = kOne + u / n + (u % n != 0 ? 1 : 0);
  UWide acc = kOne;
  for (UWide e = n; e > 0; e >>= 1) {
    if (e & 1) {
      acc = mul_up(acc, base);
      if (acc > kTwo) return false;
    }
    if (e > 1) {
      base = mul_up(base, base);
      if (base > kTwo) return false;  // base^(2^j) with 2^j <= n bounds acc's final value from below
    }
  }
  return acc <= kTwo;
}

bool hyperbolic_test(std::span<const Task> tasks) {
  if (!implicit_plain(tasks)) return false;
  // Exactly while the products fit: Π(C_i + T_i) ≤ 2·Π T_i.
  Wide num = 1;
  Wide den = 1;
  bool exact = true;
  for (const auto& t : tasks) {
    Wide a = 0;
    Wide b = 0;
    if (__builtin_mul_overflow(num, static_cast<Wide>(t.wcet) + t.period, &a) ||
        __builtin_mul_overflow(den, static_cast<Wide>(t.period), &b)) {
      exact = false;
      break;
    }
    Wide g = wide_gcd(a, b);
    num = a / g;
    den = b / g;
  }
  if (exact) return num - den <= den;
  UWide acc = kOne;
  for (const auto& t : tasks) {
    acc = mul_up(acc, kOne + util_up(t));
    if (acc > kTwo) return false;
  }
  return true;
}

}  // namespace rtcell::analysis
