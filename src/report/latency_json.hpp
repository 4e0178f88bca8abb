// `rtcell latency --json`: the schema "rtcell.latency/1", documented in
// docs/latency.md. `rtcell bench` reads it back, so field names are a
// contract: add fields freely, never rename or drop one without bumping the
// schema version.
#pragma once

#include <nlohmann/json.hpp>

#include "host/facts.hpp"
#include "measure/latency.hpp"

namespace rtcell::report {

inline constexpr const char* kLatencySchema = "rtcell.latency/1";

// The percentiles every latency report carries, in this order.
struct PercentileSpec {
  const char* name;
  double q;
};
inline constexpr PercentileSpec kLatencyPercentiles[] = {
    {"p50", 0.50}, {"p90", 0.90}, {"p99", 0.99}, {"p99.9", 0.999}, {"p99.99", 0.9999}};

nlohmann::json latency_json(const measure::LatencyConfig& config, const measure::LatencyResult& result,
                            const host::HostFacts& host);

// One histogram's summary fields (samples, min/avg/max, percentiles,
// histogram, overflows): the part shared by each thread and the total.
nlohmann::json histogram_json(const rt::Histogram& h);

}  // namespace rtcell::report
