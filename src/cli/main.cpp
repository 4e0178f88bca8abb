// rtcell: the thin CLI over the rtcell libraries. It builds the CLI11 tree from
// the registered verbs, runs the chosen one, and maps rtcell::Error to the
// exit codes of docs/errors.md. Nothing below main() exits or prints errors.
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <iostream>
#include <string_view>

#include "cli/command.hpp"
#include "rtcell/error.hpp"

namespace rtcell::cli {

std::vector<Verb>& verbs() {
  static std::vector<Verb> v;
  return v;
}

std::vector<std::string>& trailing_args() {
  static std::vector<std::string> v;
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

namespace rtcell::cli {
int runtime_main(int argc, char** argv);
}

int main(int argc, char** argv) {
  using namespace rtcell;
  // rtcell-runtime (a symlink to this binary): the OCI runtime face, with
  // runc's command line (src/cli/runtime.cpp).
  const std::string_view self = argv[0];
  const size_t slash = self.rfind('/');
  if (self.substr(slash == std::string_view::npos ? 0 : slash + 1) == "rtcell-runtime")
    return cli::runtime_main(argc, argv);
  CLI::App app{"rtcell: deterministic and safe real-time workloads on edge Linux"};
  app.set_version_flag("--version", "rtcell 0.1.0");
  app.require_subcommand(1);
  app.fallthrough(false);

  auto& vs = cli::verbs();
  std::stable_sort(vs.begin(), vs.end(),
                   [](const cli::Verb& a, const cli::Verb& b) { return a.order < b.order; });
  struct Chosen {
    CLI::App* sub;
    cli::Run run;
    bool takes_command;
  };
  // Only the chosen verb declares its options: CLI11 checks each new option
  // against every one before it, and declaring all verbs' options was two
  // thirds of what an `rtcell run` spent before its cell (launch speed,
  // docs/performance.md). The others stay listed for --help and for the
  // "not a subcommand" error.
  const std::string_view chosen = argc > 1 ? std::string_view(argv[1]) : std::string_view();
  const bool known = std::any_of(vs.begin(), vs.end(), [&](const cli::Verb& v) { return v.name == chosen; });
  // `rtcell frob --help` fails like `rtcell frob` (CLI11 would print the
  // main help and exit 0).
  if (!known && !chosen.empty() && chosen.front() != '-') {
    std::cerr << "rtcell: '" << chosen << "' is not an rtcell command (see rtcell --help)\n";
    return kExitUsage;
  }
  std::vector<Chosen> runs;
  for (auto& v : vs) {
    CLI::App* sub = app.add_subcommand(v.name, v.help);
    if (v.help.empty()) sub->group("");  // internal (__supervise): not in --help
    if (known && v.name != chosen) continue;
    runs.push_back({sub, v.setup(*sub), v.takes_command});
  }

  // Everything after the first "--" belongs to the command a verb starts
  // (rtcell run -- CMD ARGS). CLI11 2.1.2 lets a multi-value option before
  // "--" swallow the separator and then parses the command's own flags, so
  // the tail is cut off here and never reaches CLI11.
  int parsed_argc = argc;
  for (int i = 1; i < argc; ++i) {
    if (std::string_view(argv[i]) == "--") {
      parsed_argc = i;
      cli::trailing_args().assign(argv + i + 1, argv + argc);
      break;
    }
  }

  try {
    app.parse(parsed_argc, argv);
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

  for (auto& [sub, run, takes_command] : runs) {
    if (!sub->parsed()) continue;
    if (!takes_command && !cli::trailing_args().empty()) {
      std::cerr << "rtcell " << sub->get_name() << ": unexpected '-- " << cli::trailing_args().front()
                << "': this verb runs no command (see rtcell " << sub->get_name() << " --help)\n";
      return kExitUsage;
    }
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
