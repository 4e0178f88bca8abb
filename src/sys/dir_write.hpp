// A directory of generated files that appears whole or not at all (the
// emitters' output, docs/hypervisor.md).
#pragma once

#include <string>
#include <vector>

namespace rtcell::sys {

struct FileEntry {
  std::string name;  // a plain file name, no '/'
  std::string text;
  int mode = 0644;
};

// Writes `files` into a fresh temporary directory beside `dir`, then renames
// it to `dir`. `dir` must not exist, or be an empty directory (rename(2)
// replaces an empty one). On any failure the temporary directory is removed
// and rtcell::Error thrown: Usage when `dir` is in the way, System otherwise.
void write_dir_atomic(const std::string& dir, const std::vector<FileEntry>& files);

}  // namespace rtcell::sys
