// Board descriptions for `rtcell emit jailhouse --board NAME`: the CPUs, the
// RAM, the part of it set aside for non-root cells, the interrupt controller
// and the console UART of one machine, as data files (data/boards/*.yaml,
// installed under share/rtcell/boards). parse_board() is pure (text in); a
// board's memory map says whether it was captured from a real board
// (`verified: true`) or written from public documents (`verified: false`).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "rtcell/cpuset.hpp"

namespace rtcell::emit {

struct MemRange {
  uint64_t start = 0;
  uint64_t size = 0;
  uint64_t end() const noexcept { return start + size; }  // parse_board checks it does not wrap
};

enum class UartType { Pl011, Ns8250 };

struct Board {
  std::string name;
  std::string description;
  bool verified = false;  // memory map captured from a board, not from documents
  CpuSet cpus;            // every CPU of the board
  std::vector<CpuSet> clusters;
  MemRange ram;       // all of the board's RAM
  MemRange cell_ram;  // inside ram: what non-root cells may be given
  uint64_t gic = 0;   // GIC distributor base
  uint64_t uart = 0;  // console UART base
  UartType uart_type = UartType::Pl011;
};

// Parses a board file; every problem is rtcell::Error (Usage) starting with
// "FILE:LINE:COL: " (FILE is `filename`).
Board parse_board(std::string_view text, const std::string& filename);

// The board called `name_or_path`: a path (it contains '/' or ends in
// .yaml) is read as is; a name is looked up as NAME.yaml in `dirs`, in
// order. Usage error listing the boards found when there is none.
Board load_board(const std::string& name_or_path, const std::vector<std::string>& dirs);

}  // namespace rtcell::emit
