#include "emit/jailhouse.hpp"

#include <cstdio>
#include <map>

#include "rtcell/error.hpp"

namespace rtcell::emit {

namespace {

// Region flags and console bits, as cell-config.h and console.h define them.
constexpr uint64_t kMemRead = 0x0001, kMemWrite = 0x0002, kMemExecute = 0x0004, kMemIo = 0x0010,
                   kMemCommRegion = 0x0020, kMemLoadable = 0x0040, kMemRootShared = 0x0080;
constexpr uint32_t kCellPassiveCommreg = 0x00000001;
constexpr uint16_t kConTypePl011 = 0x0003, kConType8250 = 0x0002;
constexpr uint16_t kConAccessMmio = 0x0001, kConRegdist4 = 0x0002;
constexpr uint64_t kMiB = 1u << 20;

std::string hex(uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(v));
  return buf;
}

struct Region {
  uint64_t phys = 0, virt = 0, size = 0, flags = 0;
  const char* what = "";
};

// The struct definitions every emitted file carries: the field order and
// sizes of Jailhouse's config revision 14, our own names.
const char* kPrelude = R"(#include <stdint.h>

struct rtcell_jh_console {
	uint64_t address;
	uint32_t size;
	uint16_t type;
	uint16_t flags;
	uint32_t divider;
	uint32_t gate_nr;
	uint64_t clock_reg;
} __attribute__((packed));

struct rtcell_jh_cell_desc {
	char signature[5];
	uint8_t architecture;
	uint16_t revision;
	char name[32];
	uint32_t id;
	uint32_t flags;
	uint32_t cpu_set_size;
	uint32_t num_memory_regions;
	uint32_t num_cache_regions;
	uint32_t num_irqchips;
	uint32_t num_pio_regions;
	uint32_t num_pci_devices;
	uint32_t num_pci_caps;
	uint32_t num_stream_ids;
	uint32_t vpci_irq_base;
	uint64_t cpu_reset_address;
	uint64_t msg_reply_timeout;
	struct rtcell_jh_console console;
} __attribute__((packed));

struct rtcell_jh_memory {
	uint64_t phys_start;
	uint64_t virt_start;
	uint64_t size;
	uint64_t flags;
} __attribute__((packed));

struct rtcell_jh_irqchip {
	uint64_t address;
	uint32_t id;
	uint32_t pin_base;
	uint32_t pin_bitmap[4];
} __attribute__((packed));

_Static_assert(sizeof(struct rtcell_jh_cell_desc) == 132, "jailhouse_cell_desc of config revision 14");
_Static_assert(sizeof(struct rtcell_jh_memory) == 32, "jailhouse_memory");
_Static_assert(sizeof(struct rtcell_jh_irqchip) == 32, "jailhouse_irqchip");
)";

std::string cell_source(const manifest::Manifest& m, const manifest::VmDecl& vm, const Board& b,
                        const std::vector<uint64_t>& cpu_words, const std::vector<Region>& regions) {
  std::string s = "/*\n * Jailhouse cell configuration (config revision 14, arm64) for vm " + vm.name +
                  ",\n * written by rtcell emit jailhouse from " + m.file + " for board " + b.name + ".\n";
  if (!b.verified)
    s += " * The board's memory map is NOT VERIFIED (data/boards/" + b.name +
         ".yaml): check\n"
         " * every address below against the real board before loading this cell.\n";
  s += " * Build: gcc -c " + vm.name + ".c && objcopy -O binary -j .data " + vm.name + ".o " + vm.name +
       ".cell\n */\n";
  s += kPrelude;
  s += "\nstruct {\n\tstruct rtcell_jh_cell_desc cell;\n\tuint64_t cpus[" + std::to_string(cpu_words.size()) +
       "];\n\tstruct rtcell_jh_memory mem_regions[" + std::to_string(regions.size()) +
       "];\n\tstruct rtcell_jh_irqchip irqchips[1];\n} __attribute__((packed)) config = {\n";
  uint16_t con_type = b.uart_type == UartType::Pl011 ? kConTypePl011 : kConType8250;
  s += "\t.cell = {\n";
  s += "\t\t.signature = {'J', 'H', 'C', 'L', 'L'},\n";
  s += "\t\t.architecture = " + std::to_string(kJailhouseArm64) + ", /* JAILHOUSE_ARM64 */\n";
  s += "\t\t.revision = " + std::to_string(kJailhouseConfigRevision) + ",\n";
  s += "\t\t.name = \"" + vm.name + "\",\n";
  s += "\t\t.flags = " + hex(kCellPassiveCommreg) + ", /* JAILHOUSE_CELL_PASSIVE_COMMREG */\n";
  s += "\t\t.cpu_set_size = " + std::to_string(cpu_words.size() * 8) + ",\n";
  s += "\t\t.num_memory_regions = " + std::to_string(regions.size()) + ",\n";
  s += "\t\t.num_irqchips = 1,\n";
  s += "\t\t.console = {\n\t\t\t.address = " + hex(b.uart) + ",\n\t\t\t.type = " + hex(con_type) +
       (b.uart_type == UartType::Pl011 ? ", /* PL011 */\n" : ", /* 8250 */\n") +
       "\t\t\t.flags = " + hex(kConAccessMmio | kConRegdist4) + ", /* MMIO, register distance 4 */\n\t\t},\n";
  s += "\t},\n\t.cpus = {";
  for (size_t i = 0; i < cpu_words.size(); ++i) s += (i ? ", " : " ") + hex(cpu_words[i]);
  s += " },\n\t.mem_regions = {\n";
  for (const auto& r : regions)
    s += "\t\t/* " + std::string(r.what) + " */ {\n\t\t\t.phys_start = " + hex(r.phys) +
         ",\n\t\t\t.virt_start = " + hex(r.virt) + ",\n\t\t\t.size = " + hex(r.size) +
         ",\n\t\t\t.flags = " + hex(r.flags) + ",\n\t\t},\n";
  s += "\t},\n";
  s += "\t/* The GIC; no interrupt lines are handed to the cell (pin_bitmap all 0). */\n";
  s += "\t.irqchips = {\n\t\t{\n\t\t\t.address = " + hex(b.gic) +
       ",\n\t\t\t.pin_base = 32,\n\t\t},\n\t},\n};\n";
  return s;
}

std::string commands_sh(const manifest::Manifest& m, const Board& b) {
  std::string s = "#!/bin/sh\n# Written by rtcell emit jailhouse from " + m.file + " for board " + b.name +
                  " (docs/hypervisor.md).\n";
  if (!b.verified) s += "# The board's memory map is NOT VERIFIED: check the .c files first.\n";
  s += "# Needs Jailhouse enabled (jailhouse enable SYSTEM.cell) and, for each cell, its\n";
  s += "# inmate image (the vm's kernel:, else IMAGE_DIR/NAME.bin).\n";
  s += "set -eu\ncd \"$(dirname \"$0\")\"\nCC=${CROSS_COMPILE:-}gcc\nOBJCOPY=${CROSS_COMPILE:-}objcopy\n";
  s += "IMAGE_DIR=${IMAGE_DIR:-.}\n";
  for (const auto& vm : m.vms) {
    s += "\n# vm " + vm.name + "\n";
    s += "\"$CC\" -c " + vm.name + ".c -o " + vm.name + ".o\n";
    s += "\"$OBJCOPY\" -O binary -j .data " + vm.name + ".o " + vm.name + ".cell\n";
    s += "jailhouse cell create " + vm.name + ".cell\n";
    s += "jailhouse cell load " + vm.name + " " +
         (vm.kernel ? "\"" + *vm.kernel + "\"" : "\"$IMAGE_DIR/" + vm.name + ".bin\"") + "\n";
    s += "jailhouse cell start " + vm.name + "\n";
  }
  return s;
}

}  // namespace

std::vector<sys::FileEntry> emit_jailhouse(const manifest::Manifest& m, const analysis::VmAdmitResult& r,
                                           const Board& board) {
  if (m.vms.empty()) usage_error(m.file + " has no vms: add a vms: section (docs/hypervisor.md)");
  if (r.vms.size() != m.vms.size()) usage_error("internal: the VM verdict does not match the manifest");
  std::map<int, std::string> owner;  // pCPU -> "vm/N"
  uint64_t next = board.cell_ram.start;
  std::vector<sys::FileEntry> out;
  for (size_t i = 0; i < m.vms.size(); ++i) {
    const auto& vm = m.vms[i];
    const auto& v = r.vms[i];
    if (!v.admitted)
      usage_error("vm " + vm.name + " is not admitted (run rtcell admit " + m.file +
                  " to see why); nothing written");
    if (vm.name.size() > 31)
      usage_error("vm " + vm.name + ": a Jailhouse cell name has at most 31 characters; shorten it");
    std::vector<uint64_t> words;
    for (const auto& c : v.vcpus) {
      const std::string label = vm.name + "/" + std::to_string(c.index);
      if (!board.cpus.contains(c.pcpu))
        usage_error("vm " + vm.name + " vCPU " + std::to_string(c.index) + " is on CPU " +
                    std::to_string(c.pcpu) + ", which board " + board.name + " does not have (CPUs " +
                    board.cpus.to_string() + ")");
      auto [it, fresh] = owner.emplace(c.pcpu, label);
      if (!fresh)
        usage_error("Jailhouse cells own whole CPUs: " + it->second + " and " + label + " both need CPU " +
                    std::to_string(c.pcpu) + "; give them different cpus:");
      size_t word = static_cast<size_t>(c.pcpu) / 64;
      if (words.size() <= word) words.resize(word + 1, 0);
      words[word] |= uint64_t{1} << (c.pcpu % 64);
    }
    uint64_t size = vm.memory_mib * kMiB;
    if (size >= kCommRegionVirt)
      usage_error("vm " + vm.name + ": memory " + std::to_string(vm.memory_mib) +
                  " MiB reaches the cell's communication region at 0x80000000; give it less than 2048 MiB");
    if (next + size > board.cell_ram.end() || next + size < next)
      usage_error("vm " + vm.name + " needs " + std::to_string(vm.memory_mib) + " MiB at " + hex(next) +
                  ", past the end of board " + board.name + "'s cell RAM (" + hex(board.cell_ram.start) +
                  "-" + hex(board.cell_ram.end() - 1) + "); give the VMs less memory");
    std::vector<Region> regions{
        {next, 0, size, kMemRead | kMemWrite | kMemExecute | kMemLoadable, "RAM"},
        {board.uart, board.uart, 0x1000, kMemRead | kMemWrite | kMemIo | kMemRootShared, "console UART"},
        {0, kCommRegionVirt, 0x1000, kMemRead | kMemWrite | kMemCommRegion, "communication region"},
    };
    next += size;
    out.push_back({vm.name + ".c", cell_source(m, vm, board, words, regions)});
  }
  if (owner.size() >= board.cpus.size())
    usage_error("the cells take every CPU of board " + board.name +
                "; Jailhouse's root cell (Linux) needs at least one");
  out.push_back({"commands.sh", commands_sh(m, board), 0755});
  return out;
}

}  // namespace rtcell::emit
