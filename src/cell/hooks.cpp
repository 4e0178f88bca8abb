#include "cell/hooks.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>

#include "rtcell/error.hpp"
#include "sys/fd.hpp"
#include "sys/pidfd.hpp"
#include "sys/process.hpp"

namespace rtcell::cell {

namespace {

void run_one(const Hook& h, const std::string& what, const std::string& state_json) {
  int in[2];
  if (::pipe2(in, O_CLOEXEC) != 0) sys_error("pipe2", errno);
  sys::Fd r(in[0]);
  sys::Fd w(in[1]);
  std::vector<char*> argv;
  argv.reserve(h.args.size() + 2);
  std::vector<std::string> args = h.args.empty() ? std::vector<std::string>{h.path} : h.args;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<std::string> env = h.env;
  std::vector<char*> envp;
  envp.reserve(env.size() + 1);
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  const pid_t pid = ::fork();
  if (pid < 0) sys_error("fork for " + what, errno);
  if (pid == 0) {
    ::dup2(r.get(), STDIN_FILENO);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::execve(h.path.c_str(), argv.data(), envp.data());
    ::_exit(127);
  }
  r.reset();
  sys::PidFd pfd = sys::PidFd::open(pid);
  // A hook that does not read its stdin gets EPIPE here, not SIGPIPE.
  ::signal(SIGPIPE, SIG_IGN);
  size_t off = 0;
  while (off < state_json.size()) {
    ssize_t n = ::write(w.get(), state_json.data() + off, state_json.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    off += static_cast<size_t>(n);
  }
  w.reset();
  pollfd p{pfd.get(), POLLIN, 0};
  const int timeout_ms = h.timeout_s ? *h.timeout_s * 1000 : -1;
  int rc;
  do {
    rc = ::poll(&p, 1, timeout_ms);
  } while (rc < 0 && errno == EINTR);
  const bool timed_out = rc == 0;
  if (timed_out) pfd.send_signal(SIGKILL);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (timed_out)
    throw Error(ErrorKind::System, what + " (" + h.path + ") ran past its timeout of " +
                                       std::to_string(*h.timeout_s) + " s and was killed");
  if (WIFEXITED(status) && WEXITSTATUS(status) == 127 && ::access(h.path.c_str(), X_OK) != 0)
    usage_error(what + ": " + h.path + " is not an executable file (" + std::strerror(errno) + ")");
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    throw Error(ErrorKind::System, what + " (" + h.path + ") failed with exit status " +
                                       std::to_string(sys::exit_code_of(status)));
}

}  // namespace

std::string hook_state(const CellState& st, const char* status, pid_t pid) {
  const nlohmann::json j{{"ociVersion", kOciVersion}, {"id", st.id},
                         {"status", status},          {"pid", pid},
                         {"bundle", st.bundle},       {"annotations", st.annotations}};
  return j.dump();
}

void run_hooks(const std::vector<Hook>& hooks, const char* kind, const std::string& state_json) {
  for (size_t i = 0; i < hooks.size(); ++i)
    run_one(hooks[i], std::string("hooks.") + kind + "[" + std::to_string(i) + "]", state_json);
}

}  // namespace rtcell::cell
