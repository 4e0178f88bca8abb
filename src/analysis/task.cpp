// Exact comparison of a task set's utilization with a bound.
//
// Summing 10 000 rationals C_i/T_i exactly needs the lcm of the periods,
// which overflows for arbitrary periods. Instead each term is taken in
// 64.64 fixed point twice, rounded down and up; the true sum lies between the
// two sums, so unless the bound falls in that window (width n * 2^-64) the
// answer is exact. Only then is the exact rational sum formed, with checked
// arithmetic.
#include "rtcell/analysis/task.hpp"

#include <numeric>

namespace rtcell::analysis {

namespace {

// Exact sum over lcm; false on overflow.
bool exact_sum(std::span<const Task> tasks, Wide& num, Wide& den) {
  num = 0;
  den = 1;
  for (const auto& t : tasks) {
    Wide g = wide_gcd(den, static_cast<Wide>(t.period));
    Wide l = den / g * t.period;
    if (l > (static_cast<Wide>(1) << 100)) return false;
    Wide a = 0;
    Wide b = 0;
    Wide n = 0;
    if (__builtin_mul_overflow(num, l / den, &a) ||
        __builtin_mul_overflow(static_cast<Wide>(t.wcet), l / t.period, &b) ||
        __builtin_add_overflow(a, b, &n))
      return false;
    num = n;
    den = l;
    Wide r = wide_gcd(num, den);
    if (r > 1) {
      num /= r;
      den /= r;
    }
  }
  return true;
}

}  // namespace

Compare compare_utilization(std::span<const Task> tasks, Ratio bound) {
  constexpr int kShift = 64;
  constexpr UWide kCap = static_cast<UWide>(1) << 120;
  UWide lo = 0;
  UWide hi = 0;
  for (const auto& t : tasks) {
    UWide c = static_cast<UWide>(t.wcet) << kShift;  // wcet < 2^63, so < 2^127
    UWide q = c / static_cast<UWide>(t.period);
    lo += q;
    hi += q + (c % static_cast<UWide>(t.period) != 0 ? 1 : 0);
    if (lo > kCap) return Compare::Greater;  // far above any bound we use
  }
  // bound in the same fixed point, both ways.
  UWide bc = static_cast<UWide>(bound.num) << kShift;
  UWide b_lo = bc / static_cast<UWide>(bound.den);
  UWide b_hi = b_lo + (bc % static_cast<UWide>(bound.den) != 0 ? 1 : 0);
  if (hi < b_lo) return Compare::Less;
  if (lo > b_hi) return Compare::Greater;
  Wide num = 0;
  Wide den = 1;
  if (!exact_sum(tasks, num, den)) return Compare::Unknown;
  Wide l = num * bound.den;
  Wide r = static_cast<Wide>(bound.num) * den;
  if (l < r) return Compare::Less;
  if (l > r) return Compare::Greater;
  return Compare::Equal;
}

double utilization_double(std::span<const Task> tasks) {
  double u = 0;
  for (const auto& t : tasks) u += utilization(t).to_double();
  return u;
}

}  // namespace rtcell::analysis
