#include "sys/dir_write.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <system_error>

#include "rtcell/error.hpp"
#include "sys/file.hpp"

namespace rtcell::sys {

namespace fs = std::filesystem;

namespace {

// Removes the temporary tree unless disarmed.
class TempTree {
 public:
  explicit TempTree(std::string path) : path_(std::move(path)) {}
  TempTree(const TempTree&) = delete;
  TempTree& operator=(const TempTree&) = delete;
  ~TempTree() {
    if (path_.empty()) return;
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const std::string& path() const noexcept { return path_; }
  void release() noexcept { path_.clear(); }

 private:
  std::string path_;
};

}  // namespace

void write_dir_atomic(const std::string& dir, const std::vector<FileEntry>& files) {
  std::string target = dir;
  while (target.size() > 1 && target.back() == '/') target.pop_back();
  if (target.empty()) usage_error("the output directory name is empty: give -o DIR");
  std::error_code ec;
  if (fs::exists(fs::symlink_status(target, ec))) {
    if (!fs::is_directory(fs::symlink_status(target, ec)) || !fs::is_empty(target, ec))
      usage_error(target + " exists and is not an empty directory: remove it or choose another -o DIR");
  }
  for (const auto& f : files)
    if (f.name.empty() || f.name.find('/') != std::string::npos || f.name == "." || f.name == "..")
      usage_error("cannot write a file named '" + f.name + "' into " + target);
  std::string tmpl = target + ".tmp-XXXXXX";
  if (::mkdtemp(tmpl.data()) == nullptr) {
    int e = errno;
    sys_error("cannot create a temporary directory beside " + target, e);
  }
  TempTree tmp(tmpl);
  ::chmod(tmp.path().c_str(), 0755);
  for (const auto& f : files) write_file_atomic(tmp.path() + "/" + f.name, f.text, f.mode);
  if (::rename(tmp.path().c_str(), target.c_str()) != 0) {
    int e = errno;
    if (e == ENOTEMPTY || e == EEXIST || e == ENOTDIR)
      usage_error(target + " exists and is not an empty directory: remove it or choose another -o DIR");
    sys_error("cannot rename " + tmp.path() + " to " + target, e);
  }
  tmp.release();
}

}  // namespace rtcell::sys
