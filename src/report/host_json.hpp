// The host facts as every report carries them: the "host" object of a
// latency document (docs/latency.md) and, with what a bench adds (hostname,
// governor), of a bench run (docs/bench.md). One writer, so the two schemas
// cannot drift apart; field names are a contract of both.
#pragma once

#include <nlohmann/json.hpp>

#include "host/facts.hpp"

namespace rtcell::report {

nlohmann::json host_facts_json(const host::HostFacts& f);

}  // namespace rtcell::report
