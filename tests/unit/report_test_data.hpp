// Literal `rtcell latency --json` documents (schema rtcell.latency/1, see
// docs/bench.md) and bench runs built from them, shared by the report and
// bench unit tests. Written by hand against the agreed schema.
#pragma once

#include <string>

#include "report/bench_model.hpp"

namespace rtcell::testdata {

// A two-thread document: CPU 1 and CPU 2, 1 µs buckets, `scale` multiplies
// every latency (so a "worse" run is easy to make).
inline std::string latency_json(int scale = 1, const std::string& stopped_by = "duration") {
  auto t = [&](int thread, int cpu, int base) {
    const int s = scale;
    return std::string(R"({"thread":)") + std::to_string(thread) + R"(,"tid":)" +
           std::to_string(1000 + thread) + R"(,"cpu":)" + std::to_string(cpu) +
           R"(,"policy":"fifo:80","interval_ns":200000,"samples":1000,)" + R"("min_ns":)" +
           std::to_string(base * s * 1000) + R"(,"avg_ns":)" + std::to_string(base * s * 1000 + 500) +
           R"(,"max_ns":)" + std::to_string(40 * s * 1000 + 123) + R"(,"percentiles":{"p50":)" +
           std::to_string((base + 1) * s * 1000) + R"(,"p90":)" + std::to_string((base + 2) * s * 1000) +
           R"(,"p99":)" + std::to_string((base + 5) * s * 1000) + R"(,"p99.9":)" +
           std::to_string((base + 9) * s * 1000) + R"(,"p99.99":)" + std::to_string(40 * s * 1000 + 123) +
           R"(},"percentiles_in_overflow":[],"histogram":{"bucket_ns":1000,"counts":[0,0,0,)" +
           (s == 1 ? "500,300,150,40,9,0,0,0" : "0,0,0,500,300,150,40,9") + R"(]},)" +
           R"("overflows":{"count":1,"truncated":false,"samples":[{"index":77,"ns":)" +
           std::to_string(40 * s * 1000 + 123) + R"(}]}})";
  };
  return std::string(R"({"schema":"rtcell.latency/1","config":{"interval_ns":200000,"priority":80},)") +
         R"("host":{"kernel_release":"6.18.44","kernel_version":"#1 SMP PREEMPT_DYNAMIC","preempt_model":"dynamic",)" +
         R"("preempt_source":"uname","cmdline":"quiet","cpu_model":"Test CPU","machine":"x86_64",)" +
         R"("online_cpus":"0-2","isolated_cpus":""},"threads":[)" + t(0, 1, 3) + "," + t(1, 2, 4) +
         R"(],"total":{"samples":2000,"min_ns":)" + std::to_string(3 * scale * 1000) + R"(,"avg_ns":)" +
         std::to_string(4 * scale * 1000) + R"(,"max_ns":)" + std::to_string(40 * scale * 1000 + 123) +
         R"(,"percentiles":{"p50":)" + std::to_string(5 * scale * 1000) + R"(,"p90":)" +
         std::to_string(6 * scale * 1000) + R"(,"p99":)" + std::to_string(9 * scale * 1000) + R"(,"p99.9":)" +
         std::to_string(13 * scale * 1000) + R"(,"p99.99":)" + std::to_string(40 * scale * 1000 + 123) +
         R"(},"percentiles_in_overflow":[],"histogram":{"bucket_ns":1000,"counts":[0,0,0,1000,600,300,80,18]},)" +
         R"("overflows":{"count":2,"truncated":false,"samples":[{"index":77,"ns":)" +
         std::to_string(40 * scale * 1000 + 123) + R"(}]}},"stopped_by":")" + stopped_by +
         R"(","breaktrace":null})";
}

// A bench run: native idle/load with figures, a cell row with figures
// (`cell_scale` times the native latencies), and a skipped podman row.
inline report::BenchRun bench_run(int cell_scale = 2) {
  report::BenchRun run;
  run.rtcell_version = "0.1.0";
  run.started_at = "2026-11-22T08:00:00Z";
  run.finished_at = "2026-11-22T08:01:00Z";
  run.config = {{"cpus", "1-2"}, {"duration_s", 15.0}, {"interval_us", 200}, {"repeat", 1}};
  run.host = {{"kernel_release", "6.18.44"}, {"preempt_model", "dynamic"}, {"cpu_model", "Test <CPU> & co"},
              {"online_cpus", "0-2"},        {"isolated_cpus", ""},        {"governor", "none (no cpufreq)"}};
  run.checks = nullptr;
  run.checks_note = "rtcell check not available";
  auto row = [](std::string id, std::string label, std::string kind, bool load, std::string base, int scale) {
    report::RowResult r;
    r.id = std::move(id);
    r.label = std::move(label);
    r.kind = std::move(kind);
    r.load = load;
    r.baseline = std::move(base);
    r.status = report::RowStatus::Ok;
    r.repeats.push_back(report::parse_latency_json(latency_json(scale)));
    r.summary = report::summarize(r.repeats);
    return r;
  };
  run.rows.push_back(row("native-idle", "native, idle", "native", false, "", 1));
  run.rows.push_back(row("native-load", "native, load", "native", true, "", 1));
  run.rows.push_back(row("cell-load", "cell (host net), load", "cell", true, "native-load", cell_scale));
  report::RowResult skipped;
  skipped.id = "podman-load";
  skipped.label = "podman runc, load";
  skipped.kind = "podman-runc";
  skipped.load = true;
  skipped.baseline = "native-load";
  skipped.status = report::RowStatus::Skipped;
  skipped.reason = "podman not installed";
  run.rows.push_back(skipped);
  return run;
}

}  // namespace rtcell::testdata
