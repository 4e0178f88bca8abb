#include "emit/xen.hpp"

#include <map>
#include <set>

#include "rtcell/error.hpp"

namespace rtcell::emit {

namespace {

std::string quoted_list(const std::vector<std::string>& items) {
  std::string s = "[";
  for (size_t i = 0; i < items.size(); ++i) s += (i ? ", \"" : "\"") + items[i] + "\"";
  return s + "]";
}

std::string header(const manifest::Manifest& m) {
  return "# Written by rtcell emit xen from " + m.file +
         "; regenerate rather than edit (docs/hypervisor.md).\n";
}

// The VMs of one cpupool and the pCPUs their vCPUs were placed on.
struct Pool {
  std::vector<size_t> vms;
  std::set<int> cpus;
};

void check_admitted(const manifest::Manifest& m, const analysis::VmAdmitResult& r) {
  if (r.vms.size() != m.vms.size()) usage_error("internal: the VM verdict does not match the manifest");
  for (const auto& v : r.vms) {
    if (!v.admitted)
      usage_error("vm " + v.name + " is not admitted (run rtcell admit " + m.file +
                  " to see why); nothing written");
    for (const auto& c : v.vcpus) {
      if (c.budget < kXenMinBudgetNs)
        usage_error("vm " + v.name + " vCPU " + std::to_string(c.index) + ": budget " +
                    std::to_string(c.budget / 1000) +
                    " us is under Xen RTDS's 10 us minimum (RTDS_MIN_BUDGET); give the vCPU a task or a "
                    "longer period, or remove it");
      if (c.period < kXenMinPeriodNs)
        usage_error(
            "vm " + v.name + " vCPU " + std::to_string(c.index) + ": period " +
            std::to_string(c.period / 1000) +
            " us is under Xen RTDS's 10 us minimum (RTDS_MIN_PERIOD); set a longer period: for the vm");
    }
  }
}

std::map<std::string, Pool> pools_of(const manifest::Manifest& m, const analysis::VmAdmitResult& r) {
  std::map<std::string, Pool> pools;
  for (size_t i = 0; i < m.vms.size(); ++i) {
    Pool& p = pools[m.vms[i].pool.value_or(manifest::kDefaultPool)];
    p.vms.push_back(i);
    for (const auto& c : r.vms[i].vcpus) p.cpus.insert(c.pcpu);
  }
  std::map<int, std::string> owner;
  for (const auto& [name, p] : pools) {
    if (name == "Pool-0") usage_error("pool: Pool-0 is Xen's own cpupool (dom0's); name another pool");
    for (int cpu : p.cpus) {
      auto [it, fresh] = owner.emplace(cpu, name);
      if (!fresh)
        usage_error("cpupools " + it->second + " and " + name + " both need CPU " + std::to_string(cpu) +
                    " (a CPU belongs to one Xen cpupool); give their VMs the same pool: or other CPUs");
    }
    for (size_t i : p.vms)
      if (m.vms[i].vcpus.size() > p.cpus.size())
        usage_error("vm " + m.vms[i].name + " has " + std::to_string(m.vms[i].vcpus.size()) +
                    " vCPUs but its cpupool " + name + " only " + std::to_string(p.cpus.size()) +
                    " physical CPUs; give its vCPUs distinct CPUs or use fewer vCPUs");
  }
  return pools;
}

std::string xl_cfg(const manifest::Manifest& m, const manifest::VmDecl& vm, const analysis::VmVerdict& v) {
  std::string s = header(m);
  s += "name = \"" + vm.name + "\"\n";
  s += "type = \"" + vm.type + "\"\n";
  s += "memory = " + std::to_string(vm.memory_mib) + "\n";
  s += "maxmem = " + std::to_string(vm.memory_mib) + "\n";
  s += "vcpus = " + std::to_string(vm.vcpus.size()) + "\n";
  std::vector<std::string> affinity;
  for (const auto& c : v.vcpus) affinity.push_back(std::to_string(c.pcpu));
  s += "# vCPU i runs only on the physical CPU the admission placed it on.\n";
  s += "cpus = " + quoted_list(affinity) + "\n";
  s += "pool = \"" + vm.pool.value_or(manifest::kDefaultPool) + "\"\n";
  if (vm.kernel)
    s += "kernel = \"" + *vm.kernel + "\"\n";
  else
    s += "# kernel = \"/path/to/guest/vmlinuz\"  (set kernel: in the manifest; xl create needs one)\n";
  return s;
}

std::string pool_cfg(const manifest::Manifest& m, const std::string& name, const Pool& p) {
  std::vector<std::string> cpus;
  for (int c : p.cpus) cpus.push_back(std::to_string(c));
  std::string s = header(m);
  s += "name = \"" + name + "\"\n";
  s += "sched = \"rtds\"\n";
  s += "cpus = " + quoted_list(cpus) + "\n";
  return s;
}

std::string apply_sh(const manifest::Manifest& m, const analysis::VmAdmitResult& r,
                     const std::map<std::string, Pool>& pools) {
  std::string s = "#!/bin/sh\n" + header(m);
  s += "# Applies the admitted configuration in order; stops at the first failure.\n";
  s += "set -eu\ncd \"$(dirname \"$0\")\"\n\n";
  for (const auto& [name, p] : pools) {
    s += "# cpupool " + name + ": its CPUs must be free (out of Pool-0) first.\n";
    for (int cpu : p.cpus) s += "xl cpupool-cpu-remove Pool-0 " + std::to_string(cpu) + "\n";
    s += "xl cpupool-create " + name + ".pool\n";
  }
  for (size_t i = 0; i < m.vms.size(); ++i) {
    const auto& vm = m.vms[i];
    s += "\n# vm " + vm.name + ": created paused, its RTDS servers set, then unpaused.\n";
    s += "xl create -p " + vm.name + ".cfg\n";
    for (const auto& c : r.vms[i].vcpus)
      s += "xl sched-rtds -d " + vm.name + " -v " + std::to_string(c.index) + " -p " +
           std::to_string(c.period / 1000) + " -b " + std::to_string(c.budget / 1000) + " -e 0\n";
    s += "xl unpause " + vm.name + "\n";
  }
  return s;
}

}  // namespace

std::vector<sys::FileEntry> emit_xen(const manifest::Manifest& m, const analysis::VmAdmitResult& r) {
  if (m.vms.empty()) usage_error(m.file + " has no vms: add a vms: section (docs/hypervisor.md)");
  check_admitted(m, r);
  const auto pools = pools_of(m, r);
  std::vector<sys::FileEntry> out;
  for (size_t i = 0; i < m.vms.size(); ++i)
    out.push_back({m.vms[i].name + ".cfg", xl_cfg(m, m.vms[i], r.vms[i])});
  for (const auto& [name, p] : pools) out.push_back({name + ".pool", pool_cfg(m, name, p)});
  out.push_back({"apply.sh", apply_sh(m, r, pools), 0755});
  return out;
}

}  // namespace rtcell::emit
