// Whole-file reads and writes for /proc, /sys and state files.
#pragma once

#include <optional>
#include <string>

namespace rtcell::sys {

// Reads the whole file; throws rtcell::Error naming the path.
std::string read_file(const std::string& path);
// Reads the whole file or returns nullopt when it cannot be opened or read.
std::optional<std::string> try_read_file(const std::string& path);
// The largest input file rtcell reads whole (a manifest, a seccomp profile).
inline constexpr size_t kMaxInputFile = 4U << 20;
// Reads an input file the user named: only a regular file (a FIFO, a device
// such as /dev/zero or a directory is refused: opened O_NONBLOCK, so a FIFO
// never blocks the open), and at most `max_bytes`. Throws Usage naming
// `what` (e.g. "--seccomp /tmp/p.json") and the bound.
std::string read_input_file(const std::string& path, const std::string& what,
                            size_t max_bytes = kMaxInputFile);
// Writes `text` with one write(2), as sysfs/cgroupfs/procfs expect; throws on
// failure naming the path and the value.
void write_file(const std::string& path, const std::string& text);
// Writes to a temporary file beside `path` and renames it over `path`, so a
// reader never sees a half-written file.
void write_file_atomic(const std::string& path, const std::string& text, int mode = 0644);
// Trims trailing whitespace/newlines (sysfs values end in '\n').
std::string trim(std::string s);

}  // namespace rtcell::sys
