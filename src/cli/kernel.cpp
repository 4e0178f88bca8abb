// rtcell kernel: which kernel a Jetson boots (extlinux entries) and the
// switch to its RT entry and back (host/kernel.hpp); `kernel config` guides
// an RT kernel build (host/kbuild.hpp). Prints what the library returns.
#include "host/kernel.hpp"

#include <sys/utsname.h>

#include <iostream>

#include "cli/command.hpp"
#include "host/kbuild.hpp"
#include "report/check.hpp"
#include "rtcell/error.hpp"

namespace rtcell::cli {
namespace {

struct KernelFlags {
  std::string root = "/";
  host::KbuildOptions kb;
};

std::string join_words(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : " ") + s;
  return out;
}

int status(const KernelFlags& f) {
  auto s = host::kernel_status(f.root);
  std::cout << "boot config: " << (f.root == "/" ? "" : f.root) << s.conf_file << '\n';
  std::cout << "running: " << (s.running.empty() ? std::string("unknown") : s.running)
            << (s.running_rt ? " (PREEMPT_RT)" : " (not PREEMPT_RT)") << '\n';
  const host::ExtlinuxEntry* def = s.conf.booted();
  std::cout << "entries (* = DEFAULT):\n";
  for (size_t i = 0; i < s.conf.entries.size(); ++i) {
    const auto& e = s.conf.entries[i];
    std::cout << (def == &e ? "  * " : "    ") << e.label << "  "
              << (e.kernel.empty() ? "(no LINUX)" : e.kernel)
              << (e.menu_label.empty() ? "" : "  \"" + e.menu_label + "\"")
              << (s.rt_evidence[i].empty() ? "" : "  [RT: " + s.rt_evidence[i] + "]") << '\n';
  }
  bool rt_entry = false;
  for (const auto& ev : s.rt_evidence) rt_entry = rt_entry || !ev.empty();
  if (!s.l4t.empty()) std::cout << "L4T: " << s.l4t << '\n';
  std::cout << "RT kernel packages installed: "
            << (s.rt_installed.empty() ? std::string("none") : join_words(s.rt_installed)) << '\n';
  if (s.rt_installed.empty() && s.rt_available && !s.running_rt)
    std::cout << "to get NVIDIA's RT kernel: add '" << s.rt_available->apt_line
              << "' to /etc/apt/sources.list.d/nvidia-l4t-apt-source.list, then: sudo apt update && sudo apt "
                 "install "
              << join_words(s.rt_available->packages) << '\n';
  if (s.journaled)
    std::cout << "use-rt is in effect: 'rtcell kernel revert' restores the previous extlinux.conf\n";
  else if (rt_entry && def && s.rt_evidence[static_cast<size_t>(def - s.conf.entries.data())].empty())
    std::cout << "next: rtcell kernel use-rt   (makes the RT entry the default, keeps the current one as "
                 "fallback)\n";
  return kExitOk;
}

int print_lines(const std::vector<std::string>& lines) {
  for (const auto& l : lines) std::cout << l << '\n';
  return kExitOk;
}

int config(KernelFlags& f) {
  utsname u{};
  if (::uname(&u) == 0) {
    if (f.kb.running.empty()) f.kb.running = u.release;
    f.kb.host_machine = u.machine;
  }
  auto r = host::configure_rt_kernel(f.kb);
  std::cout << "linux " << r.version.to_string() << " in " << f.kb.source << '\n';
  for (const auto& l : r.lines) std::cout << "  " << l << '\n';
  report::CheckReport cr{r.config_file, r.release, std::nullopt, r.findings};
  std::cout << report::check_text(cr, stdout_is_tty());
  if (report::check_failed(cr)) {
    std::cout << "the merged .config fails the RT rules above: fix them before building (see " << r.log_file
              << " for merge_config.sh's warnings)\n";
    return kExitNegative;
  }
  std::cout << "next steps (rtcell does not build the kernel):\n";
  for (size_t i = 0; i < r.steps.size(); ++i) std::cout << "  " << i + 1 << ". " << r.steps[i] << '\n';
  return kExitOk;
}

Run setup(CLI::App& app) {
  auto f = std::make_shared<KernelFlags>();
  app.require_subcommand(1);
  CLI::App* st =
      app.add_subcommand("status", "the extlinux boot entries, which is RT, and NVIDIA's RT packages");
  CLI::App* use = app.add_subcommand(
      "use-rt",
      "make the RT entry the extlinux DEFAULT, keeping the current default as fallback (journaled)");
  CLI::App* rev =
      app.add_subcommand("revert", "restore extlinux.conf as it was before use-rt, byte for byte");
  CLI::App* cfg = app.add_subcommand(
      "config", "configure a kernel source tree for PREEMPT_RT and check it (guided build; never builds)");
  cfg->add_option("--source", f->kb.source, "kernel source tree")->required();
  cfg->add_option("--rt-patch", f->kb.rt_patch, "the RT patch (plain text) for a tree older than 6.12");
  cfg->add_option("--arch", f->kb.arch, "target architecture: arm64 (cross-compiles on another host)");
  cfg->add_option("--cross-compile", f->kb.cross_compile,
                  "CROSS_COMPILE prefix (default aarch64-linux-gnu-)");
  cfg->add_option("--localversion", f->kb.localversion,
                  "CONFIG_LOCALVERSION (default: the running kernel's, e.g. -tegra, so vermagic matches)");
  cfg->add_option("--running", f->kb.running, "the uname -r to match (default: this host's)");
  cfg->add_option("--base", f->kb.base_config,
                  "start from this .config (default: the tree's, else defconfig)");
  for (CLI::App* sub : {st, use, rev})
    sub->add_option("--root", f->root, "a host tree (e.g. a copy of a Jetson's rootfs) instead of /");
  return [f, st, use, rev, cfg]() -> int {
    if (cfg->parsed()) return config(*f);
    if (st->parsed()) return status(*f);
    if (use->parsed()) return print_lines(host::kernel_use_rt(f->root));
    if (rev->parsed()) return print_lines(host::kernel_revert(f->root));
    usage_error("kernel needs a subcommand: status, use-rt, revert or config");
  };
}

const Registrar reg{{"kernel",
                     "Jetson boot entries: status, switch to the RT kernel and back; guided RT kernel config",
                     22, setup}};

}  // namespace
}  // namespace rtcell::cli
