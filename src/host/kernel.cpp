#include "host/kernel.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <fstream>
#include <nlohmann/json.hpp>

#include "host/facts.hpp"
#include "host/parse.hpp"
#include "host/probe.hpp"
#include "rtcell/error.hpp"
#include "sys/file.hpp"

namespace rtcell::host {
namespace {

std::string_view trim_sv(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

// "LINUX /boot/Image" with keyword "LINUX" -> "/boot/Image"; nullopt when the
// line is another keyword (case-insensitive, as syslinux reads it).
std::optional<std::string> keyword_value(std::string_view line, std::string_view keyword) {
  line = trim_sv(line);
  if (line.size() < keyword.size()) return std::nullopt;
  for (size_t i = 0; i < keyword.size(); ++i)
    if (std::toupper(static_cast<unsigned char>(line[i])) != keyword[i]) return std::nullopt;
  if (line.size() > keyword.size() && !std::isspace(static_cast<unsigned char>(line[keyword.size()])))
    return std::nullopt;
  return std::string(trim_sv(line.substr(keyword.size())));
}

// FNV-1a: a stable fingerprint of the file use-rt wrote, so revert can tell
// whether someone edited it since.
std::string fingerprint(std::string_view s) {
  uint64_t h = 1469598103934665603ULL;
  for (char c : s) {
    h ^= static_cast<unsigned char>(c);
    h *= 1099511628211ULL;
  }
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

// Whether a kernel image holds the PREEMPT_RT version banner (an
// uncompressed arm64 Image, as L4T installs, carries "SMP PREEMPT_RT" in
// its linux_banner). Read in chunks: images are tens of MB.
bool image_says_rt(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  constexpr std::string_view kNeedle = "PREEMPT_RT ";
  std::string carry;
  std::vector<char> buf(1 << 20);
  while (in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    std::string chunk = carry + std::string(buf.data(), static_cast<size_t>(in.gcount()));
    if (chunk.find(kNeedle) != std::string::npos) return true;
    carry = chunk.size() > kNeedle.size() ? chunk.substr(chunk.size() - kNeedle.size()) : chunk;
  }
  return false;
}

}  // namespace

const ExtlinuxEntry* Extlinux::booted() const {
  for (const auto& e : entries)
    if (e.label == default_label) return &e;
  return entries.empty() ? nullptr : &entries.front();
}

Extlinux parse_extlinux(std::string_view conf) {
  Extlinux x;
  for (auto line : lines_of(conf)) {
    if (auto v = keyword_value(line, "DEFAULT")) {
      x.default_label = *v;
    } else if (auto l = keyword_value(line, "LABEL")) {
      x.entries.push_back(ExtlinuxEntry{*l, {}, {}, {}, {}});
    } else if (x.entries.empty()) {
      continue;
    } else if (auto m = keyword_value(line, "MENU")) {
      if (auto ml = keyword_value(*m, "LABEL")) x.entries.back().menu_label = *ml;
    } else if (auto k = keyword_value(line, "LINUX")) {
      x.entries.back().kernel = *k;
    } else if (auto k2 = keyword_value(line, "KERNEL")) {
      x.entries.back().kernel = *k2;
    } else if (auto i = keyword_value(line, "INITRD")) {
      x.entries.back().initrd = *i;
    } else if (auto a = keyword_value(line, "APPEND")) {
      x.entries.back().append = *a;
    }
  }
  return x;
}

std::string extlinux_set_default(std::string_view conf, const std::string& label) {
  std::string out;
  bool done = false;
  auto lines = lines_of(conf);
  for (size_t i = 0; i < lines.size(); ++i) {
    std::string_view l = lines[i];
    if (keyword_value(l, "DEFAULT")) {  // every one: the last DEFAULT line wins
      size_t indent = l.find_first_not_of(" \t");
      out += std::string(l.substr(0, indent == std::string_view::npos ? 0 : indent)) + "DEFAULT " + label;
      done = true;
    } else {
      out += l;
    }
    if (i + 1 < lines.size() || (!conf.empty() && conf.back() == '\n')) out += '\n';
  }
  if (!done) out = "DEFAULT " + label + "\n" + out;
  return out;
}

bool names_rt(std::string_view text) {
  std::string word;
  auto is_rt = [](const std::string& w) { return w == "rt" || w == "realtime" || w == "preempt"; };
  std::string lower;
  for (char c : text) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (lower.find("preempt_rt") != std::string::npos) return true;
  for (char c : lower) {
    if (std::isalnum(static_cast<unsigned char>(c))) {
      word += c;
    } else {
      if (is_rt(word) && word != "preempt") return true;
      word.clear();
    }
  }
  return is_rt(word) && word != "preempt";
}

std::string entry_rt_evidence(const ExtlinuxEntry& e, const std::string& root) {
  if (!e.kernel.empty() && image_says_rt(join_root(root, e.kernel)))
    return "image " + e.kernel + " carries the PREEMPT_RT banner";
  if (names_rt(e.label)) return "label '" + e.label + "'";
  if (names_rt(e.menu_label)) return "menu label '" + e.menu_label + "'";
  std::string base = e.kernel.substr(e.kernel.rfind('/') + 1);
  if (names_rt(base)) return "image name " + e.kernel;
  return {};
}

std::optional<RtPackages> l4t_rt_packages(int l4t_major, int l4t_minor) {
  if (l4t_major != 36) return std::nullopt;
  // NVIDIA's RT kernel repository exists from r36.3 (Jetson Linux developer
  // guide, "Real-Time Kernel Using OTA Update"; Orin package list).
  int minor = l4t_minor < 3 ? 3 : l4t_minor;
  return RtPackages{
      "deb https://repo.download.nvidia.com/jetson/rt-kernel r36." + std::to_string(minor) + " main",
      {"nvidia-l4t-rt-kernel", "nvidia-l4t-rt-kernel-headers", "nvidia-l4t-rt-kernel-oot-modules",
       "nvidia-l4t-display-rt-kernel"}};
}

KernelStatus kernel_status(const std::string& root) {
  Probe p(root);
  KernelStatus s;
  s.conf_file = kExtlinuxConf;
  auto text = p.read(kExtlinuxConf);
  if (!text)
    usage_error(
        "no " + p.path(kExtlinuxConf) +
        ": rtcell kernel manages L4T's extlinux boot entries (a Jetson, or a tree given with --root)");
  s.conf = parse_extlinux(*text);
  for (const auto& e : s.conf.entries) s.rt_evidence.push_back(entry_rt_evidence(e, root));
  auto facts = read_host_facts(root);
  s.running = facts.kernel_release;
  s.running_rt = facts.preempt_model == "PREEMPT_RT";
  if (auto rel = parse_nv_tegra_release(p.read("/etc/nv_tegra_release").value_or(""))) {
    s.l4t = rel->to_string();
    s.rt_available = l4t_rt_packages(rel->major, rel->minor);
  }
  for (auto& [pkg, status] : parse_dpkg_status(p.read("/var/lib/dpkg/status").value_or("")))
    if (pkg.rfind("nvidia-l4t-rt-kernel", 0) == 0 && status.find(" installed") != std::string::npos &&
        status.find("not-installed") == std::string::npos)
      s.rt_installed.push_back(pkg);
  s.journaled = p.exists(kKernelJournal);
  return s;
}

std::vector<std::string> kernel_use_rt(const std::string& root) {
  KernelStatus s = kernel_status(root);
  Probe p(root);
  if (s.journaled)
    usage_error("an earlier 'rtcell kernel use-rt' is still in effect (" + p.path(kKernelJournal) +
                "): run 'rtcell kernel revert' first");
  const ExtlinuxEntry* def = s.conf.booted();
  if (!def) usage_error(p.path(kExtlinuxConf) + " has no LABEL entry: nothing to boot");
  const ExtlinuxEntry* rt = nullptr;
  std::string why;
  for (size_t i = 0; i < s.conf.entries.size(); ++i)
    if (!s.rt_evidence[i].empty()) {
      rt = &s.conf.entries[i];
      why = s.rt_evidence[i];
      break;
    }
  if (!rt) {
    std::string hint = s.rt_available
                           ? "install the RT kernel (" + s.rt_available->apt_line + "; apt install " +
                                 s.rt_available->packages.front() + " ...), then"
                           : "build one (rtcell kernel config --source DIR), then";
    usage_error("no RT entry in " + p.path(kExtlinuxConf) + ": " + hint +
                " add a LABEL whose LINUX image is the RT kernel");
  }
  if (rt->label == def->label)
    return {"the default entry '" + rt->label + "' is already the RT kernel (" + why +
            "): nothing to change"};
  if (!rt->kernel.empty() && !p.exists(rt->kernel))
    usage_error("the RT entry '" + rt->label + "' boots " + rt->kernel + ", which is not there (" +
                p.path(rt->kernel) + "): install it first");

  const std::string conf_path = p.path(kExtlinuxConf);
  std::string old = *p.read(kExtlinuxConf);
  std::string updated = extlinux_set_default(old, rt->label);
  struct stat st {};
  int mode = ::stat(conf_path.c_str(), &st) == 0 ? static_cast<int>(st.st_mode & 07777) : 0644;
  const std::string backup = p.path(kKernelBackup), journal = p.path(kKernelJournal);
  nlohmann::json j = {{"file", kExtlinuxConf},
                      {"backup", kKernelBackup},
                      {"previous_default", def->label},
                      {"rt_default", rt->label},
                      {"written", fingerprint(updated)}};
  // Backup and journal first; the config last. Any failure undoes the
  // steps before it, so nothing is left behind.
  ::mkdir(p.path("/var/lib/rtcell").c_str(), 0755);  // its parent /var/lib must exist
  sys::write_file_atomic(backup, old, 0600);
  try {
    sys::write_file_atomic(journal, j.dump(2) + "\n", 0600);
    try {
      sys::write_file_atomic(conf_path, updated, mode);
    } catch (...) {
      ::unlink(journal.c_str());
      throw;
    }
  } catch (...) {
    ::unlink(backup.c_str());
    throw;
  }
  return {"DEFAULT " + def->label + " -> " + rt->label + " (" + why + ") in " + conf_path,
          "fallback: entry '" + def->label +
              "' stays in the file; pick it on the boot menu (serial console) if "
              "the RT kernel does not come up",
          "backup: " + backup + " (rtcell kernel revert restores it)", "reboot to run the RT kernel"};
}

std::vector<std::string> kernel_revert(const std::string& root) {
  Probe p(root);
  auto jt = p.read(kKernelJournal);
  if (!jt) return {"nothing to revert: no " + p.path(kKernelJournal)};
  auto j = nlohmann::json::parse(*jt, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("written") || !j["written"].is_string())
    usage_error(p.path(kKernelJournal) + " is not a journal rtcell wrote; the original extlinux.conf is " +
                p.path(kKernelBackup));
  auto backup = p.read(kKernelBackup);
  if (!backup) usage_error("the backup " + p.path(kKernelBackup) + " is missing; cannot revert");
  const std::string conf_path = p.path(kExtlinuxConf);
  auto now = p.read(kExtlinuxConf);
  if (!now || fingerprint(*now) != j["written"].get<std::string>())
    usage_error(conf_path + " changed since 'rtcell kernel use-rt'; not overwriting it. The original is " +
                p.path(kKernelBackup) + ": compare and copy it back by hand, then remove " +
                p.path(kKernelJournal));
  struct stat st {};
  int mode = ::stat(conf_path.c_str(), &st) == 0 ? static_cast<int>(st.st_mode & 07777) : 0644;
  sys::write_file_atomic(conf_path, *backup, mode);
  ::unlink(p.path(kKernelJournal).c_str());
  ::unlink(p.path(kKernelBackup).c_str());
  return {"restored " + conf_path + " from " + p.path(kKernelBackup) + " (DEFAULT " +
          j.value("previous_default", std::string("?")) + ")"};
}

}  // namespace rtcell::host
