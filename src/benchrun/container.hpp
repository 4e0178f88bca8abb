// The podman rows: the same probe inside `podman --runtime runc` and
// `podman --runtime crun` containers, for comparison with rtcell's cells.
//
// Running an RT probe in podman needs host changes that rtcell's cells make
// unnecessary (DESIGN.md, "Running cyclictest in podman"): an RT budget in
// the parent cgroup (cgroup v1 with RT group scheduling gives a new group
// runtime 0, see Documentation/scheduler/sched-rt-group.rst), IPC_LOCK for
// mlockall, explicit rlimits, the cpu_dma_latency device and a root
// filesystem holding the binary. ContainerHost applies the budget for the
// duration of the podman rows and restores the old value in finish() (and
// its destructor), builds a throw-away rootfs in the work directory, and runs
// a pre-flight container so that a host where podman cannot work gives a
// skipped row with podman's own reason instead of a failed one.
#pragma once

#include <string>
#include <vector>

#include "benchrun/child.hpp"
#include "benchrun/spec.hpp"

namespace rtcell::benchrun {

class ContainerHost {
 public:
  ContainerHost() = default;
  ContainerHost(const ContainerHost&) = delete;
  ContainerHost& operator=(const ContainerHost&) = delete;
  ~ContainerHost();

  // "" when a row of this kind can run now, else why not (pre-flight result;
  // applies the host's RT budget on first use).
  std::string prepare(RowKind kind, const BenchOptions& opt, SignalPipe& sp);
  std::vector<std::string> command(RowKind kind, const std::string& name, const BenchOptions& opt) const;
  // Stops and removes the named container (Ctrl-C while it runs).
  void remove(const std::string& name, SignalPipe& sp, const std::string& work_dir);
  // Restores every host change.
  void finish() noexcept;

 private:
  std::vector<std::string> base_args(RowKind kind, const std::string& name, const BenchOptions& opt) const;
  std::string rootfs_;
  std::string rt_parent_;  // the cgroup whose budget we raised
  std::string rt_old_;     // its value before
  bool created_parent_ = false;
  std::string preflight_[3];  // per runtime (runc, crun, rtcell): "" not tried, "ok", or the reason
};

}  // namespace rtcell::benchrun
