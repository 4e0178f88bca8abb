// Seccomp profiles for cells: rtcell's default (Docker's deny list as data)
// and the parser of Docker's profile JSON. Pure: nothing is loaded into the
// kernel here (integration tests do that inside real cells), except in
// a forked child that loads the default program under no_new_privs (no
// root needed) to see the TIOCSTI rule act.
#include <gtest/gtest.h>
#include <linux/seccomp.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "cell/seccomp_profile.hpp"
#include "rtcell/error.hpp"
#include "sys/caps.hpp"

namespace rtcell::cell {
namespace {

bool denies(const SeccompProfile& p, const std::string& name) {
  return std::any_of(p.rules.begin(), p.rules.end(), [&](const SeccompRule& r) {
    return r.action != SeccompAction::Allow &&
           std::find(r.names.begin(), r.names.end(), name) != r.names.end();
  });
}

ProfileContext ctx(sys::CapSet caps = {}) {
  ProfileContext c;
  c.caps = caps;
  c.arch = "amd64";
  c.kernel_major = 6;
  c.kernel_minor = 1;
  return c;
}

// Whether a forked child can load the smallest filter (allow all) under
// no_new_privs, as every kernel with CONFIG_SECCOMP_FILTER lets it.
bool seccomp_filters_load() {
  const pid_t pid = ::fork();
  if (pid < 0) return false;
  if (pid == 0) {
    const std::vector<sock_filter> allow{BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)};
    _exit(::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0 && sys::load_seccomp_bpf(allow) == 0 ? 0 : 1);
  }
  int status = 0;
  return ::waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

void expect_usage(const std::string& json) {
  try {
    parse_docker_profile(json, ctx());
    ADD_FAILURE() << "accepted: " << json;
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Usage) << json;
    EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos) << "one line: " << e.what();
  }
}

TEST(CellSeccomp, DefaultDeniesDockersList) {
  auto p = default_profile({});
  EXPECT_EQ(p.default_action, SeccompAction::Allow);
  for (const char* s : {"mount", "umount2", "setns", "unshare", "ptrace", "kexec_load", "init_module",
                        "finit_module", "reboot", "keyctl", "add_key", "bpf", "pivot_root",
                        "open_by_handle_at", "clone3", "userfaultfd", "perf_event_open"})
    EXPECT_TRUE(denies(p, s)) << s;
  EXPECT_FALSE(denies(p, "read"));
  EXPECT_FALSE(denies(p, "sched_setattr")) << "RT cells must be able to lower their own policy";
  // clone is denied only with namespace flags (one rule per flag).
  auto clone_rules = std::count_if(p.rules.begin(), p.rules.end(), [](const SeccompRule& r) {
    return r.names == std::vector<std::string>{"clone"};
  });
  EXPECT_EQ(clone_rules, 7);
  for (const auto& r : p.rules)
    if (r.names[0] == "clone") {
      ASSERT_EQ(r.args.size(), 1U);
      EXPECT_EQ(r.args[0].op, SeccompArg::Op::MaskedEq);
    }
}

TEST(CellSeccomp, DefaultAllowsWhatAddedCapsNeed) {
  sys::CapSet caps;
  caps.add(19);  // SYS_PTRACE
  caps.add(22);  // SYS_BOOT
  auto p = default_profile(caps);
  EXPECT_FALSE(denies(p, "ptrace"));
  EXPECT_FALSE(denies(p, "process_vm_readv"));
  EXPECT_FALSE(denies(p, "reboot"));
  EXPECT_TRUE(denies(p, "mount"));
  EXPECT_TRUE(denies(p, "keyctl")) << "no capability re-enables keyrings";
  sys::CapSet admin;
  admin.add(21);
  auto a = default_profile(admin);
  EXPECT_FALSE(denies(a, "mount"));
  EXPECT_FALSE(denies(a, "clone"));
  EXPECT_FALSE(denies(a, "clone3"));
}

TEST(CellSeccomp, DefaultProfileCompiles) {
  EXPECT_TRUE(build_filter(default_profile({})).valid());
  EXPECT_TRUE(build_filter(default_profile(sys::CapSet::all())).valid());
}

TEST(CellSeccomp, ParsesDockerFormat) {
  auto p = parse_docker_profile(R"({
    "defaultAction": "SCMP_ACT_ERRNO",
    "defaultErrnoRet": 1,
    "architectures": ["SCMP_ARCH_X86_64"],
    "syscalls": [
      {"names": ["read", "write"], "action": "SCMP_ACT_ALLOW"},
      {"names": ["personality"], "action": "SCMP_ACT_ALLOW",
       "args": [{"index": 0, "value": 8, "valueTwo": 0, "op": "SCMP_CMP_EQ"}]},
      {"names": ["chroot"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38},
      {"names": ["ptrace"], "action": "SCMP_ACT_ALLOW", "includes": {"caps": ["CAP_SYS_PTRACE"]}},
      {"names": ["arch_prctl"], "action": "SCMP_ACT_ALLOW", "includes": {"arches": ["amd64", "x32"]}},
      {"names": ["fancy"], "action": "SCMP_ACT_ALLOW", "includes": {"minKernel": "7.0"}},
      {"names": ["old"], "action": "SCMP_ACT_ALLOW", "includes": {"minKernel": "4.8"}},
      {"names": ["not_arm"], "action": "SCMP_ACT_ALLOW", "excludes": {"arches": ["arm64"]}},
      {"names": ["not_admin"], "action": "SCMP_ACT_ALLOW", "excludes": {"caps": ["CAP_SYS_ADMIN"]}}
    ]})",
                                ctx());
  EXPECT_EQ(p.default_action, SeccompAction::Errno);
  auto has = [&](const std::string& n) {
    return std::any_of(p.rules.begin(), p.rules.end(), [&](const SeccompRule& r) {
      return std::find(r.names.begin(), r.names.end(), n) != r.names.end();
    });
  };
  EXPECT_TRUE(has("read"));
  EXPECT_TRUE(has("personality"));
  EXPECT_FALSE(has("ptrace")) << "includes caps the cell lacks";
  EXPECT_TRUE(has("arch_prctl"));
  EXPECT_FALSE(has("fancy")) << "minKernel above the running kernel";
  EXPECT_TRUE(has("old"));
  EXPECT_TRUE(has("not_arm"));
  EXPECT_TRUE(has("not_admin"));
  for (const auto& r : p.rules) {
    if (r.names[0] == "chroot") {
      EXPECT_EQ(r.errno_ret, 38);
    }
    if (r.names[0] == "personality") {
      ASSERT_EQ(r.args.size(), 1U);
      EXPECT_EQ(r.args[0].value, 8U);
      EXPECT_EQ(r.args[0].op, SeccompArg::Op::Eq);
    }
  }
  sys::CapSet ptrace;
  ptrace.add(19);
  auto q = parse_docker_profile(
      R"({"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["ptrace"],"action":"SCMP_ACT_ALLOW","includes":{"caps":["CAP_SYS_PTRACE"]}}]})",
      ctx(ptrace));
  EXPECT_EQ(q.rules.size(), 1U);
  EXPECT_TRUE(build_filter(p).valid());
}

TEST(CellSeccomp, RepeatedArgumentIndexCompiles) {
  auto p = parse_docker_profile(R"({"defaultAction":"SCMP_ACT_ALLOW","syscalls":[
      {"names":["personality"],"action":"SCMP_ACT_ERRNO","args":[
        {"index":0,"value":1,"op":"SCMP_CMP_EQ"},{"index":0,"value":2,"op":"SCMP_CMP_EQ"}]}]})",
                                ctx());
  EXPECT_TRUE(build_filter(p).valid());
}

TEST(CellSeccomp, UnknownSyscallNamesAreSkipped) {
  auto p = parse_docker_profile(
      R"({"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["no_such_syscall_xyz","mount"],"action":"SCMP_ACT_ERRNO"}]})",
      ctx());
  EXPECT_TRUE(build_filter(p).valid());
}

// Profiles name syscalls of every architecture; a name this one lacks has
// nothing to filter and is skipped, never an error. arm64 (the Jetson) has
// no open, fork, poll or umount; x86-64 has no vm86 or stime. The program
// of a profile that names only those equals the program of one that names
// none, and a name this architecture has still changes it.
TEST(CellSeccomp, SyscallsThisArchitectureLacksAreSkipped) {
#if defined(__aarch64__)
  const std::vector<std::string> absent{"open", "fork", "poll", "umount", "epoll_wait", "stime"};
  const std::vector<std::string> present{"openat", "clone", "ppoll", "umount2"};
#elif defined(__x86_64__)
  const std::vector<std::string> absent{"vm86", "vm86old", "stime"};
  const std::vector<std::string> present{"open", "fork", "poll", "umount2"};
#else
  GTEST_SKIP() << "no list of absent syscalls for this architecture (rtcell targets x86-64 and arm64)";
#endif
  for (const auto& name : absent) EXPECT_FALSE(sys::SeccompFilter::resolve(name)) << name;
  for (const auto& name : present) EXPECT_TRUE(sys::SeccompFilter::resolve(name)) << name;
  auto program = [](const std::vector<std::string>& names) {
    SeccompProfile p;
    p.default_action = SeccompAction::Allow;
    SeccompRule r;
    r.names = names;
    r.action = SeccompAction::Errno;
    r.errno_ret = EPERM;
    if (!names.empty()) p.rules.push_back(r);
    return compiled_filter(p);
  };
  const auto none = program({});
  const auto only_absent = program(absent);
  ASSERT_EQ(only_absent.size(), none.size());
  EXPECT_EQ(std::memcmp(only_absent.data(), none.data(), none.size() * sizeof(sock_filter)), 0);
  EXPECT_GT(program(present).size(), none.size());
  // The default list names several of them and still compiles here.
  EXPECT_TRUE(build_filter(default_profile({})).valid());
}

TEST(CellSeccomp, MalformedProfilesAreUsageErrors) {
  expect_usage("");
  expect_usage("{");
  expect_usage("[]");
  expect_usage(R"({"syscalls":[]})");
  expect_usage(R"({"defaultAction":"SCMP_ACT_MAYBE"})");
  expect_usage(R"({"defaultAction":"SCMP_ACT_TRACE"})");
  expect_usage(R"({"defaultAction":"SCMP_ACT_ALLOW","syscalls":{}})");
  expect_usage(R"({"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"action":"SCMP_ACT_ERRNO"}]})");
  expect_usage(R"({"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["read"]}]})");
  expect_usage(R"({"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["read"],"action":"SCMP_ACT_ERRNO",
     "args":[{"index":0,"value":1,"op":"SCMP_CMP_LIKE"}]}]})");
  expect_usage(R"({"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["read"],"action":"SCMP_ACT_ERRNO",
     "args":[{"index":9,"value":1,"op":"SCMP_CMP_EQ"}]}]})");
  expect_usage(R"({"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["read"],"action":"SCMP_ACT_ERRNO",
     "args":[{"index":"zero","value":1,"op":"SCMP_CMP_EQ"}]}]})");
  expect_usage(R"({"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":[1],"action":"SCMP_ACT_ERRNO"}]})");
  expect_usage(R"({"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["read"],"action":"SCMP_ACT_ERRNO",
     "includes":{"caps":["CAP_BANANA"]}}]})");
}

TEST(CellSeccomp, ErrnoZeroIsRefused) {
  // SCMP_ACT_ERRNO(0): every denied call "succeeds" without running, and
  // the command crashes on results never written.
  expect_usage(R"({"defaultAction":"SCMP_ACT_ERRNO","defaultErrnoRet":0})");
  expect_usage(R"({"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["read"],"action":"SCMP_ACT_ERRNO",
     "errnoRet":0}]})");
  expect_usage(R"({"defaultAction":"SCMP_ACT_ALLOW","defaultErrnoRet":0,"syscalls":[{"names":["read"],
     "action":"SCMP_ACT_ERRNO"}]})");
  expect_usage(R"({"defaultAction":"SCMP_ACT_ERRNO","defaultErrnoRet":70000})");
  try {
    parse_docker_profile(R"({"defaultAction":"SCMP_ACT_ERRNO","defaultErrnoRet":0})", ctx());
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("defaultErrnoRet 0"), std::string::npos) << e.what();
  }
  // Fine where nothing returns it (an allow default with no errno rule).
  EXPECT_NO_THROW(parse_docker_profile(R"({"defaultAction":"SCMP_ACT_ALLOW","defaultErrnoRet":0})", ctx()));
  EXPECT_NO_THROW(parse_docker_profile(R"({"defaultAction":"SCMP_ACT_ERRNO","defaultErrnoRet":38})", ctx()));
}

std::string many_rules(int n, bool with_args) {
  std::string j = R"({"defaultAction":"SCMP_ACT_ALLOW","syscalls":[)";
  for (int i = 0; i < n; ++i) {
    if (i) j += ',';
    j += R"({"names":["ioctl"],"action":"SCMP_ACT_ERRNO")";
    if (with_args)
      j += R"(,"args":[{"index":1,"value":)" + std::to_string(1000 + i) +
           R"(,"op":"SCMP_CMP_EQ"},{"index":2,"value":)" + std::to_string(70'000'000'000 + i) +
           R"(,"op":"SCMP_CMP_GT"}])";
    j += '}';
  }
  return j + "]}";
}

TEST(CellSeccomp, ProfilesPastTheKernelLimitAreRefusedBeforeTheCell) {
  // More rule entries than instructions the kernel loads: refused while
  // parsing, before libseccomp spends quadratic time on them.
  try {
    parse_docker_profile(many_rules(4097, false), ctx());
    ADD_FAILURE() << "4097 rules accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Usage);
    EXPECT_NE(std::string(e.what()).find("4096"), std::string::npos) << e.what();
  }
  // Few enough entries, but each argument comparison costs several
  // instructions: the compiled program is what the kernel would refuse.
  auto p = parse_docker_profile(many_rules(1000, true), ctx());  // ~7000 instructions
  try {
    (void)compiled_filter(p);
    ADD_FAILURE() << "a program past BPF_MAXINSNS was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Usage);
    EXPECT_NE(std::string(e.what()).find("at most 4096"), std::string::npos) << e.what();
  }
  EXPECT_LE(compiled_filter(default_profile({})).size(), 4096U);
}

TEST(CellSeccomp, DefaultDeniesTerminalInjection) {
  const SeccompProfile p = default_profile(sys::CapSet::all());  // even with every capability
  std::vector<uint64_t> denied;
  for (const auto& r : p.rules)
    if (r.names == std::vector<std::string>{"ioctl"} && r.action == SeccompAction::Errno &&
        r.args.size() == 1 && r.args[0].index == 1 && r.args[0].op == SeccompArg::Op::MaskedEq &&
        r.args[0].value == 0xffffffffU)
      denied.push_back(r.args[0].value_two);
  std::sort(denied.begin(), denied.end());
  EXPECT_EQ(denied, (std::vector<uint64_t>{TIOCSTI, TIOCLINUX}));

  // Loaded in a child: TIOCSTI gets EPERM from the filter (ENOTTY from the
  // kernel otherwise, as a pipe is no terminal), high bits set or not; an
  // ordinary ioctl still reaches the kernel.
  const std::vector<sock_filter> prog = compiled_filter(default_profile({}));
  if (!seccomp_filters_load())
    GTEST_SKIP() << "this process cannot load any seccomp filter, not even allow-all (qemu-user refuses "
                    "PR_SET_SECCOMP: a guest filter would also filter the emulator); the program was "
                    "compiled and checked above, and the guest tier loads it on a real kernel";
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 || sys::load_seccomp_bpf(prog) != 0) _exit(10);
    char c = 'x';
    if (::ioctl(fds[0], TIOCSTI, &c) != -1 || errno != EPERM) _exit(11);
    if (::syscall(SYS_ioctl, fds[0], 0x100000000UL | TIOCSTI, &c) != -1 || errno != EPERM) _exit(12);
    if (::ioctl(fds[0], TIOCLINUX, &c) != -1 || errno != EPERM) _exit(13);
    int n = 0;
    if (::ioctl(fds[0], FIONREAD, &n) != 0) _exit(14);
    _exit(0);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ::close(fds[0]);
  ::close(fds[1]);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "10 load, 11 TIOCSTI, 12 TIOCSTI high bits, 13 TIOCLINUX, 14 FIONREAD";
}

TEST(CellSeccomp, KernelVersion) {
  int ma = -1, mi = -1;
  parse_kernel_version("6.18.0-rc1", ma, mi);
  EXPECT_EQ(ma, 6);
  EXPECT_EQ(mi, 18);
  parse_kernel_version("5.10.120-tegra", ma, mi);
  EXPECT_EQ(ma, 5);
  EXPECT_EQ(mi, 10);
  parse_kernel_version("garbage", ma, mi);
  EXPECT_EQ(ma, 0);
  EXPECT_EQ(mi, 0);
}

TEST(CellCaps, NamesAndMasks) {
  EXPECT_EQ(sys::cap_from_name("SYS_NICE"), 23);
  EXPECT_EQ(sys::cap_from_name("CAP_SYS_NICE"), 23);
  EXPECT_EQ(sys::cap_from_name("cap_ipc_lock"), 14);
  EXPECT_EQ(sys::cap_from_name("CHECKPOINT_RESTORE"), 40);
  EXPECT_FALSE(sys::cap_from_name("NICE").has_value());
  EXPECT_EQ(sys::cap_name(0), "CHOWN");
  EXPECT_EQ(sys::cap_name(39), "BPF");
  EXPECT_EQ(sys::parse_cap_mask("0000000000804000").bits(), (uint64_t{1} << 23) | (uint64_t{1} << 14));
  EXPECT_EQ(sys::parse_cap_mask("000001ffffffffff"), sys::CapSet::all());
  EXPECT_THROW(sys::parse_cap_mask("xyz"), Error);
  sys::CapSet s;
  s.add(23);
  s.add(14);
  EXPECT_EQ(s.names(), (std::vector<std::string>{"IPC_LOCK", "SYS_NICE"}));
  s.remove(14);
  EXPECT_EQ(s.names(), std::vector<std::string>{"SYS_NICE"});
}

}  // namespace
}  // namespace rtcell::cell
