#include "util/units.hpp"

#include <charconv>
#include <cstdio>
#include <limits>

#include "rtcell/error.hpp"

namespace rtcell::util {

namespace {

struct Number {
  uint64_t whole = 0;
  uint64_t frac = 0;        // digits after the point
  uint64_t frac_scale = 1;  // 10^number of fraction digits
  std::string_view rest;    // the unit
};

// Parses "123", "1.25" followed by an optional unit; no sign, no exponent.
bool split_number(std::string_view s, Number& n) {
  size_t i = 0;
  bool digits = false;
  while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
    if (n.whole > (std::numeric_limits<uint64_t>::max() - 9) / 10) return false;
    n.whole = n.whole * 10 + static_cast<uint64_t>(s[i] - '0');
    ++i;
    digits = true;
  }
  if (i < s.size() && s[i] == '.') {
    ++i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
      if (n.frac_scale >= 1'000'000'000'000ULL) return false;
      n.frac = n.frac * 10 + static_cast<uint64_t>(s[i] - '0');
      n.frac_scale *= 10;
      ++i;
      digits = true;
    }
  }
  while (i < s.size() && s[i] == ' ') ++i;
  n.rest = s.substr(i);
  return digits;
}

// whole.frac * mult, exactly, or false on overflow / inexact result.
bool scale(const Number& n, uint64_t mult, uint64_t& out) {
  if (n.whole > std::numeric_limits<uint64_t>::max() / mult) return false;
  uint64_t w = n.whole * mult;
  if (n.frac != 0) {
    if (n.frac > std::numeric_limits<uint64_t>::max() / mult) return false;
    uint64_t f = n.frac * mult;
    if (f % n.frac_scale != 0) return false;
    w += f / n.frac_scale;
  }
  out = w;
  return true;
}

uint64_t time_unit(std::string_view u) {
  if (u == "ns") return 1;
  if (u == "us" || u == "µs") return 1'000;
  if (u == "ms") return 1'000'000;
  if (u == "s") return 1'000'000'000;
  return 0;
}

}  // namespace

int64_t parse_duration_ns(std::string_view text) {
  Number n;
  if (!split_number(text, n))
    usage_error("bad duration '" + std::string(text) + "': use e.g. 30, 30s, 5m, 2h or 1d");
  uint64_t mult;
  if (n.rest.empty() || n.rest == "s")
    mult = 1'000'000'000ULL;
  else if (n.rest == "ms")
    mult = 1'000'000ULL;
  else if (n.rest == "m")
    mult = 60'000'000'000ULL;
  else if (n.rest == "h")
    mult = 3'600'000'000'000ULL;
  else if (n.rest == "d")
    mult = 86'400'000'000'000ULL;
  else
    usage_error("bad duration '" + std::string(text) + "': unknown unit '" + std::string(n.rest) +
                "' (use s, m, h or d)");
  uint64_t out;
  if (!scale(n, mult, out) || out > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
    usage_error("bad duration '" + std::string(text) + "': out of range");
  return static_cast<int64_t>(out);
}

int64_t parse_time_ns(std::string_view text, std::string_view default_unit) {
  Number n;
  if (!split_number(text, n))
    usage_error("bad time '" + std::string(text) + "': use a number with a unit, e.g. 200us or 1ms");
  uint64_t mult = time_unit(n.rest.empty() ? default_unit : n.rest);
  if (mult == 0)
    usage_error("bad time '" + std::string(text) + "': unknown unit '" + std::string(n.rest) +
                "' (use ns, us, ms or s)");
  uint64_t out;
  if (!scale(n, mult, out))
    usage_error("bad time '" + std::string(text) + "': not a whole number of nanoseconds or too large");
  if (out > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
    usage_error("bad time '" + std::string(text) + "': out of range");
  return static_cast<int64_t>(out);
}

uint64_t parse_bytes(std::string_view text) {
  Number n;
  if (!split_number(text, n))
    usage_error("bad size '" + std::string(text) + "': use e.g. 4096, 512K, 64M or 1G");
  std::string u(n.rest);
  for (auto& c : u) c = static_cast<char>(c >= 'a' && c <= 'z' ? c - 32 : c);
  if (u.size() == 3 && u[1] == 'I' && u[2] == 'B')
    u.resize(1);
  else if (u.size() == 2 && u[1] == 'B')
    u.resize(1);
  uint64_t mult;
  if (u.empty() || u == "B")
    mult = 1;
  else if (u == "K")
    mult = 1ULL << 10;
  else if (u == "M")
    mult = 1ULL << 20;
  else if (u == "G")
    mult = 1ULL << 30;
  else if (u == "T")
    mult = 1ULL << 40;
  else
    usage_error("bad size '" + std::string(text) + "': unknown unit '" + std::string(n.rest) +
                "' (use K, M, G or T)");
  uint64_t out;
  if (!scale(n, mult, out)) usage_error("bad size '" + std::string(text) + "': not a whole number of bytes");
  return out;
}

int64_t parse_int(std::string_view text, int64_t lo, int64_t hi, std::string_view what) {
  int64_t v = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc() || p != text.data() + text.size())
    usage_error("bad " + std::string(what) + " '" + std::string(text) + "': not an integer");
  if (v < lo || v > hi)
    usage_error(std::string(what) + " " + std::to_string(v) + " is out of range [" + std::to_string(lo) +
                ", " + std::to_string(hi) + "]");
  return v;
}

std::string format_time_ns(int64_t ns) {
  char buf[64];
  int64_t a = ns < 0 ? -ns : ns;
  if (a >= 1'000'000'000 && a % 1'000'000 == 0)
    std::snprintf(buf, sizeof buf, "%g s", static_cast<double>(ns) / 1e9);
  else if (a >= 1'000'000 && a % 1'000 == 0)
    std::snprintf(buf, sizeof buf, "%g ms", static_cast<double>(ns) / 1e6);
  else if (a >= 1'000 && a % 1'000 == 0)
    std::snprintf(buf, sizeof buf, "%lld us", static_cast<long long>(ns / 1'000));
  else
    std::snprintf(buf, sizeof buf, "%lld ns", static_cast<long long>(ns));
  return buf;
}

}  // namespace rtcell::util
