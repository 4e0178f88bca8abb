// Exact time for schedulability analysis (SchedCAT's time-types.h idea).
//
// Time is a signed 64-bit count of nanoseconds: 2^63 ns is 292 years, far
// beyond any period rtcell accepts. Products (n * C, C * T) are formed in
// 128 bits and saturate at kInfinity instead of wrapping, so a verdict never
// rests on an overflowed value. No floating point is used in any verdict;
// doubles appear only in printed utilizations.
#pragma once

#include <cstdint>
#include <limits>

namespace rtcell::analysis {

using Time = int64_t;  // nanoseconds
// 128-bit intermediates (GCC and clang on every target rtcell builds for).
__extension__ typedef __int128 Wide;
__extension__ typedef unsigned __int128 UWide;

// gcd of non-negative 128-bit values (std::gcd refuses __int128 in strict
// C++20 mode).
constexpr Wide wide_gcd(Wide a, Wide b) noexcept {
  while (b != 0) {
    Wide r = a % b;
    a = b;
    b = r;
  }
  return a;
}

// "Does not happen within any horizon we can represent": an unbounded
// response time, a supply that never delivers, a saturated product.
inline constexpr Time kInfinity = std::numeric_limits<Time>::max();

// ceil(a / b) for a >= 0, b > 0.
constexpr Time ceil_div(Time a, Time b) noexcept {
  return a / b + (a % b != 0 ? 1 : 0);
}
// floor(a / b) for any a and b > 0.
constexpr Time floor_div(Time a, Time b) noexcept {
  return a / b - ((a % b != 0 && a < 0) ? 1 : 0);
}

// A 128-bit value clamped into [0, kInfinity].
constexpr Time saturate(Wide v) noexcept {
  if (v < 0) return 0;
  if (v >= static_cast<Wide>(kInfinity)) return kInfinity;
  return static_cast<Time>(v);
}
constexpr Time sat_add(Time a, Time b) noexcept {
  return saturate(static_cast<Wide>(a) + b);
}
constexpr Time sat_mul(Time a, Time b) noexcept {
  if (a == 0 || b == 0) return 0;
  if (a >= kInfinity / b + 1) return kInfinity;
  return saturate(static_cast<Wide>(a) * b);
}

// An exact non-negative rational num/den (den > 0), compared by
// cross-multiplication in 128 bits.
struct Ratio {
  Time num = 0;
  Time den = 1;
  friend bool operator<(const Ratio& a, const Ratio& b) noexcept {
    return static_cast<Wide>(a.num) * b.den < static_cast<Wide>(b.num) * a.den;
  }
  friend bool operator<=(const Ratio& a, const Ratio& b) noexcept { return !(b < a); }
  friend bool operator==(const Ratio& a, const Ratio& b) noexcept {
    return static_cast<Wide>(a.num) * b.den == static_cast<Wide>(b.num) * a.den;
  }
  double to_double() const noexcept { return static_cast<double>(num) / static_cast<double>(den); }
};

}  // namespace rtcell::analysis
