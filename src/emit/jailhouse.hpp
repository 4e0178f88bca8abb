// rtcell emit jailhouse: one Jailhouse cell configuration per admitted VM
// (docs/hypervisor.md). Pure: manifest, VM verdict and board in, files out.
//
// Each NAME.c is the C source of a cell configuration of config revision 14
// for arm64, written from the public description of the layout (Jailhouse's
// include/jailhouse/cell-config.h and Documentation/configuration-format):
// a packed struct jailhouse_cell_desc, then the CPU bitmap (u64 words), the
// memory regions and one irqchip. The file declares its own packed structs
// with the same field order and sizes and checks the header size (132
// bytes) with _Static_assert; compiled and cut out with objcopy -O binary
// it is what `jailhouse cell create` reads. commands.sh builds and starts
// the cells.
//
// Jailhouse partitions: a cell owns whole CPUs. So each vCPU is the pCPU
// the admission placed it on, and no two vCPUs (of any cells) may share one.
#pragma once

#include <vector>

#include "emit/board.hpp"
#include "manifest/manifest.hpp"
#include "rtcell/analysis/vm.hpp"
#include "sys/dir_write.hpp"

namespace rtcell::emit {

inline constexpr int kJailhouseConfigRevision = 14;
inline constexpr int kJailhouseArm64 = 2;              // JAILHOUSE_ARM64
inline constexpr size_t kJailhouseCellDescSize = 132;  // sizeof(struct jailhouse_cell_desc), packed
// The communication region's guest address; RAM is mapped from 0 below it.
inline constexpr uint64_t kCommRegionVirt = 0x80000000;

// The files, or rtcell::Error (Usage) with one line: a VM not admitted, two
// vCPUs on one CPU (overlapping cells), a CPU the board lacks, every CPU
// taken (the root cell keeps one), memory past the board's cell RAM.
std::vector<sys::FileEntry> emit_jailhouse(const manifest::Manifest& m, const analysis::VmAdmitResult& r,
                                           const Board& board);

}  // namespace rtcell::emit
