// rtcell emit jailhouse: the shipped board files, the refusals, and the
// emitted cell configuration compiled by gcc for the host and for arm64,
// cut out with objcopy -O binary and read back as Jailhouse would.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "emit/board.hpp"
#include "emit/jailhouse.hpp"
#include "rtcell/error.hpp"
#include "sys/dir_write.hpp"

using namespace rtcell;
namespace fs = std::filesystem;

namespace {

const std::string kBoards = std::string(RTCELL_SOURCE_DIR) + "/data/boards";

emit::Board board(const char* name) {
  return emit::load_board(name, {kBoards});
}

std::vector<sys::FileEntry> emit_text(const std::string& text, const char* b = "qemu-arm64-virt") {
  manifest::Manifest m = manifest::parse(text, "vms.yaml");
  return emit::emit_jailhouse(m, analysis::admit_vms(manifest::to_vm_specs(m)), board(b));
}

std::string refusal(const std::string& text, const char* b = "qemu-arm64-virt") {
  try {
    emit_text(text, b);
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Usage);
    return e.what();
  }
  return "(no error)";
}

std::string board_error(const std::string& text) {
  try {
    emit::parse_board(text, "b.yaml");
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

// A VM on `cpus` with one light task per vCPU.
std::string vm(const char* name, const std::vector<const char*>& cpus, int mib = 16) {
  std::string s =
      "  - name: " + std::string(name) + "\n    memory: " + std::to_string(mib) + "\n    vcpus: [";
  for (size_t i = 0; i < cpus.size(); ++i) s += std::string(i ? ", " : "") + "\"" + cpus[i] + "\"";
  s += "]\n    tasks:\n";
  for (size_t i = 0; i < cpus.size(); ++i)
    s += "      - {name: t" + std::to_string(i) + ", period: 1ms, wcet: 100us, vcpu: " + std::to_string(i) +
         "}\n";
  return s;
}

bool have(const std::string& tool) {
  return std::system(("command -v " + tool + " >/dev/null 2>&1").c_str()) == 0;
}

class TempDir {
 public:
  TempDir() {
    std::string t = (fs::temp_directory_path() / "rtcell-jh-XXXXXX").string();
    path_ = ::mkdtemp(t.data());
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

template <typename T>
T read_le(const std::string& bin, size_t off) {
  T v{};
  std::memcpy(&v, bin.data() + off, sizeof v);  // every target here is little-endian
  return v;
}

}  // namespace

TEST(Boards, ShippedBoardsParse) {
  struct Expect {
    const char* name;
    size_t cpus;
    size_t clusters;
    uint64_t ram_gib;
    bool verified;
  };
  for (const Expect& e : {Expect{"orin-agx-64gb", 12, 3, 64, false}, Expect{"orin-agx-32gb", 8, 2, 32, false},
                          Expect{"orin-nx-16gb", 8, 2, 16, false}, Expect{"orin-nx-8gb", 6, 2, 8, false},
                          Expect{"orin-nano-8gb", 6, 2, 8, false}, Expect{"orin-nano-4gb", 6, 2, 4, false},
                          Expect{"qemu-arm64-virt", 4, 1, 1, true}}) {
    emit::Board b = board(e.name);
    EXPECT_EQ(b.name, e.name);
    EXPECT_EQ(b.cpus.size(), e.cpus) << e.name;
    EXPECT_EQ(b.clusters.size(), e.clusters) << e.name;
    EXPECT_EQ(b.ram.size, e.ram_gib << 30) << e.name;
    EXPECT_EQ(b.verified, e.verified) << e.name;
  }
  emit::Board q = board("qemu-arm64-virt");
  EXPECT_EQ(q.ram.start, 0x40000000u);
  EXPECT_EQ(q.gic, 0x08000000u);
  EXPECT_EQ(q.uart, 0x09000000u);
  EXPECT_EQ(q.uart_type, emit::UartType::Pl011);
}

TEST(Boards, UnknownBoardListsTheKnownOnes) {
  std::string msg;
  try {
    board("orin-agx");
  } catch (const Error& e) {
    msg = e.what();
  }
  EXPECT_NE(msg.find("no board 'orin-agx' (known: orin-agx-32gb, orin-agx-64gb,"), std::string::npos) << msg;
}

TEST(Boards, BadBoardFilesAreLocatedErrors) {
  const std::string ok =
      "name: b\nverified: false\ncpus: \"0-3\"\nram: {start: 0x40000000, size: 1G}\n"
      "cell_ram: {start: 0x70000000, size: 64M}\ngic: 0x8000000\nuart: 0x9000000\n";
  EXPECT_EQ(board_error(ok), "(no error)");
  EXPECT_EQ(board_error(ok + "colour: red\n"), "b.yaml:8:1: unknown key 'colour' in board");
  EXPECT_EQ(board_error("name: b\n"), "b.yaml:1:1: board has no verified:");
  std::string outside = ok;
  outside.replace(outside.find("0x70000000"), 10, "0x7f000000");
  EXPECT_EQ(board_error(outside), "b.yaml:5:11: cell_ram must lie inside ram");
  std::string badhex = ok;
  badhex.replace(badhex.find("gic: 0x8000000"), 14, "gic: 0xZZ");
  EXPECT_EQ(board_error(badhex), "b.yaml:6:6: gic: '0xZZ' is not a 64-bit hex number");
  EXPECT_EQ(board_error(ok + "clusters: [\"4-5\"]\n"),
            "b.yaml:8:12: cluster 4-5 has CPUs the board's cpus do not list");
}

TEST(EmitJailhouse, RefusesWhatJailhouseCannotDoInOneLine) {
  EXPECT_EQ(refusal("vms:\n" + vm("a", {"1"}) + vm("b", {"1"})),
            "Jailhouse cells own whole CPUs: a/0 and b/0 both need CPU 1; give them different cpus:");
  EXPECT_EQ(refusal("vms:\n" + vm("a", {"5"})),
            "vm a vCPU 0 is on CPU 5, which board qemu-arm64-virt does not have (CPUs 0-3)");
  EXPECT_EQ(refusal("vms:\n" + vm("a", {"1"}, 128) + vm("b", {"2"}, 128)),
            "vm b needs 128 MiB at 0x78000000, past the end of board qemu-arm64-virt's cell RAM "
            "(0x70000000-0x7bffffff); give the VMs less memory");
  EXPECT_EQ(
      refusal("vms:\n" + vm("a", {"0", "1", "2", "3"})),
      "the cells take every CPU of board qemu-arm64-virt; Jailhouse's root cell (Linux) needs at least one");
  EXPECT_EQ(refusal("vms:\n  - {name: big, memory: 16, vcpus: [\"1\"], tasks: [{name: a, period: 1ms, wcet: "
                    "1ms}, {name: b, period: 1ms, wcet: 1ms}]}\n"),
            "vm big is not admitted (run rtcell admit vms.yaml to see why); nothing written");
}

// Compiles the emitted cell with `cc`, cuts .data out with `objcopy` and
// checks what Jailhouse reads first: signature, architecture, revision,
// name, the CPU bitmap and the region count.
void check_compiled(const std::string& cc, const std::string& objcopy) {
  TempDir dir;
  std::string out = dir.path() + "/jh";
  sys::write_dir_atomic(out, emit_text("vms:\n" + vm("ctl", {"1", "3"}, 32) + vm("aux", {"2"})));
  std::string cmd = "cd " + out + " && " + cc + " -std=c11 -Wall -Wextra -Werror -c ctl.c -o ctl.o && " +
                    objcopy + " -O binary -j .data ctl.o ctl.cell";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  std::ifstream in(out + "/ctl.cell", std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string bin = ss.str();
  ASSERT_EQ(bin.size(), emit::kJailhouseCellDescSize + 8 + 3 * 32 + 32);
  EXPECT_EQ(bin.substr(0, 5), "JHCLL");
  EXPECT_EQ(read_le<uint8_t>(bin, 5), emit::kJailhouseArm64);
  EXPECT_EQ(read_le<uint16_t>(bin, 6), emit::kJailhouseConfigRevision);
  EXPECT_EQ(std::string(bin.c_str() + 8), "ctl");
  EXPECT_EQ(read_le<uint32_t>(bin, 48), 8u);                                 // cpu_set_size
  EXPECT_EQ(read_le<uint32_t>(bin, 52), 3u);                                 // num_memory_regions
  EXPECT_EQ(read_le<uint32_t>(bin, 60), 1u);                                 // num_irqchips
  EXPECT_EQ(read_le<uint64_t>(bin, emit::kJailhouseCellDescSize), 0b1010u);  // CPUs 1 and 3
  // The first region is the cell's RAM at guest address 0, from the start of cell_ram.
  size_t mem = emit::kJailhouseCellDescSize + 8;
  EXPECT_EQ(read_le<uint64_t>(bin, mem), 0x70000000u);
  EXPECT_EQ(read_le<uint64_t>(bin, mem + 8), 0u);
  EXPECT_EQ(read_le<uint64_t>(bin, mem + 16), 32u << 20);
}

TEST(EmitJailhouse, CompilesForTheHostAndReadsBack) {
  if (!have("gcc") || !have("objcopy"))
    GTEST_SKIP() << "no gcc/objcopy on this host: install build-essential";
  check_compiled("gcc", "objcopy");
}

TEST(EmitJailhouse, CompilesForArm64AndReadsBack) {
  if (!have("aarch64-linux-gnu-gcc") || !have("aarch64-linux-gnu-objcopy"))
    GTEST_SKIP() << "no aarch64-linux-gnu-gcc/objcopy: install gcc-aarch64-linux-gnu (scripts/install-deps)";
  check_compiled("aarch64-linux-gnu-gcc", "aarch64-linux-gnu-objcopy");
}

TEST(EmitJailhouse, UnverifiedBoardsSayItInEveryFile) {
  auto files = emit_text("vms:\n" + vm("a", {"4"}), "orin-nx-16gb");
  ASSERT_EQ(files.size(), 2u);
  for (const auto& f : files) EXPECT_NE(f.text.find("NOT VERIFIED"), std::string::npos) << f.name;
  auto qemu = emit_text("vms:\n" + vm("a", {"1"}));
  for (const auto& f : qemu) EXPECT_EQ(f.text.find("NOT VERIFIED"), std::string::npos) << f.name;
}
