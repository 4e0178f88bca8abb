#include "host/l4t.hpp"

namespace rtcell::host {

const std::vector<L4tRow>& l4t_table() {
  // Sources per row in docs/check.md ("L4T table"). `verified` is true only
  // where the L4T release and kernel pairing was seen in public material.
  static const std::vector<L4tRow> kRows = {
      {"36.4.7", "6.2.1", "5.15.148", "patch-5.15.148-rt74", true, true},
      {"36.4.4", "6.2.1", "5.15.148", "patch-5.15.148-rt74", true, true},
      {"36.4.3", "6.2", "5.15.148", "patch-5.15.148-rt74", true, true},
      {"36.4.0", "6.1", "5.15.148", "patch-5.15.148-rt74", false, true},
      {"36.3.0", "6.0", "5.15.136", "patch-5.15.136-rt71", true, false},
      {"35.4.1", "5.1.2", "5.10.120", "patch-5.10.120-rt70", true, true},
      {"35.2.1", "5.1", "5.10.104", "patch-5.10.104-rt63", true, true},
  };
  return kRows;
}

std::optional<L4tRow> find_l4t(std::string_view l4t) {
  for (const auto& r : l4t_table())
    if (r.l4t == l4t) return r;
  return std::nullopt;
}

std::string kernel_base_version(std::string_view release) {
  size_t end = 0;
  int dots = 0;
  while (end < release.size()) {
    char c = release[end];
    if (c == '.') {
      if (++dots > 2) break;
    } else if (c < '0' || c > '9') {
      break;
    }
    ++end;
  }
  return std::string(release.substr(0, end));
}

}  // namespace rtcell::host
