#include "benchrun/spec.hpp"

#include <algorithm>

#include "rtcell/error.hpp"

namespace rtcell::benchrun {

std::string to_string(RowKind k) {
  switch (k) {
    case RowKind::Native:
      return "native";
    case RowKind::Cell:
      return "cell";
    case RowKind::CellNetns:
      return "cell-netns";
    case RowKind::PodmanRunc:
      return "podman-runc";
    case RowKind::PodmanCrun:
      return "podman-crun";
    case RowKind::PodmanRtcell:
      return "podman-rtcell";
  }
  return "native";
}

const std::vector<RowSpec>& all_rows() {
  static const std::vector<RowSpec> rows = {
      {"native-idle", "native, idle", RowKind::Native, false, ""},
      {"native-load", "native, load", RowKind::Native, true, ""},
      {"cell-idle", "cell (host net), idle", RowKind::Cell, false, "native-idle"},
      {"cell-load", "cell (host net), load", RowKind::Cell, true, "native-load"},
      {"cell-netns-load", "cell (private net), load", RowKind::CellNetns, true, "native-load"},
      {"podman-load", "podman runc, load", RowKind::PodmanRunc, true, "native-load"},
      {"crun-load", "podman crun, load", RowKind::PodmanCrun, true, "native-load"},
      {"podman-rtcell-load", "podman rtcell-runtime, load", RowKind::PodmanRtcell, true, "native-load"},
  };
  return rows;
}

std::vector<RowSpec> select_rows(std::string_view list) {
  if (list.empty() || list == "all") return all_rows();
  std::vector<std::string> wanted;
  size_t pos = 0;
  while (pos <= list.size()) {
    size_t end = list.find(',', pos);
    if (end == std::string_view::npos) end = list.size();
    std::string id(list.substr(pos, end - pos));
    if (id.empty()) usage_error("--rows: empty row name in \"" + std::string(list) + "\"");
    bool known =
        std::any_of(all_rows().begin(), all_rows().end(), [&](const RowSpec& r) { return r.id == id; });
    if (!known) {
      std::string names;
      for (const auto& r : all_rows()) {
        if (!names.empty()) names += ", ";
        names += r.id;
      }
      std::string msg = "--rows: unknown row \"";
      msg += id;
      msg += "\"; known rows: ";
      msg += names;
      usage_error(msg);
    }
    wanted.push_back(id);
    pos = end + 1;
  }
  std::vector<RowSpec> out;
  for (const auto& r : all_rows())
    if (std::find(wanted.begin(), wanted.end(), r.id) != wanted.end()) out.push_back(r);
  return out;
}

CpuSet default_measure_cpus(const CpuSet& online) {
  if (online.size() <= 1) return online;
  return online.minus(CpuSet({online.cpus().front()}));
}

CpuSet default_load_cpus(const CpuSet& online, const CpuSet& measured, bool everywhere) {
  if (everywhere) return online;
  CpuSet rest = online.minus(measured);
  return rest.empty() ? online : rest;
}

std::vector<std::string> default_load_args(const CpuSet& load_cpus) {
  const std::string n = std::to_string(std::max<size_t>(1, load_cpus.size()));
  // cpu: compute-bound contention; vm: page faults and memory bandwidth; hdd:
  // block I/O and its interrupts; switch: context switches through pipes
  // (hackbench-like scheduler/IPC load); timer: high-rate timer interrupts.
  return {"--cpu",    n, "--vm",    n, "--vm-bytes",   "64M",   "--hdd",  n, "--hdd-bytes", "32M",
          "--switch", n, "--timer", n, "--timer-freq", "10000", "--quiet"};
}

std::vector<std::string> split_args(std::string_view line) {
  std::vector<std::string> out;
  std::string cur;
  bool in_word = false;
  char quote = 0;
  for (char c : line) {
    if (quote) {
      if (c == quote)
        quote = 0;
      else
        cur += c;
      continue;
    }
    if (c == '\'' || c == '"') {
      quote = c;
      in_word = true;
    } else if (c == ' ' || c == '\t' || c == '\n') {
      if (in_word) out.push_back(std::move(cur));
      cur.clear();
      in_word = false;
    } else {
      cur += c;
      in_word = true;
    }
  }
  if (quote) usage_error("--load: unterminated quote in \"" + std::string(line) + "\"");
  if (in_word) out.push_back(std::move(cur));
  return out;
}

std::string join_args(const std::vector<std::string>& args) {
  std::string s;
  for (const auto& a : args) {
    bool plain = !a.empty() && a.find_first_of(" \t\n'\"") == std::string::npos;
    s += (s.empty() ? "" : " ") + (plain ? a : "'" + a + "'");
  }
  return s;
}

std::vector<std::string> latency_args(const BenchOptions& opt, const std::string& json_target) {
  // -D takes whole seconds or a unit; milliseconds keep sub-second rows exact.
  std::vector<std::string> a = {"latency",
                                "-a",
                                opt.cpus.to_string(),
                                "-S",
                                "-p",
                                std::to_string(opt.priority),
                                "-i",
                                std::to_string(opt.interval_ns / 1000),
                                "-D",
                                std::to_string(opt.duration_ns / 1'000'000) + "ms",
                                "-q",
                                "--json",
                                json_target};
  if (opt.allow_prio_99) a.emplace_back("--allow-prio-99");
  return a;
}

}  // namespace rtcell::benchrun
