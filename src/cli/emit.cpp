// rtcell emit xen|jailhouse FILE [-o DIR]: hypervisor configuration for the
// admitted VMs of a manifest (docs/hypervisor.md). The VMs are admitted
// first (analysis::admit_vms); a VM that is not, or a parameter the
// hypervisor cannot take, is one line and exit 2, and nothing is written:
// the files go to a temporary directory renamed to DIR at the end.
#include <iostream>

#include "cli/command.hpp"
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
};

int write(const std::string& dir, const std::vector<sys::FileEntry>& files) {
  sys::write_dir_atomic(dir, files);
  for (const auto& f : files) std::cout << dir << "/" << f.name << "\n";
  return kExitOk;
}

Registrar reg{
    Verb{"emit", "Write hypervisor configuration (Xen, Jailhouse) for a manifest's admitted VMs", 35,
         [](CLI::App& app) -> Run {
           auto xen = std::make_shared<Options>();
           CLI::App* x = app.add_subcommand(
               "xen", "xl.cfg per VM, an RTDS cpupool file and apply.sh (xl sched-rtds per vCPU)");
           x->add_option("FILE", xen->file, "manifest with a vms: section (docs/hypervisor.md)")->required();
           x->add_option("-o,--output", xen->out, "directory to create (default: ./xen)");
           app.require_subcommand(1);
           return [&app, x, xen]() -> int {
             if (x->parsed()) {
               const auto m = manifest::load(xen->file);
               const auto verdict = analysis::admit_vms(manifest::to_vm_specs(m));
               return write(xen->out.empty() ? "xen" : xen->out, emit::emit_xen(m, verdict));
             }
             usage_error("emit needs a target: " + app.get_name() + " xen FILE");
           };
         }}};

}  // namespace

}  // namespace rtcell::cli
