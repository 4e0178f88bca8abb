// Mounts for the cell's private mount namespace. Everything a cell mounts
// lives in its own namespace and vanishes with it, so the host never sees a
// cell mount and there is nothing to undo on the host; MountPoint exists for
// the rare mount made in a shared namespace (and for tests).
#pragma once

#include <string>
#include <utility>

namespace rtcell::sys {

// mount(2) that throws rtcell::Error naming source, target and type.
void mount(const std::string& source, const std::string& target, const std::string& fstype,
           unsigned long flags, const std::string& data = {});
// Bind-mounts `source` on `target` (recursive when `recursive`), then
// remounts it read-only when `read_only`.
void bind_mount(const std::string& source, const std::string& target, bool recursive, bool read_only);
// Remounts the mount at `prefix` and, when `recursive`, every mount below it
// read-only (a recursive bind of "/" brings /boot, /run, /sys, ... along,
// each its own mount). Walks `mountinfo` (the caller's view: after a
// pivot_root, /proc may live elsewhere), so it works on kernels without
// mount_setattr(2).
void remount_tree_read_only(const std::string& prefix, const std::string& mountinfo = "/proc/self/mountinfo",
                            bool recursive = true);
// Makes every mount in this namespace private, so nothing the cell mounts
// propagates back to the host (shared propagation is systemd's default).
void make_rprivate();

// Unescapes a mountinfo path field ("\040" = space).
std::string unescape_mountinfo(const std::string& field);

class MountPoint {
 public:
  MountPoint() = default;
  explicit MountPoint(std::string target) : target_(std::move(target)) {}
  MountPoint(const MountPoint&) = delete;
  MountPoint& operator=(const MountPoint&) = delete;
  MountPoint(MountPoint&& o) noexcept : target_(std::move(o.target_)) { o.target_.clear(); }
  MountPoint& operator=(MountPoint&& o) noexcept;
  ~MountPoint() { reset(); }

  // Mounts and returns the owner of the new mount.
  static MountPoint mount(const std::string& source, const std::string& target, const std::string& fstype,
                          unsigned long flags, const std::string& data = {});
  const std::string& target() const noexcept { return target_; }
  // Lazily unmounts (MNT_DETACH); never throws.
  void reset() noexcept;
  std::string release() noexcept { return std::exchange(target_, {}); }

 private:
  std::string target_;
};

}  // namespace rtcell::sys
