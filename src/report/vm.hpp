// `rtcell admit` output for the VMs of a manifest (analysis/vm.hpp): per VM
// the verdict, each vCPU's server (Π, Θ), its pCPU and worst service gap
// 2(Π − Θ), then the EDF bandwidth per physical CPU. Pure: verdict in, text
// or JSON out.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "rtcell/analysis/vm.hpp"

namespace rtcell::report {

std::string vm_admit_text(const analysis::VmAdmitResult& r);
nlohmann::json vm_admit_json(const analysis::VmAdmitResult& r);

}  // namespace rtcell::report
