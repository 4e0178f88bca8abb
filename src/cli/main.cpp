// rtcell: the thin CLI over the rtcell libraries. It builds the CLI11 tree from
// the registered verbs, runs the chosen one, and maps rtcell::Error to the
// exit codes of docs/errors.md. Nothing below main() exits or prints errors.
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <iostream>

#include "cli/command.hpp"
#include "rtcell/error.hpp"

namespace rtcell::cli {

std::vector<Verb>& verbs() {
  static std::vector<Verb> v;
  return v;
}

bool stdout_is_tty() {
  return ::isatty(STDOUT_FILENO) == 1;
}
bool stderr_is_tty() {
  return ::isatty(STDERR_FILENO) == 1;
}

void warn(const std::string& msg) {
  std::cerr << "rtcell: warning: " << msg << '\n';
}
void note(const std::string& msg) {
  std::cerr << "rtcell: note: " << msg << '\n';
}

}  // namespace rtcell::cli

int main(int argc, char** argv) {
  using namespace rtcell;
  CLI::App app{"rtcell: deterministic and safe real-time workloads on edge Linux"};
  app.set_version_flag("--version", "rtcell 0.1.0");
  app.require_subcommand(1);
  app.fallthrough(false);

  auto& vs = cli::verbs();
  std::stable_sort(vs.begin(), vs.end(),
                   [](const cli::Verb& a, const cli::Verb& b) { return a.order < b.order; });
  std::vector<std::pair<CLI::App*, cli::Run>> runs;
  for (auto& v : vs) {
    CLI::App* sub = app.add_subcommand(v.name, v.help);
    runs.emplace_back(sub, v.setup(*sub));
  }

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    // One line, what to do, exit 2.
    std::string sub;
    for (auto* s : app.get_subcommands()) sub = " " + s->get_name();
    std::cerr << "rtcell" << sub << ": " << e.what() << " (see rtcell" << sub << " --help)\n";
    return kExitUsage;
  }

  for (auto& [sub, run] : runs) {
    if (!sub->parsed()) continue;
    try {
      return run();
    } catch (const Error& e) {
      std::cerr << "rtcell " << sub->get_name() << ": " << e.what() << '\n';
      return e.exit_code();
    } catch (const std::exception& e) {
      std::cerr << "rtcell " << sub->get_name() << ": internal error: " << e.what() << '\n';
      return kExitSystem;
    }
  }
  return kExitUsage;
}
