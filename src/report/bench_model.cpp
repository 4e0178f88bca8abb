// Parsing and serialising the result structs. The latency schema is the one
// `rtcell latency --json` writes (docs/bench.md); readers are strict about the
// fields the renderers need and keep unknown fields of config/host as they are.
#include "report/bench_model.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "rtcell/error.hpp"

namespace rtcell::report {

using nlohmann::json;

namespace {

constexpr std::string_view kLatencySchemaName = "rtcell.latency/1";

// Integers from outside files: a float or an out-of-range number must not
// reach a C++ conversion (float-to-int overflow is undefined behaviour).
int64_t to_i64(const json& v, const std::string& what) {
  if (v.is_number_unsigned()) {
    if (v.get<uint64_t>() > static_cast<uint64_t>(INT64_MAX)) usage_error(what + " is out of range");
    return static_cast<int64_t>(v.get<uint64_t>());
  }
  if (v.is_number_integer()) return v.get<int64_t>();
  if (v.is_number_float()) {
    double d = v.get<double>();
    if (!std::isfinite(d) || d < -9.2e18 || d > 9.2e18) usage_error(what + " is out of range");
    return static_cast<int64_t>(d);
  }
  usage_error(what + " is not a number");
}

uint64_t to_u64(const json& v, const std::string& what) {
  int64_t x = to_i64(v, what);
  if (x < 0) usage_error(what + " is negative");
  return static_cast<uint64_t>(x);
}

// a - b, saturated: figures read from a file may be anything in int64.
int64_t delta_ns(int64_t a, int64_t b) {
  int64_t d = 0;
  if (__builtin_sub_overflow(a, b, &d)) return a > b ? INT64_MAX : INT64_MIN;
  return d;
}

// j[key] as an integer, or `def` when absent or null.
int64_t opt_i64(const json& j, const char* key, int64_t def) {
  if (!j.is_object() || !j.contains(key) || j.at(key).is_null()) return def;
  return to_i64(j.at(key), std::string("\"") + key + "\"");
}
uint64_t opt_u64(const json& j, const char* key, uint64_t def) {
  if (!j.is_object() || !j.contains(key) || j.at(key).is_null()) return def;
  return to_u64(j.at(key), std::string("\"") + key + "\"");
}

const json& field(const json& j, const char* name, const char* where) {
  if (!j.is_object() || !j.contains(name))
    usage_error(std::string("latency JSON: ") + where + " lacks \"" + name + "\"");
  return j.at(name);
}

int64_t int_field(const json& j, const char* name, const char* where) {
  const json& v = field(j, name, where);
  if (!v.is_number()) usage_error(std::string("latency JSON: ") + where + "." + name + " is not a number");
  return to_i64(v, std::string("latency JSON: ") + where + "." + name);
}

LatencyStats stats_from_json(const json& j, const char* where) {
  LatencyStats s;
  s.thread = static_cast<int>(opt_i64(j, "thread", -1));
  s.tid = static_cast<int>(opt_i64(j, "tid", 0));
  s.cpu = static_cast<int>(opt_i64(j, "cpu", -1));
  s.policy = j.value("policy", "");
  s.interval_ns = opt_i64(j, "interval_ns", 0);
  s.samples = to_u64(field(j, "samples", where), std::string("latency JSON: ") + where + ".samples");
  s.min_ns = int_field(j, "min_ns", where);
  const json& avg = field(j, "avg_ns", where);
  if (!avg.is_number()) usage_error(std::string("latency JSON: ") + where + ".avg_ns is not a number");
  s.avg_ns = avg.get<double>();
  s.max_ns = int_field(j, "max_ns", where);
  if (j.contains("percentiles") && j.at("percentiles").is_object()) {
    for (const auto& [k, v] : j.at("percentiles").items())
      if (v.is_number()) s.percentiles[k] = to_i64(v, "percentile " + k);
  }
  if (j.contains("percentiles_in_overflow") && j.at("percentiles_in_overflow").is_array())
    for (const auto& v : j.at("percentiles_in_overflow"))
      if (v.is_string()) s.percentiles_in_overflow.push_back(v.get<std::string>());
  if (j.contains("histogram") && j.at("histogram").is_object()) {
    const json& h = j.at("histogram");
    s.bucket_ns = opt_i64(h, "bucket_ns", 1000);
    if (s.bucket_ns <= 0)
      usage_error(std::string("latency JSON: ") + where + ".histogram.bucket_ns must be > 0");
    if (h.contains("counts") && h.at("counts").is_array())
      for (const auto& c : h.at("counts")) s.counts.push_back(to_u64(c, "histogram count"));
  }
  if (j.contains("overflows") && j.at("overflows").is_object()) {
    const json& o = j.at("overflows");
    s.overflow_count = opt_u64(o, "count", 0);
    s.overflow_truncated = o.value("truncated", false);
    if (o.contains("samples") && o.at("samples").is_array())
      for (const auto& e : o.at("samples"))
        s.overflow_samples.emplace_back(opt_u64(e, "index", 0), opt_i64(e, "ns", 0));
  }
  return s;
}

json stats_to_json(const LatencyStats& s, bool is_total) {
  json j = json::object();
  if (!is_total) {
    j["thread"] = s.thread;
    j["tid"] = s.tid;
    j["cpu"] = s.cpu;
    j["policy"] = s.policy;
    j["interval_ns"] = s.interval_ns;
  }
  j["samples"] = s.samples;
  j["min_ns"] = s.min_ns;
  j["avg_ns"] = s.avg_ns;
  j["max_ns"] = s.max_ns;
  j["percentiles"] = s.percentiles;
  j["percentiles_in_overflow"] = s.percentiles_in_overflow;
  j["histogram"] = {{"bucket_ns", s.bucket_ns}, {"counts", s.counts}};
  json samples = json::array();
  for (const auto& [index, ns] : s.overflow_samples) samples.push_back({{"index", index}, {"ns", ns}});
  j["overflows"] = {{"count", s.overflow_count}, {"truncated", s.overflow_truncated}, {"samples", samples}};
  return j;
}

json summary_to_json(const Summary& s) {
  return {{"samples", s.samples}, {"min_ns", s.min_ns},    {"avg_ns", s.avg_ns}, {"p50_ns", s.p50_ns},
          {"p99_ns", s.p99_ns},   {"p99.9_ns", s.p999_ns}, {"max_ns", s.max_ns}};
}

Summary summary_from_json(const json& j) {
  Summary s;
  s.samples = opt_u64(j, "samples", 0);
  s.min_ns = opt_i64(j, "min_ns", 0);
  s.avg_ns = j.value("avg_ns", 0.0);
  s.p50_ns = opt_i64(j, "p50_ns", 0);
  s.p99_ns = opt_i64(j, "p99_ns", 0);
  s.p999_ns = opt_i64(j, "p99.9_ns", 0);
  s.max_ns = opt_i64(j, "max_ns", 0);
  return s;
}

void add_counts(CpuSeries& into, const LatencyStats& s) {
  if (into.counts.empty()) into.bucket_ns = s.bucket_ns;
  // Histograms of another bucket width cannot be summed bucket by bucket;
  // every repeat of one bench uses the same engine settings, so this only
  // guards against mixed documents.
  if (s.bucket_ns != into.bucket_ns) return;
  if (into.counts.size() < s.counts.size()) into.counts.resize(s.counts.size(), 0);
  for (size_t i = 0; i < s.counts.size(); ++i) into.counts[i] += s.counts[i];
  into.overflow_count += s.overflow_count;
  into.max_ns = std::max(into.max_ns, s.max_ns);
}

}  // namespace

std::optional<int64_t> LatencyStats::percentile(const std::string& name) const {
  auto it = percentiles.find(name);
  if (it == percentiles.end()) return std::nullopt;
  return it->second;
}

LatencyRun latency_from_json(const json& j) {
  if (!j.is_object()) usage_error("latency JSON: not an object");
  std::string schema = j.value("schema", "");
  if (schema != kLatencySchemaName)
    usage_error("latency JSON: schema is \"" + schema + "\", expected \"" + std::string(kLatencySchemaName) +
                "\"");
  LatencyRun r;
  if (j.contains("config")) r.config = j.at("config");
  if (j.contains("host")) r.host = j.at("host");
  const json& threads = field(j, "threads", "document");
  if (!threads.is_array()) usage_error("latency JSON: \"threads\" is not an array");
  for (const auto& t : threads) r.threads.push_back(stats_from_json(t, "threads[]"));
  r.total = stats_from_json(field(j, "total", "document"), "total");
  r.stopped_by = j.value("stopped_by", "");
  if (j.contains("breaktrace")) r.breaktrace = j.at("breaktrace");
  if (j.contains("trace")) r.trace = j.at("trace");
  return r;
}

LatencyRun parse_latency_json(std::string_view text) {
  json j;
  try {
    j = json::parse(text);
  } catch (const json::exception& e) {
    usage_error(std::string("latency JSON does not parse: ") + e.what());
  }
  try {
    return latency_from_json(j);
  } catch (const json::exception& e) {
    usage_error(std::string("latency JSON: a field has the wrong type: ") + e.what());
  }
}

json latency_to_json(const LatencyRun& r) {
  json j = json::object();
  j["schema"] = kLatencySchemaName;
  j["config"] = r.config;
  j["host"] = r.host;
  json threads = json::array();
  for (const auto& t : r.threads) threads.push_back(stats_to_json(t, false));
  j["threads"] = threads;
  j["total"] = stats_to_json(r.total, true);
  j["stopped_by"] = r.stopped_by;
  j["breaktrace"] = r.breaktrace;
  if (!r.trace.is_null()) j["trace"] = r.trace;
  return j;
}

std::string to_string(RowStatus s) {
  switch (s) {
    case RowStatus::Ok:
      return "ok";
    case RowStatus::Partial:
      return "partial";
    case RowStatus::Skipped:
      return "skipped";
    case RowStatus::Failed:
      return "failed";
  }
  return "failed";
}

RowStatus parse_row_status(std::string_view s) {
  if (s == "ok") return RowStatus::Ok;
  if (s == "partial") return RowStatus::Partial;
  if (s == "skipped") return RowStatus::Skipped;
  if (s == "failed") return RowStatus::Failed;
  usage_error("bench JSON: unknown row status \"" + std::string(s) + "\"");
}

const RowResult* BenchRun::find_row(std::string_view row_id) const {
  for (const auto& r : rows)
    if (r.id == row_id) return &r;
  return nullptr;
}

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

std::optional<Summary> summarize(const std::vector<LatencyRun>& repeats) {
  std::vector<double> mins, avgs, p50s, p99s, p999s, maxs;
  Summary s;
  for (const auto& r : repeats) {
    const LatencyStats& t = r.total;
    if (t.samples == 0) continue;
    s.samples += t.samples;
    mins.push_back(static_cast<double>(t.min_ns));
    avgs.push_back(t.avg_ns);
    maxs.push_back(static_cast<double>(t.max_ns));
    // A percentile the engine could not give falls back to max: never
    // optimistic.
    p50s.push_back(static_cast<double>(t.percentile("p50").value_or(t.max_ns)));
    p99s.push_back(static_cast<double>(t.percentile("p99").value_or(t.max_ns)));
    p999s.push_back(static_cast<double>(t.percentile("p99.9").value_or(t.max_ns)));
  }
  if (mins.empty()) return std::nullopt;
  auto ns = [](double v) { return static_cast<int64_t>(std::llround(v)); };
  s.min_ns = ns(median(mins));
  s.avg_ns = median(avgs);
  s.p50_ns = ns(median(p50s));
  s.p99_ns = ns(median(p99s));
  s.p999_ns = ns(median(p999s));
  s.max_ns = ns(median(maxs));
  return s;
}

std::vector<CpuSeries> per_cpu_series(const RowResult& row) {
  std::map<int, CpuSeries> by_cpu;
  for (const auto& r : row.repeats)
    for (const auto& t : r.threads) {
      CpuSeries& s = by_cpu[t.cpu];
      s.cpu = t.cpu;
      add_counts(s, t);
    }
  std::vector<CpuSeries> out;
  out.reserve(by_cpu.size());
  for (auto& [cpu, s] : by_cpu) out.push_back(std::move(s));
  return out;
}

CpuSeries total_series(const RowResult& row) {
  CpuSeries s;
  for (const auto& r : row.repeats) add_counts(s, r.total);
  return s;
}

json bench_to_json(const BenchRun& run) {
  json j = json::object();
  j["schema"] = kBenchSchema;
  if (run.id) j["id"] = run.id;
  j["rtcell_version"] = run.rtcell_version;
  j["started_at"] = run.started_at;
  j["finished_at"] = run.finished_at;
  j["partial"] = run.partial;
  j["interrupted_by"] = run.interrupted_by.empty() ? json(nullptr) : json(run.interrupted_by);
  j["config"] = run.config;
  j["host"] = run.host;
  j["checks"] = run.checks;
  j["checks_note"] = run.checks_note;
  json rows = json::array();
  for (const auto& r : run.rows) {
    json row = {{"id", r.id},
                {"label", r.label},
                {"kind", r.kind},
                {"load", r.load},
                {"baseline", r.baseline.empty() ? json(nullptr) : json(r.baseline)},
                {"status", to_string(r.status)},
                {"reason", r.reason},
                {"command", r.command}};
    row["summary"] = r.summary ? summary_to_json(*r.summary) : json(nullptr);
    json delta = nullptr;
    if (const RowResult* base = run.find_row(r.baseline); base && base->summary && r.summary) {
      delta = {{"avg_ns", r.summary->avg_ns - base->summary->avg_ns},
               {"p99_ns", delta_ns(r.summary->p99_ns, base->summary->p99_ns)},
               {"p99.9_ns", delta_ns(r.summary->p999_ns, base->summary->p999_ns)},
               {"max_ns", delta_ns(r.summary->max_ns, base->summary->max_ns)}};
    }
    row["delta"] = delta;
    json reps = json::array();
    for (const auto& rep : r.repeats) reps.push_back(latency_to_json(rep));
    row["repeats"] = reps;
    rows.push_back(row);
  }
  j["rows"] = rows;
  return j;
}

BenchRun bench_from_json(const json& j) {
  if (!j.is_object()) usage_error("bench JSON: not an object");
  std::string schema = j.value("schema", "");
  if (schema != kBenchSchema)
    usage_error("bench JSON: schema is \"" + schema + "\", expected \"" + std::string(kBenchSchema) + "\"");
  BenchRun run;
  try {
    run.id = opt_i64(j, "id", 0);
    run.rtcell_version = j.value("rtcell_version", "");
    run.started_at = j.value("started_at", "");
    run.finished_at = j.value("finished_at", "");
    run.partial = j.value("partial", false);
    if (j.contains("interrupted_by") && j.at("interrupted_by").is_string())
      run.interrupted_by = j.at("interrupted_by").get<std::string>();
    if (j.contains("config")) run.config = j.at("config");
    if (j.contains("host")) run.host = j.at("host");
    if (j.contains("checks")) run.checks = j.at("checks");
    run.checks_note = j.value("checks_note", "");
    if (!j.contains("rows") || !j.at("rows").is_array()) usage_error("bench JSON: \"rows\" is missing");
    for (const auto& row : j.at("rows")) {
      RowResult r;
      r.id = row.at("id").get<std::string>();
      r.label = row.value("label", r.id);
      r.kind = row.value("kind", "");
      r.load = row.value("load", false);
      if (row.contains("baseline") && row.at("baseline").is_string())
        r.baseline = row.at("baseline").get<std::string>();
      r.status = parse_row_status(row.value("status", "failed"));
      r.reason = row.value("reason", "");
      r.command = row.value("command", "");
      if (row.contains("summary") && row.at("summary").is_object())
        r.summary = summary_from_json(row.at("summary"));
      if (row.contains("repeats") && row.at("repeats").is_array())
        for (const auto& rep : row.at("repeats")) r.repeats.push_back(latency_from_json(rep));
      run.rows.push_back(std::move(r));
    }
  } catch (const json::exception& e) {
    usage_error(std::string("bench JSON: a field has the wrong type: ") + e.what());
  }
  return run;
}

BenchRun parse_bench_json(std::string_view text) {
  json j;
  try {
    j = json::parse(text);
  } catch (const json::exception& e) {
    usage_error(std::string("bench JSON does not parse: ") + e.what());
  }
  return bench_from_json(j);
}

}  // namespace rtcell::report
