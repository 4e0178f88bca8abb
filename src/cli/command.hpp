// Subcommands register themselves (rr's Command.h): each src/cli/<verb>.cpp
// defines one static Registrar, so adding a verb touches no other file.
// A verb's setup() declares its flags on the CLI11 subcommand and returns the
// function main() runs when that verb was chosen. Verbs parse, call the
// library, and print; rtcell::Error propagates to main().
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <string>
#include <vector>

namespace rtcell::cli {

using Run = std::function<int()>;

struct Verb {
  std::string name;
  std::string help;
  int order = 50;  // position in `rtcell --help`
  std::function<Run(CLI::App&)> setup;
  bool takes_command = false;  // accepts "-- CMD ARGS" (see trailing_args())
};

std::vector<Verb>& verbs();

// The arguments after the first "--" on rtcell's command line (the command a
// verb starts); main() keeps them away from CLI11.
std::vector<std::string>& trailing_args();

struct Registrar {
  explicit Registrar(Verb v) { verbs().push_back(std::move(v)); }
};

// True when stdout/stderr is a terminal (colour, live displays).
bool stdout_is_tty();
bool stderr_is_tty();

// Prints "rtcell: warning: ..." on stderr.
void warn(const std::string& msg);
// Prints "rtcell: note: ..." on stderr.
void note(const std::string& msg);

}  // namespace rtcell::cli
