// lock_memory()'s diagnosis, as a process without CAP_IPC_LOCK and with a
// small RLIMIT_MEMLOCK: the situation of an RT app in a default container.
// The check runs in a forked child (the limit and the uid change must not
// leak into the test binary); it reports back through a pipe.
#include <grp.h>
#include <gtest/gtest.h>
#include <malloc.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <functional>
#include <string>

#include "rtcell/error.hpp"
#include "rtcell/rt/arena.hpp"
#include "rtcell/rt/memory.hpp"

namespace rt = rtcell::rt;

namespace {

constexpr rlim_t kLimit = 64 * 1024;

// Runs `body` in a child with RLIMIT_MEMLOCK = `limit` and, when we are root,
// as uid/gid 65534 (which drops every capability, CAP_IPC_LOCK included).
// Returns "KIND|message" from the rtcell::Error the body threw, or a
// description of what went wrong instead.
std::string in_unprivileged_child(const std::function<void()>& body, rlim_t limit = kLimit) {
  int fds[2];
  if (pipe(fds) != 0) return "pipe failed";
  pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    std::string out;
    rlimit rl{limit, limit};
    if (setrlimit(RLIMIT_MEMLOCK, &rl) != 0) {
      out = "setrlimit failed";
    } else if (geteuid() == 0 && (setgroups(0, nullptr) != 0 || setgid(65534) != 0 || setuid(65534) != 0)) {
      out = "cannot drop to uid 65534";
    } else {
      try {
        body();
        out = "no error";
      } catch (const rtcell::Error& e) {
        out = std::to_string(static_cast<int>(e.kind())) + "|" + e.what();
      } catch (const std::exception& e) {
        out = std::string("other exception: ") + e.what();
      }
    }
    (void)!write(fds[1], out.data(), out.size());
    _exit(0);
  }
  close(fds[1]);
  std::string got;
  char buf[512];
  ssize_t n;
  while ((n = read(fds[0], buf, sizeof buf)) > 0) got.append(buf, static_cast<size_t>(n));
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  return got;
}

// Sanitizer runtimes intercept mlock/mlockall and make them no-ops (they
// cannot lock their own shadow memory), so the kernel never refuses there.
#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
#define SKIP_IF_SANITIZED() GTEST_SKIP() << "sanitizer build: mlock/mlockall are intercepted no-ops"
#else
#define SKIP_IF_SANITIZED() (void)0
#endif

bool has(const std::string& s, const char* part) {
  return s.find(part) != std::string::npos;
}

}  // namespace

TEST(RtMemory, LockMemoryExplainsALowMemlockLimit) {
  SKIP_IF_SANITIZED();
  const std::string got = in_unprivileged_child([] { rt::lock_memory(); });
  const std::string privilege = std::to_string(static_cast<int>(rtcell::ErrorKind::Privilege)) + "|";
  ASSERT_EQ(got.rfind(privilege, 0), 0u) << got;
  EXPECT_TRUE(has(got, "mlockall failed")) << got;
  EXPECT_TRUE(has(got, "RLIMIT_MEMLOCK is 64 KiB")) << got;
  EXPECT_TRUE(has(got, "the process maps")) << got;
  EXPECT_TRUE(has(got, "lacks CAP_IPC_LOCK")) << got;
  EXPECT_TRUE(has(got, "ulimit -l")) << got;
  EXPECT_EQ(got.find('\n'), std::string::npos) << "one line: " << got;
}

TEST(RtMemory, ArenaLockExplainsALowMemlockLimit) {
  SKIP_IF_SANITIZED();
  const std::string got = in_unprivileged_child([] { rt::Arena a(1024 * 1024); });
  const std::string privilege = std::to_string(static_cast<int>(rtcell::ErrorKind::Privilege)) + "|";
  ASSERT_EQ(got.rfind(privilege, 0), 0u) << got;
  EXPECT_TRUE(has(got, "Arena: mlock of 1 MiB")) << got;
  EXPECT_TRUE(has(got, "RLIMIT_MEMLOCK is 64 KiB but it needs 1 MiB more and lacks CAP_IPC_LOCK")) << got;
}

// After lock_memory() (MCL_FUTURE) every new heap page is locked on arrival,
// so growing the heap past RLIMIT_MEMLOCK fails inside malloc; prefault_heap
// says why instead of a bare ENOMEM. (MCL_FUTURE alone plus one locked page
// stands in for lock_memory(): MCL_CURRENT would need this whole test binary
// to fit under a limit we cannot raise without CAP_SYS_RESOURCE.)
TEST(RtMemory, PrefaultHeapUnderLockedMemoryExplainsTheLimit) {
  SKIP_IF_SANITIZED();
  const std::string got = in_unprivileged_child(
      [] {
        if (mlockall(MCL_FUTURE) != 0) throw rtcell::Error(rtcell::ErrorKind::System, "mlockall(MCL_FUTURE)");
        rt::Arena page(4096, {.lock = false});  // mapped under MCL_FUTURE: locked
        mallopt(M_MMAP_MAX, 0);                 // as lock_memory() does
        // More than any free heap the child inherits from the tests before it
        // (their freed memory is reused without new locked pages), so malloc
        // must grow the locked heap.
        rt::prefault_heap(256ULL << 20);
      },
      1ULL << 20);
  const std::string privilege = std::to_string(static_cast<int>(rtcell::ErrorKind::Privilege)) + "|";
  ASSERT_EQ(got.rfind(privilege, 0), 0u) << got;
  EXPECT_TRUE(has(got, "prefault_heap of 256 MiB (memory is locked")) << got;
  EXPECT_TRUE(has(got, "RLIMIT_MEMLOCK is 1 MiB but it needs 256 MiB more")) << got;
}

TEST(RtMemory, PrefaultedStackDoesNotFaultAgain) {
#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
  GTEST_SKIP() << "sanitizer build: shadow memory of the stack faults on its own schedule";
#endif
  rt::prefault_stack(128 * 1024);
  // Touching the same depth again must not grow the stack: a second call
  // finds the pages resident.
  rusage before{}, after{};
  getrusage(RUSAGE_THREAD, &before);
  rt::prefault_stack(128 * 1024);
  getrusage(RUSAGE_THREAD, &after);
  EXPECT_EQ(after.ru_minflt - before.ru_minflt, 0);
}
