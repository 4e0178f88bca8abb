#include "sys/seccomp.hpp"

#include <linux/seccomp.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "rtcell/error.hpp"
#include "sys/fd.hpp"

namespace rtcell::sys {

SeccompFilter& SeccompFilter::operator=(SeccompFilter&& o) noexcept {
  if (this != &o) {
    if (ctx_ != nullptr) seccomp_release(ctx_);
    ctx_ = std::exchange(o.ctx_, nullptr);
    default_action_ = o.default_action_;
  }
  return *this;
}

SeccompFilter::~SeccompFilter() {
  if (ctx_ != nullptr) seccomp_release(ctx_);
}

SeccompFilter SeccompFilter::create(uint32_t default_action) {
  SeccompFilter f;
  f.ctx_ = seccomp_init(default_action);
  if (f.ctx_ == nullptr) usage_error("libseccomp refused the default action of the seccomp profile");
  f.default_action_ = default_action;
  // NO_NEW_PRIVS is ours to set (see cell/sandbox.cpp).
  seccomp_attr_set(f.ctx_, SCMP_FLTATR_CTL_NNP, 0);
  return f;
}

void SeccompFilter::add_rule(uint32_t action, int syscall_nr, const std::vector<scmp_arg_cmp>& args) {
  if (action == default_action_) return;
  int rc = seccomp_rule_add_array(ctx_, action, syscall_nr, static_cast<unsigned>(args.size()),
                                  args.empty() ? nullptr : args.data());
  if (rc == 0) return;
  char* name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, syscall_nr);
  std::string what = "seccomp rule for ";
  what += name != nullptr ? name : std::to_string(syscall_nr);
  free(name);  // NOLINT: libseccomp allocates with malloc
  usage_error(what + " refused by libseccomp (" + std::to_string(rc) +
              "): check its args (one comparison per argument index)");
}

int SeccompFilter::load() noexcept {
  return seccomp_load(ctx_);
}

std::vector<sock_filter> SeccompFilter::export_bpf() const {
  Fd mem(::memfd_create("rtcell-seccomp", MFD_CLOEXEC));
  if (!mem) sys_error("memfd_create for the seccomp program", errno);
  int rc = seccomp_export_bpf(ctx_, mem.get());
  if (rc != 0) sys_error("seccomp_export_bpf", -rc);
  off_t size = ::lseek(mem.get(), 0, SEEK_END);
  if (size < 0 || size % static_cast<off_t>(sizeof(sock_filter)) != 0)
    sys_error("seccomp program size", EINVAL);
  std::vector<sock_filter> prog(static_cast<size_t>(size) / sizeof(sock_filter));
  if (::pread(mem.get(), prog.data(), static_cast<size_t>(size), 0) != size)
    sys_error("cannot read back the seccomp program", errno);
  return prog;
}

int load_seccomp_bpf(const std::vector<sock_filter>& program) noexcept {
  sock_fprog prog{};
  prog.len = static_cast<unsigned short>(program.size());
  prog.filter = const_cast<sock_filter*>(program.data());
  if (::prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0) != 0) return -errno;
  return 0;
}

std::optional<int> SeccompFilter::resolve(const std::string& name) {
  int nr = seccomp_syscall_resolve_name(name.c_str());
  // Below __NR_SCMP_ERROR (-1) are libseccomp's pseudo-syscalls (__PNR_*):
  // names it knows from another architecture that this one lacks. Profiles
  // are written for x86-64 and arm64 has no open, fork, poll or umount (it
  // has openat, clone, ppoll, umount2); x86-64 has no vm86 or stime. There
  // is nothing to filter, so such a name is skipped like an unknown one,
  // not handed to libseccomp.
  if (nr < 0) return std::nullopt;
  return nr;
}

}  // namespace rtcell::sys
