#include "cell/seccomp_profile.hpp"

#include <linux/filter.h>
#include <sched.h>
#include <sys/utsname.h>

#include <algorithm>
#include <cerrno>
#include <nlohmann/json.hpp>
#include <optional>

#include "rtcell/error.hpp"

namespace rtcell::cell {

namespace {

// Docker's default profile (moby profiles/seccomp/default.json) is an allow
// list; these are the syscalls it leaves out, i.e. what a default container
// cannot call, with the capability that re-enables each one there. Written
// from the profile's documented behaviour (docs.docker.com "Seccomp security
// profiles for Docker", "Significant syscalls blocked by the default
// profile"), not copied from it. -1 = never allowed.
struct Denied {
  const char* name;
  int cap;
};
constexpr int kNone = -1;
constexpr int kSysAdmin = 21, kSysBoot = 22, kSysModule = 16, kSysPtrace = 19, kSysTime = 25, kSysNice = 23,
              kSysRawio = 17, kSysPacct = 20, kDacReadSearch = 2, kSyslog = 34, kSysTtyConfig = 26,
              kPerfmon = 38, kBpf = 39;
constexpr Denied kDockerDenied[] = {
    {"acct", kSysPacct},
    {"add_key", kNone},
    {"bpf", kBpf},
    {"clock_adjtime", kSysTime},
    {"clock_settime", kSysTime},
    {"create_module", kSysModule},
    {"delete_module", kSysModule},
    {"finit_module", kSysModule},
    {"fsconfig", kSysAdmin},
    {"fsmount", kSysAdmin},
    {"fsopen", kSysAdmin},
    {"fspick", kSysAdmin},
    {"get_kernel_syms", kSysModule},
    {"get_mempolicy", kSysNice},
    {"init_module", kSysModule},
    {"io_uring_enter", kNone},
    {"io_uring_register", kNone},
    {"io_uring_setup", kNone},
    {"ioperm", kSysRawio},
    {"iopl", kSysRawio},
    {"kcmp", kSysPtrace},
    {"kexec_file_load", kSysBoot},
    {"kexec_load", kSysBoot},
    {"keyctl", kNone},
    {"lookup_dcookie", kSysAdmin},
    {"mbind", kSysNice},
    {"mount", kSysAdmin},
    {"mount_setattr", kSysAdmin},
    {"move_mount", kSysAdmin},
    {"move_pages", kSysNice},
    {"name_to_handle_at", kDacReadSearch},
    {"nfsservctl", kNone},
    {"open_by_handle_at", kDacReadSearch},
    {"open_tree", kSysAdmin},
    {"perf_event_open", kPerfmon},
    {"pidfd_getfd", kSysPtrace},
    {"pivot_root", kSysAdmin},
    {"process_vm_readv", kSysPtrace},
    {"process_vm_writev", kSysPtrace},
    {"ptrace", kSysPtrace},
    {"query_module", kSysModule},
    {"quotactl", kSysAdmin},
    {"quotactl_fd", kSysAdmin},
    {"reboot", kSysBoot},
    {"request_key", kNone},
    {"set_mempolicy", kSysNice},
    {"setns", kSysAdmin},
    {"settimeofday", kSysTime},
    {"stime", kSysTime},
    {"swapoff", kSysAdmin},
    {"swapon", kSysAdmin},
    {"_sysctl", kNone},
    {"sysfs", kNone},
    {"syslog", kSyslog},
    {"umount", kSysAdmin},
    {"umount2", kSysAdmin},
    {"unshare", kSysAdmin},
    {"uselib", kNone},
    {"userfaultfd", kNone},
    {"ustat", kNone},
    {"vhangup", kSysTtyConfig},
    {"vm86", kNone},
    {"vm86old", kNone},
};

constexpr uint64_t kCloneNsFlags =
    CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWCGROUP;

SeccompAction parse_action(const std::string& s) {
  if (s == "SCMP_ACT_ALLOW") return SeccompAction::Allow;
  if (s == "SCMP_ACT_ERRNO") return SeccompAction::Errno;
  if (s == "SCMP_ACT_KILL" || s == "SCMP_ACT_KILL_THREAD") return SeccompAction::KillThread;
  if (s == "SCMP_ACT_KILL_PROCESS") return SeccompAction::KillProcess;
  if (s == "SCMP_ACT_TRAP") return SeccompAction::Trap;
  if (s == "SCMP_ACT_LOG") return SeccompAction::Log;
  if (s == "SCMP_ACT_TRACE" || s == "SCMP_ACT_NOTIFY")
    usage_error("seccomp profile: action " + s +
                " needs a tracer or supervisor rtcell does not provide; use SCMP_ACT_ERRNO");
  usage_error("seccomp profile: unknown action '" + s +
              "' (use SCMP_ACT_ALLOW, SCMP_ACT_ERRNO, SCMP_ACT_KILL_PROCESS, SCMP_ACT_TRAP, SCMP_ACT_LOG)");
}

SeccompArg::Op parse_op(const std::string& s) {
  using Op = SeccompArg::Op;
  if (s == "SCMP_CMP_NE") return Op::Ne;
  if (s == "SCMP_CMP_LT") return Op::Lt;
  if (s == "SCMP_CMP_LE") return Op::Le;
  if (s == "SCMP_CMP_EQ") return Op::Eq;
  if (s == "SCMP_CMP_GE") return Op::Ge;
  if (s == "SCMP_CMP_GT") return Op::Gt;
  if (s == "SCMP_CMP_MASKED_EQ") return Op::MaskedEq;
  usage_error("seccomp profile: unknown operator '" + s +
              "' (use SCMP_CMP_EQ, _NE, _LT, _LE, _GE, _GT, _MASKED_EQ)");
}

// The ioctl requests denied in the default profile (asm-generic/ioctls.h;
// the same numbers on x86 and arm64).
constexpr uint64_t kTiocsti = 0x5412;
constexpr uint64_t kTioclinux = 0x541C;

// Rule entries (syscall x comparison) a profile may hold: each compiles to
// at least one instruction, so more can never fit BPF_MAXINSNS, and
// libseccomp's compile time grows quadratically with them.
constexpr size_t kMaxRuleEntries = 4096;

// SCMP_ACT_ERRNO(0) makes the syscall "succeed" without running it: callers
// then use results that were never written (mmap returning 0, ...) and
// crash. errno values above 4095 are not errors to libc.
void check_errno(int err, const std::string& field) {
  if (err == 0)
    usage_error("seccomp profile: " + field +
                " 0 makes every denied syscall return success without running it: give an errno such as 1 "
                "(EPERM) or 38 (ENOSYS)");
  if (err < 0 || err > 4095)
    usage_error("seccomp profile: " + field + " " + std::to_string(err) + " is not an errno (1-4095)");
}

uint32_t to_scmp(SeccompAction a, int err) {
  switch (a) {
    case SeccompAction::Allow:
      return SCMP_ACT_ALLOW;
    case SeccompAction::Errno:
      return SCMP_ACT_ERRNO(static_cast<uint32_t>(err));
    case SeccompAction::KillThread:
      return SCMP_ACT_KILL_THREAD;
    case SeccompAction::KillProcess:
      return SCMP_ACT_KILL_PROCESS;
    case SeccompAction::Trap:
      return SCMP_ACT_TRAP;
    case SeccompAction::Log:
      return SCMP_ACT_LOG;
  }
  return SCMP_ACT_KILL_PROCESS;
}

scmp_compare to_scmp(SeccompArg::Op op) {
  using Op = SeccompArg::Op;
  switch (op) {
    case Op::Ne:
      return SCMP_CMP_NE;
    case Op::Lt:
      return SCMP_CMP_LT;
    case Op::Le:
      return SCMP_CMP_LE;
    case Op::Eq:
      return SCMP_CMP_EQ;
    case Op::Ge:
      return SCMP_CMP_GE;
    case Op::Gt:
      return SCMP_CMP_GT;
    case Op::MaskedEq:
      return SCMP_CMP_MASKED_EQ;
  }
  return SCMP_CMP_EQ;
}

std::vector<std::string> string_list(const nlohmann::json& j, const std::string& where) {
  if (j.is_null()) return {};
  if (!j.is_array()) usage_error("seccomp profile: " + where + " must be a list of strings");
  std::vector<std::string> out;
  for (const auto& e : j) {
    if (!e.is_string()) usage_error("seccomp profile: " + where + " must be a list of strings");
    out.push_back(e.get<std::string>());
  }
  return out;
}

// Docker's includes/excludes filter: caps (all must be held), arches (one
// must match), minKernel ("4.8").
bool filter_matches(const nlohmann::json& f, const ProfileContext& ctx, bool is_include,
                    const std::string& where) {
  if (!f.is_object()) usage_error("seccomp profile: " + where + " must be an object");
  bool any_condition = false;
  bool all = true;
  bool any = false;
  if (f.contains("caps")) {
    auto caps = string_list(f["caps"], where + ".caps");
    if (!caps.empty()) {
      any_condition = true;
      for (const auto& c : caps) {
        auto n = sys::cap_from_name(c);
        if (!n) {
          std::string what = "seccomp profile: unknown capability '";
          what += c;
          what += "' in ";
          what += where;
          usage_error(what + ".caps");
        }
        bool held = ctx.caps.has(*n);
        all = all && held;
        any = any || held;
      }
    }
  }
  if (f.contains("arches")) {
    auto arches = string_list(f["arches"], where + ".arches");
    if (!arches.empty()) {
      any_condition = true;
      bool m = false;
      for (const auto& a : arches) m = m || a == ctx.arch;
      all = all && m;
      any = any || m;
    }
  }
  if (f.contains("minKernel") && !f["minKernel"].is_null()) {
    if (!f["minKernel"].is_string()) usage_error("seccomp profile: " + where + ".minKernel must be a string");
    int maj = 0, min = 0;
    parse_kernel_version(f["minKernel"].get<std::string>(), maj, min);
    any_condition = true;
    bool m = ctx.kernel_major == 0 || ctx.kernel_major > maj ||
             (ctx.kernel_major == maj && ctx.kernel_minor >= min);
    all = all && m;
    any = any || m;
  }
  if (!any_condition) return is_include;  // empty include: applies; empty exclude: excludes nothing
  return is_include ? all : any;
}

}  // namespace

void parse_kernel_version(std::string_view release, int& major, int& minor) {
  major = minor = 0;
  size_t i = 0;
  auto num = [&](int& out) {
    bool got = false;
    while (i < release.size() && release[i] >= '0' && release[i] <= '9') {
      out = out * 10 + (release[i] - '0');
      ++i;
      got = true;
    }
    return got;
  };
  if (!num(major) || i >= release.size() || release[i] != '.') {
    major = minor = 0;
    return;
  }
  ++i;
  if (!num(minor)) major = minor = 0;
}

ProfileContext host_profile_context(sys::CapSet caps) {
  ProfileContext ctx;
  ctx.caps = caps;
  struct utsname u {};
  if (::uname(&u) == 0) {
    std::string m = u.machine;
    if (m == "x86_64")
      ctx.arch = "amd64";
    else if (m == "aarch64")
      ctx.arch = "arm64";
    else if (m.size() == 4 && m[0] == 'i' && m.substr(2) == "86")
      ctx.arch = "386";
    else
      ctx.arch = m;
    parse_kernel_version(u.release, ctx.kernel_major, ctx.kernel_minor);
  }
  return ctx;
}

SeccompProfile default_profile(sys::CapSet caps) {
  SeccompProfile p;
  p.default_action = SeccompAction::Allow;
  for (const auto& d : kDockerDenied) {
    if (d.cap != kNone && caps.has(d.cap)) continue;
    SeccompRule r;
    r.names = {d.name};
    r.action = SeccompAction::Errno;
    r.errno_ret = EPERM;
    p.rules.push_back(std::move(r));
  }
  if (!caps.has(kSysAdmin)) {
    // clone(2) creating namespaces: the flags are argument 0 on every
    // architecture rtcell targets (s390 swaps them; not a target).
    SeccompRule clone;
    clone.names = {"clone"};
    clone.action = SeccompAction::Errno;
    clone.errno_ret = EPERM;
    SeccompArg a;
    a.index = 0;
    a.value = kCloneNsFlags;
    a.value_two = 0;
    a.op = SeccompArg::Op::MaskedEq;
    // MASKED_EQ(mask, 0) holds when no namespace flag is set; we need the
    // opposite, which one comparison cannot say, so deny per flag instead.
    for (uint64_t bit = 1; bit != 0; bit <<= 1) {
      if ((kCloneNsFlags & bit) == 0) continue;
      SeccompRule one = clone;
      a.value = bit;
      a.value_two = bit;
      one.args = {a};
      p.rules.push_back(one);
    }
    // clone3 passes its flags in memory seccomp cannot read: ENOSYS makes
    // glibc fall back to clone(2), which the rule above inspects (Docker
    // does the same).
    SeccompRule clone3;
    clone3.names = {"clone3"};
    clone3.action = SeccompAction::Errno;
    clone3.errno_ret = ENOSYS;
    p.rules.push_back(clone3);
  }
  // Defence in depth against terminal injection: TIOCSTI pushes characters
  // into a terminal's input queue and TIOCLINUX can paste the console's
  // selection; a cell reaching its creator's terminal must not type into it
  // (JetPack kernels predate dev.tty.legacy_tiocsti). The kernel takes cmd
  // as an unsigned int (fs/ioctl.c), so only the low 32 bits are compared.
  for (uint64_t request : {kTiocsti, kTioclinux}) {
    SeccompRule r;
    r.names = {"ioctl"};
    r.action = SeccompAction::Errno;
    r.errno_ret = EPERM;
    r.args = {SeccompArg{1, 0xffffffffU, request, SeccompArg::Op::MaskedEq}};
    p.rules.push_back(std::move(r));
  }
  return p;
}

SeccompProfile parse_docker_profile(std::string_view json, const ProfileContext& ctx) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(json.begin(), json.end());
  } catch (const nlohmann::json::parse_error& e) {
    usage_error(std::string("seccomp profile is not valid JSON: ") + e.what());
  }
  if (!j.is_object()) usage_error("seccomp profile must be a JSON object with defaultAction and syscalls");
  SeccompProfile p;
  try {
    if (!j.contains("defaultAction") || !j["defaultAction"].is_string())
      usage_error("seccomp profile: defaultAction (a string such as SCMP_ACT_ERRNO) is missing");
    p.default_action = parse_action(j["defaultAction"].get<std::string>());
    if (j.contains("defaultErrnoRet") && !j["defaultErrnoRet"].is_null()) {
      p.default_errno = j["defaultErrnoRet"].get<int>();
      if (p.default_action == SeccompAction::Errno) check_errno(p.default_errno, "defaultErrnoRet");
    }
    if (j.contains("syscalls") && !j["syscalls"].is_null()) {
      if (!j["syscalls"].is_array()) usage_error("seccomp profile: syscalls must be a list");
      size_t idx = 0;
      size_t entries = 0;  // syscall x comparison pairs: each costs instructions
      for (const auto& s : j["syscalls"]) {
        const std::string where = "syscalls[" + std::to_string(idx++) + "]";
        if (!s.is_object()) usage_error("seccomp profile: " + where + " must be an object");
        if (s.contains("includes") && !filter_matches(s["includes"], ctx, true, where + ".includes"))
          continue;
        if (s.contains("excludes") && filter_matches(s["excludes"], ctx, false, where + ".excludes"))
          continue;
        SeccompRule r;
        if (s.contains("names")) r.names = string_list(s["names"], where + ".names");
        if (s.contains("name") && s["name"].is_string()) r.names.push_back(s["name"].get<std::string>());
        if (r.names.empty()) usage_error("seccomp profile: " + where + " names no syscall");
        if (!s.contains("action") || !s["action"].is_string())
          usage_error("seccomp profile: " + where + ".action is missing");
        r.action = parse_action(s["action"].get<std::string>());
        r.errno_ret = p.default_errno;
        if (s.contains("errnoRet") && !s["errnoRet"].is_null()) r.errno_ret = s["errnoRet"].get<int>();
        if (r.action == SeccompAction::Errno)
          check_errno(r.errno_ret, s.contains("errnoRet") ? where + ".errnoRet" : "defaultErrnoRet");
        if (s.contains("args") && !s["args"].is_null()) {
          if (!s["args"].is_array()) usage_error("seccomp profile: " + where + ".args must be a list");
          for (const auto& a : s["args"]) {
            SeccompArg arg;
            arg.index = a.at("index").get<unsigned>();
            if (arg.index > 5) usage_error("seccomp profile: " + where + " has an argument index above 5");
            arg.value = a.at("value").get<uint64_t>();
            arg.value_two = a.contains("valueTwo") ? a["valueTwo"].get<uint64_t>() : 0;
            arg.op = parse_op(a.at("op").get<std::string>());
            r.args.push_back(arg);
          }
        }
        entries += r.names.size() * std::max<size_t>(1, r.args.size());
        if (entries > kMaxRuleEntries)
          usage_error("seccomp profile names more than " + std::to_string(kMaxRuleEntries) +
                      " syscall rules (at " + where +
                      "): its program cannot fit the kernel's limit of 4096 BPF instructions; merge rules or "
                      "use a default action that covers them");
        p.rules.push_back(std::move(r));
      }
    }
  } catch (const nlohmann::json::exception& e) {
    usage_error(std::string("seccomp profile has a field of the wrong type: ") + e.what());
  }
  return p;
}

sys::SeccompFilter build_filter(const SeccompProfile& profile) {
  auto f = sys::SeccompFilter::create(to_scmp(profile.default_action, profile.default_errno));
  for (const auto& r : profile.rules) {
    const uint32_t act = to_scmp(r.action, r.errno_ret);
    // libseccomp allows one comparison per argument index in a rule; when a
    // profile repeats an index, each comparison becomes its own rule (an
    // OR), as Docker does.
    bool repeated = false;
    for (size_t i = 0; i < r.args.size(); ++i)
      for (size_t k = i + 1; k < r.args.size(); ++k)
        repeated = repeated || r.args[i].index == r.args[k].index;
    std::vector<std::vector<scmp_arg_cmp>> sets;
    std::vector<scmp_arg_cmp> all;
    for (const auto& a : r.args) {
      scmp_arg_cmp c{a.index, to_scmp(a.op), a.value, a.value_two};
      if (repeated)
        sets.push_back({c});
      else
        all.push_back(c);
    }
    if (!repeated) sets.push_back(all);
    for (const auto& name : r.names) {
      auto nr = sys::SeccompFilter::resolve(name);
      if (!nr) continue;  // unknown here: Docker skips it too
      for (const auto& s : sets) f.add_rule(act, *nr, s);
    }
  }
  return f;
}

std::vector<sock_filter> compiled_filter(const SeccompProfile& profile) {
  std::vector<sock_filter> prog = build_filter(profile).export_bpf();
  // The kernel refuses a longer program (BPF_MAXINSNS, linux/bpf_common.h):
  // say so here, before anything exists, not as EINVAL inside the cell.
  if (prog.size() > BPF_MAXINSNS)
    usage_error("seccomp profile compiles to " + std::to_string(prog.size()) +
                " BPF instructions; the kernel loads at most " + std::to_string(BPF_MAXINSNS) +
                ": merge rules or use fewer argument comparisons");
  return prog;
}

}  // namespace rtcell::cell
