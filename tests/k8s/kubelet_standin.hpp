// A kubelet stand-in for the device-plugin tests: the kubelet's
// Registration service on a unix socket (records each RegisterRequest and
// wakes whoever waits for it), and the plugin as a child process, killed
// and reaped if a test ends early. Used by device_plugin_test.cpp and by
// cri_test.cpp (the device plugin's Allocate feeding a CRI container).
#pragma once

#include <fcntl.h>
#include <grpcpp/grpcpp.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "deviceplugin.grpc.pb.h"

extern char** environ;

namespace rtcell::test::kubelet {

using namespace std::chrono_literals;

inline std::chrono::system_clock::time_point deadline(std::chrono::seconds s = 60s) {
  return std::chrono::system_clock::now() + s;
}

// The kubelet's Registration service.
class Kubelet final : public v1beta1::Registration::Service {
 public:
  grpc::Status Register(grpc::ServerContext*, const v1beta1::RegisterRequest* req, v1beta1::Empty*) override {
    std::lock_guard lk(m_);
    regs_.push_back(*req);
    cv_.notify_all();
    return grpc::Status::OK;
  }
  // The first `n` registrations, or fewer when the deadline passes.
  std::vector<v1beta1::RegisterRequest> wait_for(size_t n) {
    std::unique_lock lk(m_);
    cv_.wait_until(lk, deadline(), [&] { return regs_.size() >= n; });
    return regs_;
  }
  void clear() {
    std::lock_guard lk(m_);
    regs_.clear();
  }

 private:
  std::mutex m_;
  std::condition_variable cv_;
  std::vector<v1beta1::RegisterRequest> regs_;
};

inline std::unique_ptr<grpc::Server> serve(Kubelet& k, const std::string& path) {
  grpc::ServerBuilder b;
  b.AddListeningPort("unix:" + path, grpc::InsecureServerCredentials());
  b.RegisterService(&k);
  return b.BuildAndStart();
}

// The plugin process; killed and reaped if a test ends early.
struct Child {
  pid_t pid = -1;
  Child() = default;
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;
  ~Child() {
    if (pid > 0) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
    }
  }
  int wait() {
    int st = 0;
    ::waitpid(pid, &st, 0);
    pid = -1;
    return st;
  }
};

inline pid_t spawn(const std::vector<std::string>& args, const std::string& err_file) {
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 2, err_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  // The test's own blocked signals must not leak into the plugin (it
  // blocks what it takes itself).
  posix_spawnattr_t at;
  posix_spawnattr_init(&at);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&at, &none);
  posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK);
  pid_t pid = -1;
  int rc = posix_spawn(&pid, argv[0], &fa, &at, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&at);
  return rc == 0 ? pid : -1;
}

}  // namespace rtcell::test::kubelet
