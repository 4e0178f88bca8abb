#include "host/probe.hpp"

#include <dirent.h>
#include <sys/stat.h>
#include <zlib.h>

#include <algorithm>
#include <memory>

#include "host/facts.hpp"
#include "sys/file.hpp"

namespace rtcell::host {

std::string Probe::path(std::string_view p) const {
  return join_root(root_, p);
}

std::optional<std::string> Probe::read(std::string_view p) const {
  return sys::try_read_file(path(p));
}

std::string Probe::value(std::string_view p) const {
  auto t = read(p);
  return t ? sys::trim(*t) : std::string{};
}

bool Probe::exists(std::string_view p) const {
  struct stat st {};
  return ::lstat(path(p).c_str(), &st) == 0;
}

std::vector<std::string> Probe::list(std::string_view dir) const {
  std::vector<std::string> out;
  std::unique_ptr<DIR, int (*)(DIR*)> d(::opendir(path(dir).c_str()), ::closedir);
  if (!d) return out;
  while (dirent* e = ::readdir(d.get())) {
    std::string n = e->d_name;
    if (n != "." && n != "..") out.push_back(std::move(n));
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::optional<std::string> gunzip(std::string_view data) {
  z_stream zs{};
  // 16 + MAX_WBITS: expect a gzip header (zlib manual, inflateInit2).
  if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK) return std::nullopt;
  std::string out;
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = static_cast<uInt>(data.size());
  char buf[65536];
  int rc = Z_OK;
  while (rc == Z_OK) {
    zs.next_out = reinterpret_cast<Bytef*>(buf);
    zs.avail_out = sizeof buf;
    rc = inflate(&zs, Z_NO_FLUSH);
    if (rc != Z_OK && rc != Z_STREAM_END) break;
    out.append(buf, sizeof buf - zs.avail_out);
    // Refuse absurd expansions of outside input (a kernel config is < 1 MiB).
    if (out.size() > (64U << 20)) rc = Z_DATA_ERROR;
    if (rc == Z_OK && zs.avail_in == 0 && zs.avail_out != 0) rc = Z_BUF_ERROR;
  }
  inflateEnd(&zs);
  if (rc != Z_STREAM_END) return std::nullopt;
  return out;
}

std::optional<KernelConfigSource> read_kernel_config(const Probe& probe, const std::string& release) {
  if (auto gz = probe.read("/proc/config.gz")) {
    if (auto text = gunzip(*gz)) return KernelConfigSource{parse_kconfig(*text), "/proc/config.gz"};
  }
  if (!release.empty()) {
    std::string f = "/boot/config-" + release;
    if (auto text = probe.read(f)) return KernelConfigSource{parse_kconfig(*text), f};
  }
  return std::nullopt;
}

std::optional<KernelHz> kernel_hz(const Probe& probe) {
  auto cfg = read_kernel_config(probe, probe.value("/proc/sys/kernel/osrelease"));
  if (!cfg) return std::nullopt;
  auto it = cfg->config.find("CONFIG_HZ");
  if (it == cfg->config.end()) return std::nullopt;
  int hz = 0;
  for (char ch : it->second) {
    if (ch < '0' || ch > '9' || hz > 1'000'000) return std::nullopt;
    hz = hz * 10 + (ch - '0');
  }
  if (hz <= 0) return std::nullopt;
  return KernelHz{hz, cfg->file};
}

}  // namespace rtcell::host
