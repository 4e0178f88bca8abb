// rtcell emit xen|jailhouse FILE [-o DIR]: hypervisor configuration for the
// admitted VMs of a manifest (docs/hypervisor.md). The VMs are admitted
// first (analysis::admit_vms); a VM that is not, or a parameter the
// hypervisor cannot take, is one line and exit 2, and nothing is written:
// the files go to a temporary directory renamed to DIR at the end.
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <iostream>

#include "cli/command.hpp"
#include "emit/board.hpp"
#include "emit/jailhouse.hpp"
#include "emit/xen.hpp"
#include "manifest/manifest.hpp"
#include "rtcell/analysis/vm.hpp"
#include "rtcell/error.hpp"
#include "sys/dir_write.hpp"

namespace rtcell::cli {

namespace {

struct Options {
  std::string file;
  std::string out;
  std::string board;
};

// Where --board NAME is looked up: $RTCELL_BOARDS_DIR, then
// ../share/rtcell/boards beside the binary (the installed tree), then
// /usr/share/rtcell/boards, then the checkout's data/boards (a binary run
// from its build tree).
std::vector<std::string> board_dirs() {
  std::vector<std::string> dirs;
  if (const char* env = std::getenv("RTCELL_BOARDS_DIR"); env && *env) dirs.emplace_back(env);
  std::error_code ec;
  auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec) dirs.push_back((exe.parent_path().parent_path() / "share/rtcell/boards").string());
  dirs.emplace_back("/usr/share/rtcell/boards");
#ifdef RTCELL_SOURCE_BOARDS
  dirs.emplace_back(RTCELL_SOURCE_BOARDS);
#endif
  return dirs;
}

int write(const std::string& dir, const std::vector<sys::FileEntry>& files) {
  sys::write_dir_atomic(dir, files);
  for (const auto& f : files) std::cout << dir << "/" << f.name << "\n";
  return kExitOk;
}

Registrar reg{Verb{
    "emit", "Write hypervisor configuration (Xen, Jailhouse) for a manifest's admitted VMs", 35,
    [](CLI::App& app) -> Run {
      auto xen = std::make_shared<Options>();
      CLI::App* x = app.add_subcommand(
          "xen", "xl.cfg per VM, an RTDS cpupool file and apply.sh (xl sched-rtds per vCPU)");
      x->add_option("FILE", xen->file, "manifest with a vms: section (docs/hypervisor.md)")->required();
      x->add_option("-o,--output", xen->out, "directory to create (default: ./xen)");
      auto jh = std::make_shared<Options>();
      CLI::App* j =
          app.add_subcommand("jailhouse", "a Jailhouse cell configuration (C source) per VM and commands.sh");
      j->add_option("FILE", jh->file, "manifest with a vms: section (docs/hypervisor.md)")->required();
      j->add_option("--board", jh->board,
                    "board name (orin-agx-64gb, orin-nx-8gb, qemu-arm64-virt, ...: share/rtcell/boards) or a "
                    "board file's path")
          ->required();
      j->add_option("-o,--output", jh->out, "directory to create (default: ./jailhouse)");
      app.require_subcommand(1);
      return [&app, x, xen, j, jh]() -> int {
        if (x->parsed()) {
          const auto m = manifest::load(xen->file);
          const auto verdict = analysis::admit_vms(manifest::to_vm_specs(m));
          return write(xen->out.empty() ? "xen" : xen->out, emit::emit_xen(m, verdict));
        }
        if (j->parsed()) {
          const auto m = manifest::load(jh->file);
          const auto board = emit::load_board(jh->board, board_dirs());
          const auto verdict = analysis::admit_vms(manifest::to_vm_specs(m));
          auto files = emit::emit_jailhouse(m, verdict, board);
          if (!board.verified)
            note("board " + board.name +
                 ": memory map not verified on a real board (docs/hypervisor.md); check the addresses "
                 "before loading a cell");
          return write(jh->out.empty() ? "jailhouse" : jh->out, files);
        }
        usage_error("emit needs a target: " + app.get_name() + " xen FILE or jailhouse FILE --board BOARD");
      };
    }}};

}  // namespace

}  // namespace rtcell::cli
