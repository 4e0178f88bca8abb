#include "rtcell/analysis/supply.hpp"

namespace rtcell::analysis {

Supply Supply::edp(Time period, Time budget, Time deadline) {
  Supply s;
  s.dedicated_ = false;
  s.period_ = period;
  s.budget_ = budget;
  s.deadline_ = deadline;
  return s;
}

Time Supply::sbf(Time t) const noexcept {
  if (dedicated_) return t < 0 ? 0 : t;
  if (budget_ <= 0 || t < deadline_ - budget_) return 0;
  // Easwaran et al. 2007, Eq. (2).
  Time x = period_ + deadline_ - 2 * budget_;
  Time y = (t - (deadline_ - budget_)) / period_;
  Time rest = t - x - y * period_;
  return sat_add(sat_mul(y, budget_), rest > 0 ? rest : 0);
}

Time Supply::inverse(Time demand) const noexcept {
  if (demand <= 0) return 0;
  if (dedicated_) return demand;
  if (budget_ <= 0) return kInfinity;
  // demand = k·Θ + r with 0 < r <= Θ: k whole budgets after the first
  // blackout x, then r into the next one.
  Time k = (demand - 1) / budget_;
  Time r = demand - k * budget_;
  Wide t = static_cast<Wide>(period_) + deadline_ - 2 * budget_ + static_cast<Wide>(k) * period_ + r;
  return saturate(t);
}

}  // namespace rtcell::analysis
