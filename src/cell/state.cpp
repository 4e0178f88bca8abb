#include "cell/state.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>

#include "rtcell/error.hpp"
#include "sys/file.hpp"
#include "sys/syscalls.hpp"

namespace rtcell::cell {

using nlohmann::json;

namespace {

constexpr int kStateVersion = 1;

const char* status_names[] = {"creating", "created", "running", "stopped", "paused"};

json proc_json(const ProcRef& p) {
  return json{{"pid", p.pid}, {"start_time", p.start_time}};
}

ProcRef proc_from(const json& j) {
  ProcRef p;
  p.pid = j.at("pid").get<pid_t>();
  p.start_time = j.at("start_time").get<uint64_t>();
  return p;
}

}  // namespace

std::optional<uint64_t> parse_start_time(std::string_view line) {
  // "pid (comm) state ppid ...": comm may hold anything, so count fields
  // from the last ')'. starttime is field 22, the 20th after comm.
  size_t close = line.rfind(')');
  if (close == std::string_view::npos) return std::nullopt;
  size_t pos = close + 1;
  for (int field = 3; field <= 22; ++field) {
    while (pos < line.size() && line[pos] == ' ') ++pos;
    size_t end = line.find(' ', pos);
    if (end == std::string_view::npos) end = line.size();
    if (pos >= end) return std::nullopt;
    if (field == 22) {
      uint64_t v = 0;
      for (size_t i = pos; i < end; ++i) {
        if (line[i] < '0' || line[i] > '9') return std::nullopt;
        v = v * 10 + static_cast<uint64_t>(line[i] - '0');
      }
      return v;
    }
    pos = end;
  }
  return std::nullopt;
}

std::optional<uint64_t> process_start_time(pid_t pid) {
  if (pid <= 0) return std::nullopt;
  auto text = sys::try_read_file("/proc/" + std::to_string(pid) + "/stat");
  if (!text) return std::nullopt;
  return parse_start_time(*text);
}

ProcRef self_ref() {
  ProcRef r;
  r.pid = ::getpid();
  r.start_time = process_start_time(r.pid).value_or(0);
  return r;
}

sys::PidFd open_process(const ProcRef& ref) {
  if (ref.pid <= 0) return {};
  int fd = sys::pidfd_open(ref.pid);
  if (fd < 0) return {};
  sys::PidFd p(sys::Fd(fd), ref.pid);
  // Read after the pidfd exists: if the start time still matches, the fd
  // names the process the record meant, and it stays bound to it.
  auto st = process_start_time(ref.pid);
  if (!st || *st != ref.start_time) return {};
  return p;
}

bool exited(const sys::PidFd& p) {
  // A pidfd polls readable once its process has exited, zombie or not (an
  // orphaned init waits for its new parent to reap it).
  pollfd pfd{p.get(), POLLIN, 0};
  return ::poll(&pfd, 1, 0) == 1;
}

bool alive(const ProcRef& ref) {
  sys::PidFd p = open_process(ref);
  return p.valid() && !exited(p);
}

const char* to_string(Status s) {
  return status_names[static_cast<int>(s)];
}

std::string state_to_json(const CellState& s) {
  json j;
  j["version"] = kStateVersion;
  j["id"] = s.id;
  j["status"] = to_string(s.status);
  j["creator"] = proc_json(s.creator);
  j["init"] = proc_json(s.init);
  j["bundle"] = s.bundle;
  j["rootfs"] = s.rootfs;
  j["die_with_creator"] = s.die_with_creator;
  j["command"] = s.command;
  j["created_ns"] = s.created_ns;
  j["annotations"] = s.annotations;
  j["cpus"] = s.cpus.to_string();
  j["scheduler"] = s.scheduler;
  if (s.rt)
    j["rt"] = json{{"runtime_us", s.rt->runtime_us}, {"period_us", s.rt->period_us}};
  else
    j["rt"] = nullptr;
  // No cgroup made yet: nothing to give back.
  j["cgroups"] = s.cgroups.root.empty() ? json(nullptr) : journal_to_json(s.cgroups);
  return j.dump() + "\n";
}

CellState state_from_json(std::string_view text, const std::string& where) {
  // The last complete line of the log; a cut-short last line is a write in
  // progress or a writer killed mid-write: the one before it stands.
  if (!text.empty() && text.back() != '\n') {
    size_t nl = text.rfind('\n');
    if (nl != std::string_view::npos) text = text.substr(0, nl + 1);
  }
  if (!text.empty() && text.back() == '\n') text.remove_suffix(1);
  if (size_t nl = text.rfind('\n'); nl != std::string_view::npos) text.remove_prefix(nl + 1);
  auto corrupt = [&](const std::string& why) -> CellState {
    throw Error(ErrorKind::System, "cell state " + where + " is corrupt (" + why +
                                       "): rtcell gc removes what it can, or delete the directory by hand");
  };
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return corrupt("not a JSON object");
  try {
    if (j.at("version").get<int>() != kStateVersion)
      return corrupt("version " + j.at("version").dump() + ", expected " + std::to_string(kStateVersion));
    CellState s;
    s.id = j.at("id").get<std::string>();
    std::string st = j.at("status").get<std::string>();
    auto it = std::find_if(std::begin(status_names), std::end(status_names),
                           [&](const char* n) { return st == n; });
    if (it == std::end(status_names)) return corrupt("status '" + st + "'");
    s.status = static_cast<Status>(it - std::begin(status_names));
    s.creator = proc_from(j.at("creator"));
    s.init = proc_from(j.at("init"));
    s.bundle = j.at("bundle").get<std::string>();
    s.rootfs = j.value("rootfs", std::string());
    s.die_with_creator = j.at("die_with_creator").get<bool>();
    s.command = j.at("command").get<std::vector<std::string>>();
    s.created_ns = j.at("created_ns").get<int64_t>();
    s.annotations = j.at("annotations").get<std::map<std::string, std::string>>();
    s.cpus = CpuSet::parse(j.at("cpus").get<std::string>());
    s.scheduler = j.at("scheduler").get<std::string>();
    if (!j.at("rt").is_null()) {
      RtBudget b;
      b.runtime_us = j.at("rt").at("runtime_us").get<int64_t>();
      b.period_us = j.at("rt").at("period_us").get<int64_t>();
      s.rt = b;
    }
    if (!j.at("cgroups").is_null()) s.cgroups = journal_from_json(j.at("cgroups"));
    return s;
  } catch (const Error& e) {
    return corrupt(e.what());
  } catch (const std::exception& e) {
    return corrupt(e.what());
  }
}

Status live_status(const CellState& s) {
  if (s.status == Status::Creating) return alive(s.creator) ? Status::Creating : Status::Stopped;
  if (s.status == Status::Stopped) return Status::Stopped;
  if (s.die_with_creator && !alive(s.creator)) return Status::Stopped;
  return alive(s.init) ? s.status : Status::Stopped;
}

Registry::Registry(std::string root) : root_(std::move(root)) {
  while (root_.size() > 1 && root_.back() == '/') root_.pop_back();
}

sys::DirLock Registry::claim(const std::string& id) const {
  // Missing parents too (an OCI caller's --root, as runc makes it); only
  // the root itself is private.
  for (size_t i = root_.find('/', 1); i != std::string::npos; i = root_.find('/', i + 1))
    if (::mkdir(root_.substr(0, i).c_str(), 0711) != 0 && errno != EEXIST) break;
  if (::mkdir(root_.c_str(), 0700) != 0 && errno != EEXIST) {
    int e = errno;
    if (e == EROFS || e == EACCES || e == EPERM)
      usage_error("cannot create the state root " + root_ + " (" + std::strerror(e) +
                  "): give --root DIR on a writable filesystem");
    sys_error("cannot create the state root " + root_, e);
  }
  struct stat st {};
  if (::lstat(root_.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
    usage_error("state root " + root_ + " is not a directory: give --root DIR");
  if (st.st_uid != ::geteuid() || (st.st_mode & 077) != 0)
    usage_error("state root " + root_ + " must be a directory owned by uid " + std::to_string(::geteuid()) +
                " with mode 0700 (others could forge cell state): chmod 0700 it or give --root DIR");
  const std::string d = dir(id);
  if (::mkdir(d.c_str(), 0700) != 0) {
    int e = errno;
    if (e == EEXIST) usage_error("cell id '" + id + "' is in use: pick another, or rtcell delete " + id);
    if (e == EROFS || e == EACCES || e == EPERM)
      usage_error("cannot create " + d + " (" + std::strerror(e) +
                  "): give --root DIR on a writable filesystem");
    sys_error("cannot create " + d, e);
  }
  return sys::DirLock::acquire(d);
}

sys::DirLock Registry::lock(const std::string& id) const {
  if (!exists(id)) usage_error("no cell '" + id + "' (rtcell ps lists them)");
  return sys::DirLock::acquire(dir(id));
}

bool Registry::exists(const std::string& id) const {
  struct stat st {};
  return ::lstat(dir(id).c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

void Registry::save(const CellState& s) const {
  const std::string path = dir(s.id) + "/state.json";
  const std::string line = state_to_json(s);
  sys::Fd fd = sys::Fd::open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  ssize_t n;
  do {
    n = ::write(fd.get(), line.data(), line.size());
  } while (n < 0 && errno == EINTR);
  if (n != static_cast<ssize_t>(line.size())) sys_error("cannot write " + path, n < 0 ? errno : EIO);
}

CellState Registry::load(const std::string& id) const {
  if (!exists(id)) usage_error("no cell '" + id + "' (rtcell ps lists them)");
  const std::string path = dir(id) + "/state.json";
  auto text = sys::try_read_file(path);
  if (!text) {
    // A creator killed before its first write leaves an empty directory.
    CellState s;
    s.id = id;
    s.status = Status::Stopped;
    return s;
  }
  CellState s = state_from_json(*text, path);
  if (s.id != id) throw Error(ErrorKind::System, "cell state " + path + " names another cell '" + s.id + "'");
  return s;
}

std::vector<std::string> Registry::ids() const {
  std::vector<std::string> out;
  DIR* d = ::opendir(root_.c_str());
  if (d == nullptr) return out;
  while (dirent* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n == "." || n == ".." || n[0] == '.') continue;
    if (e->d_type == DT_DIR || e->d_type == DT_UNKNOWN) out.push_back(n);
  }
  ::closedir(d);
  std::sort(out.begin(), out.end());
  return out;
}

void Registry::remove(const std::string& id) const {
  const std::string d = dir(id);
  DIR* dp = ::opendir(d.c_str());
  if (dp != nullptr) {
    while (dirent* e = ::readdir(dp)) {
      const std::string_view n = e->d_name;
      if (n == "." || n == "..") continue;
      std::string path = d;
      path += '/';
      path += n;
      if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
        int err = errno;
        ::closedir(dp);
        sys_error("cannot remove " + path, err);
      }
    }
    ::closedir(dp);
  }
  if (::rmdir(d.c_str()) != 0 && errno != ENOENT) sys_error("cannot remove " + d, errno);
}

}  // namespace rtcell::cell
