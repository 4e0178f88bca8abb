// TracefsSetting's journal and restore_stale_settings, on plain files: a
// global tracefs setting (osnoise/cpus) changed by a run that is then killed
// with SIGKILL is put back by the next capture or `rtcell gc`.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "sys/tracefs.hpp"

namespace {

namespace fs = std::filesystem;

std::string slurp(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void spit(const fs::path& p, const std::string& text) {
  std::ofstream(p) << text;
}

// A pid that existed and is gone (reaped).
pid_t dead_pid() {
  const pid_t pid = fork();
  if (pid == 0) _exit(0);
  int st = 0;
  waitpid(pid, &st, 0);
  return pid;
}

class TracefsJournal : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/rtcell-journal-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

TEST_F(TracefsJournal, SetJournalsTheOldTextAndResetRemovesIt) {
  const fs::path setting = dir_ / "cpus";
  const fs::path journal = dir_ / "journal" / std::to_string(getpid());
  spit(setting, "0-1\n");
  rtcell::sys::TracefsSetting s;
  ASSERT_EQ(s.set(setting, "1", journal), 0);
  EXPECT_EQ(slurp(setting), "1");
  EXPECT_EQ(slurp(journal), setting.string() + "\n0-1");
  s.reset();
  EXPECT_EQ(slurp(setting), "0-1");
  EXPECT_FALSE(fs::exists(journal));
}

TEST_F(TracefsJournal, ADeadProcessesSettingIsPutBackALiveOnesIsKept) {
  const fs::path a = dir_ / "a";
  const fs::path b = dir_ / "b";
  spit(a, "1");
  spit(b, "1");
  const fs::path jdir = dir_ / "j";
  fs::create_directory(jdir);
  const fs::path dead = jdir / std::to_string(dead_pid());
  const fs::path live = jdir / std::to_string(getpid());
  spit(dead, a.string() + "\n0-3");
  spit(live, b.string() + "\n0-3");
  spit(jdir / "not-a-pid", b.string() + "\n7");
  const auto restored = rtcell::sys::restore_stale_settings(jdir);
  ASSERT_EQ(restored.size(), 1U);
  EXPECT_EQ(restored[0], a.string());
  EXPECT_EQ(slurp(a), "0-3");
  EXPECT_EQ(slurp(b), "1");
  EXPECT_FALSE(fs::exists(dead));
  EXPECT_TRUE(fs::exists(live));
}

TEST_F(TracefsJournal, NoJournalDirectoryIsNothingToDo) {
  EXPECT_TRUE(rtcell::sys::restore_stale_settings(dir_ / "absent").empty());
}

}  // namespace
