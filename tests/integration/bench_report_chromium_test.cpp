// The HTML report in a real browser: headless Chromium (Debian `chromium`,
// installed by scripts/install-deps) loads the report as XHTML, so that any
// well-formedness error shows up as Chromium's XML error page, dumps the DOM
// after rendering and takes a screenshot. The test checks that the plots are
// in the rendered DOM, that no error page replaced the report, and that the
// screenshot is a real PNG. No network: the report is self-contained.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "report/render.hpp"
#include "sys/file.hpp"
#include "unit/report_test_data.hpp"

namespace {

const char* kChromium = "/usr/bin/chromium";

// Runs chromium with `args` after the common headless flags; returns its
// stdout and exit status.
int chromium(const std::string& profile, const std::vector<std::string>& args, std::string& out) {
  std::vector<std::string> all = {kChromium,
                                  "--headless",
                                  "--no-sandbox",
                                  "--disable-gpu",
                                  "--disable-background-networking",
                                  "--disable-component-update",
                                  "--disable-sync",
                                  "--no-first-run",
                                  "--user-data-dir=" + profile};
  all.insert(all.end(), args.begin(), args.end());
  int o[2];
  if (pipe2(o, O_CLOEXEC) != 0) return -1;
  pid_t pid = fork();
  if (pid == 0) {
    dup2(o[1], 1);
    int devnull = open("/dev/null", O_WRONLY);
    dup2(devnull, 2);  // chromium logs D-Bus noise on stderr
    std::vector<char*> argv;
    for (auto& a : all) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  close(o[1]);
  char buf[65536];
  ssize_t n;
  while ((n = read(o[0], buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  close(o[0]);
  int st = 0;
  waitpid(pid, &st, 0);
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

size_t count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

TEST(BenchReportChromium, RendersPlotsWithoutErrors) {
  if (access(kChromium, X_OK) != 0) GTEST_SKIP() << "chromium not installed (scripts/install-deps)";
  std::string tmpl = ::testing::TempDir() + "rtcell-chromium-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
  const std::string dir = tmpl;
  const std::string profile = dir + "/profile";
  std::filesystem::create_directories(profile);

  rtcell::report::BenchRun run = rtcell::testdata::bench_run(2);
  run.id = 3;
  rtcell::report::write_html_report(dir + "/report", run);
  // The same bytes as XHTML: Chromium's XML parser refuses malformed markup
  // with a visible "This page contains the following errors" page.
  std::filesystem::copy_file(dir + "/report/index.html", dir + "/report/index.xhtml");

  std::string dom;
  ASSERT_EQ(chromium(profile, {"--dump-dom", "file://" + dir + "/report/index.xhtml"}, dom), 0);
  EXPECT_EQ(dom.find("This page contains the following errors"), std::string::npos) << dom.substr(0, 2000);
  EXPECT_EQ(dom.find("parsererror"), std::string::npos);
  EXPECT_NE(dom.find("id=\"rtcell-report\""), std::string::npos) << dom.substr(0, 2000);
  // The percentile plot and three histograms (rows with data), each drawn.
  EXPECT_EQ(count(dom, "<svg"), 4u);
  EXPECT_EQ(count(dom, "<polyline"), 9u);
  EXPECT_NE(dom.find("cell (host net), load"), std::string::npos);

  std::string ignored;
  const std::string png = dir + "/shot.png";
  ASSERT_EQ(
      chromium(profile,
               {"--window-size=1000,2400", "--screenshot=" + png, "file://" + dir + "/report/index.html"},
               ignored),
      0);
  auto bytes = rtcell::sys::try_read_file(png);
  ASSERT_TRUE(bytes);
  EXPECT_EQ(bytes->substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));
  // A blank page compresses to a few kB; plots and text make it much larger.
  EXPECT_GT(bytes->size(), 20'000u);
  if (std::getenv("RTCELL_KEEP_SCREENSHOT") == nullptr) std::filesystem::remove_all(dir);
}

}  // namespace
