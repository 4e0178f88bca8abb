#include "host/kbuild.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "host/l4t.hpp"
#include "host/parse.hpp"
#include "host/probe.hpp"
#include "rtcell/error.hpp"
#include "sys/file.hpp"

extern char** environ;

namespace rtcell::host {
namespace {

// Runs argv (looked up in PATH) with stdout and stderr appended to `log`;
// returns "" or why it failed.
std::string run_logged(const std::vector<std::string>& argv, const std::string& log) {
  std::vector<char*> args;
  args.reserve(argv.size() + 1);
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  ::posix_spawn_file_actions_init(&fa);
  ::posix_spawn_file_actions_addopen(&fa, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  ::posix_spawn_file_actions_adddup2(&fa, 1, 2);
  ::posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  pid_t pid = 0;
  int rc = ::posix_spawnp(&pid, args[0], &fa, nullptr, args.data(), environ);
  ::posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) return std::string("cannot run ") + argv[0] + ": " + std::strerror(rc);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) return std::string("cannot wait for ") + argv[0] + ": " + std::strerror(errno);
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return "";
  return argv[0] + (WIFEXITED(status) ? " exited " + std::to_string(WEXITSTATUS(status))
                                      : " was killed by signal " + std::to_string(WTERMSIG(status)));
}

std::string make_vars(const std::string& arch, const std::string& cross) {
  std::string v;
  if (!arch.empty()) v += " ARCH=" + arch;
  if (!cross.empty()) v += " CROSS_COMPILE=" + cross;
  return v;
}

}  // namespace

std::string KernelVersion::to_string() const {
  return std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(sub);
}

KernelVersion parse_kernel_makefile(std::string_view makefile) {
  KernelVersion v;
  size_t pos = 0;
  while (pos < makefile.size()) {
    size_t end = makefile.find('\n', pos);
    if (end == std::string_view::npos) end = makefile.size();
    std::string_view line = makefile.substr(pos, end - pos);
    pos = end + 1;
    auto num = [&](std::string_view key, int& out) {
      if (line.substr(0, key.size()) != key) return;
      std::string_view rest = line.substr(key.size());
      while (!rest.empty() && (rest.front() == ' ' || rest.front() == '\t')) rest.remove_prefix(1);
      if (rest.empty() || rest.front() != '=') return;
      rest.remove_prefix(1);
      while (!rest.empty() && (rest.front() == ' ' || rest.front() == '\t')) rest.remove_prefix(1);
      int n = 0;
      size_t i = 0;
      for (; i < rest.size() && i < 4 && rest[i] >= '0' && rest[i] <= '9'; ++i) n = n * 10 + (rest[i] - '0');
      if (i > 0) out = n;
    };
    num("VERSION", v.major);
    num("PATCHLEVEL", v.minor);
    num("SUBLEVEL", v.sub);
    if (line.substr(0, 12) == "EXTRAVERSION") break;  // the three come before it
  }
  return v;
}

std::string release_suffix(std::string_view release, std::string_view version) {
  if (version.empty() || release.substr(0, version.size()) != version) return {};
  std::string_view rest = release.substr(version.size());
  if (!rest.empty() && rest.front() >= '0' && rest.front() <= '9') return {};  // 5.15.1 vs 5.15.148
  return std::string(rest);
}

std::string rt_config_fragment(const std::string& localversion) {
  // PREEMPT_RT is a choice of the "Preemption Model" menu (kernel/Kconfig.preempt);
  // before 6.12 it also depends on EXPERT.
  return "# rtcell kernel config: the RT options of the source document\n"
         "CONFIG_EXPERT=y\n"
         "# CONFIG_PREEMPT_NONE is not set\n"
         "# CONFIG_PREEMPT_VOLUNTARY is not set\n"
         "# CONFIG_PREEMPT is not set\n"
         "CONFIG_PREEMPT_RT=y\n"
         "CONFIG_HZ_1000=y\n"
         "CONFIG_HZ=1000\n"
         "CONFIG_NO_HZ_FULL=y\n"
         "CONFIG_LOCALVERSION=\"" +
         localversion +
         "\"\n"
         "# CONFIG_LOCALVERSION_AUTO is not set\n";
}

KbuildResult configure_rt_kernel(const KbuildOptions& o) {
  Probe p("/");
  const std::string src = o.source;
  auto makefile = p.read(src + "/Makefile");
  KbuildResult r;
  r.version = parse_kernel_makefile(makefile.value_or(""));
  if (!makefile || r.version.major == 0 || !p.exists(src + "/scripts/kconfig/merge_config.sh"))
    usage_error("--source " + src +
                " is not a kernel source tree (no top Makefile with VERSION, or no "
                "scripts/kconfig/merge_config.sh)");
  if (!o.arch.empty() && o.arch != "arm64" && !p.exists(src + "/arch/" + o.arch))
    usage_error("--arch " + o.arch + ": the tree has no arch/" + o.arch);
  const std::string ver = r.version.to_string();
  const bool patched = p.exists(src + "/localversion-rt");
  const std::string series = std::to_string(r.version.major) + "." + std::to_string(r.version.minor);
  if (r.version.before(6, 12) && !patched && o.rt_patch.empty())
    usage_error("linux " + ver +
                " is older than 6.12, where PREEMPT_RT was merged: give its RT patch with "
                "--rt-patch patch-" +
                ver + "-rtN.patch (https://cdn.kernel.org/pub/linux/kernel/projects/rt/" + series +
                "/, unxz it first)");
  r.log_file = src + "/rtcell-kconfig.log";
  r.fragment_file = src + "/rtcell-rt.config";
  r.config_file = src + "/.config";
  const bool cross = o.arch == "arm64" && o.host_machine != "aarch64";
  const std::string cc = cross ? (o.cross_compile.empty() ? "aarch64-linux-gnu-" : o.cross_compile) : "";

  if (!o.rt_patch.empty()) {
    if (patched) usage_error(src + " has localversion-rt: an RT patch is applied already; drop --rt-patch");
    if (!p.exists(o.rt_patch)) usage_error("--rt-patch " + o.rt_patch + ": no such file");
    // A dry run first, so a patch that does not apply leaves the tree as it was.
    if (auto why = run_logged({"patch", "-d", src, "-p1", "--forward", "--dry-run", "-s", "-i", o.rt_patch},
                              r.log_file);
        !why.empty())
      usage_error("--rt-patch " + o.rt_patch + " does not apply to linux " + ver + " (" + why + "; see " +
                  r.log_file + "): use the patch for exactly " + ver);
    if (auto why = run_logged({"patch", "-d", src, "-p1", "--forward", "-s", "-i", o.rt_patch}, r.log_file);
        !why.empty())
      throw Error(ErrorKind::System, "applying " + o.rt_patch + " failed after its dry run passed: " + why);
    r.lines.push_back("applied " + o.rt_patch +
                      (p.exists(src + "/localversion-rt")
                           ? " (localversion-rt: " + p.value(src + "/localversion-rt") + ")"
                           : ""));
  }

  std::string lv = o.localversion;
  const std::string running_base = kernel_base_version(o.running);
  if (lv.empty()) lv = release_suffix(o.running, running_base);
  sys::write_file_atomic(r.fragment_file, rt_config_fragment(lv));
  r.lines.push_back("wrote " + r.fragment_file + " (PREEMPT_RT, HZ=1000, NO_HZ_FULL, LOCALVERSION=\"" + lv +
                    "\")");

  if (!o.base_config.empty()) {
    auto base = p.read(o.base_config);
    if (!base) usage_error("--base " + o.base_config + ": cannot read it");
    sys::write_file_atomic(r.config_file, *base);
    r.lines.push_back("base config: " + o.base_config);
  } else if (p.exists(r.config_file)) {
    r.lines.push_back("base config: the tree's .config");
  } else {
    std::vector<std::string> argv = {"make", "-C", src};
    if (!o.arch.empty()) argv.push_back("ARCH=" + o.arch);
    if (!cc.empty()) argv.push_back("CROSS_COMPILE=" + cc);
    argv.emplace_back("defconfig");
    if (auto why = run_logged(argv, r.log_file); !why.empty())
      throw Error(ErrorKind::System, "make defconfig failed (" + why + "): see " + r.log_file);
    r.lines.push_back("base config: make defconfig");
  }

  // merge_config.sh -m only merges (it warns about values that changed);
  // olddefconfig then resolves dependencies the way the build will.
  std::vector<std::string> env = {"env"};
  if (!o.arch.empty()) env.push_back("ARCH=" + o.arch);
  if (!cc.empty()) env.push_back("CROSS_COMPILE=" + cc);
  std::vector<std::string> merge = env;
  for (const char* a :
       {"sh", "-c", "cd \"$1\" && scripts/kconfig/merge_config.sh -m .config rtcell-rt.config", "sh"})
    merge.emplace_back(a);
  merge.push_back(src);
  if (auto why = run_logged(merge, r.log_file); !why.empty())
    throw Error(ErrorKind::System, "merge_config.sh failed (" + why + "): see " + r.log_file);
  std::vector<std::string> old = {"make", "-C", src};
  if (!o.arch.empty()) old.push_back("ARCH=" + o.arch);
  if (!cc.empty()) old.push_back("CROSS_COMPILE=" + cc);
  old.emplace_back("olddefconfig");
  if (auto why = run_logged(old, r.log_file); !why.empty())
    throw Error(ErrorKind::System, "make olddefconfig failed (" + why + "): see " + r.log_file);
  r.lines.push_back("merged with scripts/kconfig/merge_config.sh -m and make" + make_vars(o.arch, cc) +
                    " olddefconfig (log: " + r.log_file + ")");

  auto text = p.read(r.config_file).value_or("");
  auto config = parse_kconfig(text);
  r.findings = run_kconfig_checks(r.config_file, config);
  auto it = config.find("CONFIG_LOCALVERSION");
  std::string rtv = p.value(src + "/localversion-rt");
  r.release = ver + rtv + (it == config.end() ? std::string() : it->second);
  if (o.running.empty())
    r.lines.push_back("the build will report uname -r " + r.release);
  else if (r.release == o.running)
    r.lines.push_back("uname -r will be " + r.release + ", as the running kernel's: module vermagic matches");
  else
    r.lines.push_back(
        "uname -r will be " + r.release + ", the running kernel is " + o.running +
        ": modules built for the running kernel will not load on it (vermagic); rebuild "
        "out-of-tree modules (NVIDIA's included) against this tree" +
        (running_base != ver ? " (the tree is " + ver + ", the running kernel " + running_base + ")" : ""));

  const std::string mk = "make -C " + src + make_vars(o.arch, cc);
  if (o.arch == "arm64") {
    r.steps = {
        mk + " -j$(nproc) Image modules dtbs",
        cross ? mk + " INSTALL_MOD_PATH=<board rootfs> modules_install   # then copy lib/modules/" +
                    r.release + " to the board"
              : "sudo " + mk + " modules_install",
        "copy " + src + "/arch/arm64/boot/Image to the board's /boot/Image.rt",
        std::string("on the board, add to /boot/extlinux/extlinux.conf a copy of the DEFAULT entry with ") +
            "LABEL realtime and LINUX /boot/Image.rt (keep the old entry as the fallback)",
        "on the board: rtcell kernel use-rt && sudo reboot   (rtcell kernel revert goes back)"};
  } else {
    r.steps = {mk + " -j$(nproc)",
               "sudo " + mk + " modules_install install   # installs /boot/vmlinuz-" + r.release +
                   " and runs the boot loader's hook (update-grub on Debian)",
               "reboot and pick " + r.release + "; keep the previous kernel's entry as the fallback"};
  }
  return r;
}

}  // namespace rtcell::host
