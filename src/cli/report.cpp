// rtcell report: the bench history. list, show (table or HTML), compare two
// runs (exit 1 when B regressed), import a saved bench JSON.
// A run is named by its history id, "latest", or a path to a bench JSON file.
#include <cstdio>
#include <iostream>

#include "cli/command.hpp"
#include "report/compare.hpp"
#include "report/history.hpp"
#include "report/render.hpp"
#include "rtcell/error.hpp"
#include "sys/file.hpp"
#include "util/units.hpp"

namespace rtcell::cli {

namespace {

struct ReportFlags {
  std::string db;
  bool json = false;
  std::string html;
  std::string id;
  std::string a, b;
  std::string tolerance = "10%";
  std::string min_delta = "1us";
  std::string file;
  bool broken = false;
};

bool all_digits(const std::string& s) {
  return !s.empty() && s.find_first_not_of("0123456789") == std::string::npos;
}

std::string db_path(const ReportFlags& f) {
  return f.db.empty() ? report::default_history_path() : f.db;
}

report::BenchRun load_run(const ReportFlags& f, const std::string& name) {
  if (all_digits(name) || name == "latest") {
    report::History h = report::History::open(db_path(f));
    int64_t id = 0;
    if (name == "latest") {
      auto runs = h.list();
      if (runs.empty()) usage_error("history " + h.path() + " is empty: run rtcell bench first");
      id = runs.back().id;
    } else {
      id = std::stoll(name);
    }
    return h.load(id);
  }
  auto text = sys::try_read_file(name);
  if (!text)
    usage_error("\"" + name +
                "\" is neither a run id (see rtcell report list) nor a readable bench JSON file");
  return report::parse_bench_json(*text);
}

double parse_tolerance(const std::string& text) {
  std::string t = text;
  bool percent = !t.empty() && t.back() == '%';
  if (percent) t.pop_back();
  char* end = nullptr;
  double v = std::strtod(t.c_str(), &end);
  if (t.empty() || *end != '\0' || v < 0 || v > 1000)
    usage_error("--tolerance " + text + ": give a percentage such as 10% (or a fraction such as 0.1)");
  return percent || v > 1 ? v / 100 : v;
}

int list(const ReportFlags& f) {
  report::History h = report::History::open(db_path(f));
  auto runs = h.list();
  if (f.json) {
    nlohmann::json a = nlohmann::json::array();
    for (const auto& r : runs)
      a.push_back({{"id", r.id},
                   {"started_at", r.started_at},
                   {"partial", r.partial},
                   {"kernel", r.kernel},
                   {"preempt", r.preempt},
                   {"rows", r.rows},
                   {"rows_ok", r.rows_ok},
                   {"worst_max_ns", r.worst_max_ns}});
    std::cout << a.dump(2) << '\n';
    return kExitOk;
  }
  if (runs.empty()) {
    std::cout << "no runs in " << h.path() << " (run rtcell bench)\n";
    return kExitOk;
  }
  std::printf("%5s  %-20s  %-28s  %-10s  %5s  %9s  %s\n", "id", "started (UTC)", "kernel", "preempt", "rows",
              "worst max", "");
  for (const auto& r : runs) {
    std::string rows = std::to_string(r.rows_ok) + "/" + std::to_string(r.rows);
    std::string worst = r.rows_ok ? report::us(static_cast<double>(r.worst_max_ns)) + " µs" : "-";
    std::printf("%5lld  %-20s  %-28s  %-10s  %5s  %9s  %s\n", static_cast<long long>(r.id),
                r.started_at.c_str(), r.kernel.c_str(), r.preempt.c_str(), rows.c_str(), worst.c_str(),
                r.partial ? "partial" : "");
  }
  return kExitOk;
}

int show(const ReportFlags& f) {
  report::BenchRun run = load_run(f, f.id);
  if (f.json) {
    std::cout << report::bench_to_json(run).dump(2) << '\n';
  } else {
    std::cout << "run " << (run.id ? std::to_string(run.id) : f.id) << ", " << run.started_at
              << (run.partial ? " (partial)" : "") << '\n'
              << report::render_host_lines(run) << '\n'
              << report::render_table(run);
  }
  if (!f.html.empty())
    (f.json ? std::cerr : std::cout) << "report: " << report::write_html_report(f.html, run) << '\n';
  return kExitOk;
}

int compare(const ReportFlags& f) {
  report::CompareOptions opt;
  opt.tolerance = parse_tolerance(f.tolerance);
  opt.min_delta_ns = util::parse_time_ns(f.min_delta, "us");
  report::BenchRun a = load_run(f, f.a);
  report::BenchRun b = load_run(f, f.b);
  report::Comparison c = report::compare_runs(a, b, opt);
  if (f.json)
    std::cout << report::comparison_to_json(c, a, b, opt).dump(2) << '\n';
  else
    std::cout << report::render_comparison(c, a, b, opt);
  return c.regressed ? kExitNegative : kExitOk;
}

int import(const ReportFlags& f) {
  auto text = sys::try_read_file(f.file);
  if (!text) usage_error("cannot read " + f.file);
  report::BenchRun run = report::parse_bench_json(*text);
  report::History h = report::History::open(db_path(f));
  int64_t id = h.store(run);
  std::cout << "stored " << f.file << " as run " << id << " in " << h.path() << '\n';
  return kExitOk;
}

std::string us_or_dash(std::optional<int64_t> ns) {
  return ns ? report::us(static_cast<double>(*ns)) + " µs" : "-";
}

// The tasks of manifest cells as they ended (rtcell run, up, delete), kept
// against what they were admitted with.
int promises(const ReportFlags& f) {
  report::History h = report::History::open(db_path(f));
  auto all = h.promises();
  if (f.broken) std::erase_if(all, [](const report::PromiseRecord& p) { return !p.broken; });
  if (f.json) {
    nlohmann::json a = nlohmann::json::array();
    for (const auto& p : all) {
      nlohmann::json j{{"id", p.id},
                       {"at", p.at},
                       {"cell_id", p.cell_id},
                       {"cell", p.cell},
                       {"manifest", p.manifest},
                       {"task", p.task},
                       {"cycles", p.cycles},
                       {"misses", p.misses},
                       {"overruns", p.overruns},
                       {"exec_max_ns", p.exec_max_ns},
                       {"wcet_ns", p.wcet_ns},
                       {"response_p999_ns", nullptr},
                       {"response_max_ns", p.response_max_ns},
                       {"deadline_ns", p.deadline_ns},
                       {"broken", p.broken},
                       {"why", p.why}};
      if (p.response_p999_ns) j["response_p999_ns"] = *p.response_p999_ns;
      a.push_back(std::move(j));
    }
    std::cout << a.dump(2) << '\n';
    return kExitOk;
  }
  if (all.empty()) {
    std::cout << "no " << (f.broken ? "broken promise" : "task") << " kept in " << h.path()
              << " (manifest cells' tasks are kept at the cell's end: rtcell run -f, up, delete)\n";
    return kExitOk;
  }
  std::printf("%-20s  %-16s  %-12s  %-14s  %8s  %6s  %11s  %11s  %12s  %11s  %s\n", "ended (UTC)", "cell id",
              "cell", "task", "cycles", "misses", "max exec", "WCET", "p99.9 resp", "deadline", "");
  for (const auto& p : all) {
    std::printf("%-20s  %-16s  %-12s  %-14s  %8llu  %6llu  %11s  %11s  %12s  %11s  %s\n", p.at.c_str(),
                p.cell_id.c_str(), p.cell.c_str(), p.task.c_str(), static_cast<unsigned long long>(p.cycles),
                static_cast<unsigned long long>(p.misses), us_or_dash(p.exec_max_ns).c_str(),
                us_or_dash(p.wcet_ns).c_str(), us_or_dash(p.response_p999_ns).c_str(),
                us_or_dash(p.deadline_ns).c_str(), p.broken ? "BROKEN" : "kept");
  }
  for (const auto& p : all)
    if (p.broken) std::cout << "  " << p.at << " " << p.cell_id << ": " << p.why << '\n';
  return kExitOk;
}

Run setup(CLI::App& app) {
  auto f = std::make_shared<ReportFlags>();
  app.require_subcommand(1);
  app.add_option("--db", f->db, "history database (default ~/.local/share/rtcell/history.db)");
  CLI::App* l = app.add_subcommand("list", "list the stored bench runs");
  l->add_flag("--json", f->json, "as JSON");
  CLI::App* s = app.add_subcommand("show", "show one run: ID, latest, or a bench JSON file");
  s->add_option("run", f->id, "run id, latest, or FILE")->required();
  s->add_flag("--json", f->json, "the whole run as JSON");
  s->add_option("--html", f->html, "also write the HTML report into DIR");
  CLI::App* c = app.add_subcommand("compare", "compare run B against run A; exit 1 when B regressed");
  c->add_option("a", f->a, "the reference run: id, latest, or FILE")->required();
  c->add_option("b", f->b, "the run to judge: id, latest, or FILE")->required();
  c->add_option("--tolerance", f->tolerance, "how much worse p99/p99.9 may get (default 10%)");
  c->add_option("--min-delta", f->min_delta, "differences below this never count (default 1us)");
  c->add_flag("--json", f->json, "as JSON");
  CLI::App* i =
      app.add_subcommand("import", "store a bench JSON file (e.g. saved while the database was locked)");
  i->add_option("file", f->file, "bench JSON file")->required();
  CLI::App* p = app.add_subcommand(
      "promises", "the tasks of manifest cells at their end, measured against what they were admitted with");
  p->add_flag("--json", f->json, "as JSON");
  p->add_flag("--broken", f->broken, "only the broken promises");
  for (CLI::App* sub : {l, s, c, i, p}) sub->add_option("--db", f->db, "history database");
  return [f, l, s, c, i, p] {
    if (p->parsed()) return promises(*f);
    if (l->parsed()) return list(*f);
    if (s->parsed()) return show(*f);
    if (c->parsed()) return compare(*f);
    if (i->parsed()) return import(*f);
    usage_error("report needs a subcommand: list, show, compare, import or promises");
  };
}

const Registrar reg{{"report",
                     "history: list, show, compare bench runs; the promises manifest cells kept or broke", 61,
                     setup}};

}  // namespace

}  // namespace rtcell::cli
