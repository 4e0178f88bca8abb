#include "report/host_json.hpp"

namespace rtcell::report {

nlohmann::json host_facts_json(const host::HostFacts& f) {
  return {{"kernel_release", f.kernel_release},
          {"kernel_version", f.kernel_version},
          {"preempt_model", f.preempt_model},
          {"preempt_source", f.preempt_source},
          {"cmdline", f.cmdline},
          {"cpu_model", f.cpu_model},
          {"machine", f.machine},
          {"online_cpus", f.online_cpus.to_string()},
          {"isolated_cpus", f.isolated_cpus.to_string()}};
}

}  // namespace rtcell::report
