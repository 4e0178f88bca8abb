#include "rtcell/cpuset.hpp"

#include <algorithm>
#include <charconv>

#include "rtcell/error.hpp"

namespace rtcell {

namespace {

int parse_cpu_number(std::string_view s, std::string_view whole) {
  int v = -1;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || p != s.data() + s.size() || v < 0 || v > CpuSet::kMaxCpu)
    usage_error("bad CPU list '" + std::string(whole) + "': '" + std::string(s) +
                "' is not a CPU number (use e.g. 0-3,6)");
  return v;
}

std::string_view strip(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\n')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\n')) s.remove_suffix(1);
  return s;
}

}  // namespace

CpuSet::CpuSet(std::vector<int> cpus) : cpus_(std::move(cpus)) {
  std::sort(cpus_.begin(), cpus_.end());
  cpus_.erase(std::unique(cpus_.begin(), cpus_.end()), cpus_.end());
}

CpuSet CpuSet::parse(std::string_view text) {
  const std::string_view whole = text;
  text = strip(text);
  std::vector<int> out;
  while (!text.empty()) {
    size_t comma = text.find(',');
    std::string_view item = strip(text.substr(0, comma));
    text = comma == std::string_view::npos ? std::string_view{} : text.substr(comma + 1);
    if (item.empty()) usage_error("bad CPU list '" + std::string(whole) + "': empty item");
    int stride = 1;
    if (size_t colon = item.find(':'); colon != std::string_view::npos) {
      stride = parse_cpu_number(item.substr(colon + 1), whole);
      if (stride == 0) usage_error("bad CPU list '" + std::string(whole) + "': stride 0");
      item = item.substr(0, colon);
    }
    size_t dash = item.find('-');
    int lo = parse_cpu_number(item.substr(0, dash), whole);
    int hi = dash == std::string_view::npos ? lo : parse_cpu_number(item.substr(dash + 1), whole);
    if (hi < lo)
      usage_error("bad CPU list '" + std::string(whole) + "': range " + std::to_string(lo) + "-" +
                  std::to_string(hi) + " goes backwards");
    for (int c = lo; c <= hi; c += stride) out.push_back(c);
  }
  return CpuSet(std::move(out));
}

CpuSet CpuSet::parse_mask(std::string_view text) {
  text = strip(text);
  std::vector<int> out;
  int bit = 0;
  for (size_t i = text.size(); i-- > 0;) {
    char ch = text[i];
    if (ch == ',') continue;
    int v;
    if (ch >= '0' && ch <= '9')
      v = ch - '0';
    else if (ch >= 'a' && ch <= 'f')
      v = ch - 'a' + 10;
    else if (ch >= 'A' && ch <= 'F')
      v = ch - 'A' + 10;
    else
      usage_error("bad CPU mask '" + std::string(text) + "'");
    for (int b = 0; b < 4; ++b, ++bit)
      if (v & (1 << b)) {
        if (bit > kMaxCpu) usage_error("CPU mask '" + std::string(text) + "' is too wide");
        out.push_back(bit);
      }
  }
  return CpuSet(std::move(out));
}

CpuSet CpuSet::from_cpu_set(const cpu_set_t& set) {
  std::vector<int> out;
  for (int c = 0; c < CPU_SETSIZE; ++c)
    if (CPU_ISSET(c, &set)) out.push_back(c);
  return CpuSet(std::move(out));
}

std::string CpuSet::to_string() const {
  std::string s;
  for (size_t i = 0; i < cpus_.size();) {
    size_t j = i;
    while (j + 1 < cpus_.size() && cpus_[j + 1] == cpus_[j] + 1) ++j;
    if (!s.empty()) s += ',';
    s += std::to_string(cpus_[i]);
    if (j > i) s += '-' + std::to_string(cpus_[j]);
    i = j + 1;
  }
  return s;
}

cpu_set_t CpuSet::to_cpu_set() const {
  cpu_set_t set;
  CPU_ZERO(&set);
  for (int c : cpus_)
    if (c < CPU_SETSIZE) CPU_SET(c, &set);
  return set;
}

bool CpuSet::contains(int cpu) const noexcept {
  return std::binary_search(cpus_.begin(), cpus_.end(), cpu);
}

bool CpuSet::contains(const CpuSet& other) const noexcept {
  return std::includes(cpus_.begin(), cpus_.end(), other.cpus_.begin(), other.cpus_.end());
}

CpuSet CpuSet::intersect(const CpuSet& other) const {
  std::vector<int> out;
  std::set_intersection(cpus_.begin(), cpus_.end(), other.cpus_.begin(), other.cpus_.end(),
                        std::back_inserter(out));
  return CpuSet(std::move(out));
}

CpuSet CpuSet::unite(const CpuSet& other) const {
  std::vector<int> out;
  std::set_union(cpus_.begin(), cpus_.end(), other.cpus_.begin(), other.cpus_.end(), std::back_inserter(out));
  return CpuSet(std::move(out));
}

CpuSet CpuSet::minus(const CpuSet& other) const {
  std::vector<int> out;
  std::set_difference(cpus_.begin(), cpus_.end(), other.cpus_.begin(), other.cpus_.end(),
                      std::back_inserter(out));
  return CpuSet(std::move(out));
}

}  // namespace rtcell
