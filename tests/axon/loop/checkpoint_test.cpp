// checkpoint: file names, keep-last-N, keep-best, the "latest" pointer, and a writer killed
// (SIGKILL) at random moments during saves never leaves a damaged checkpoint behind.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <random>
#include <set>
#include <thread>

#include "axon/loop/handlers.hpp"
#include "axon/loop/serialize.hpp"
#include "handler_test_helpers.hpp"

extern char** environ;

namespace {

using axon::loop::MonitorMode;
using axon::loop::State;
using loop_test::TempDir;

std::set<std::string> files_in(const std::filesystem::path& dir) {
  std::set<std::string> out;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    out.insert(e.path().filename().string());
  }
  return out;
}

TEST(LoopCheckpoint, WritesEveryEpochWithAxonsNamesAndALatestPointer) {
  TempDir dir;
  auto loop = axon::loop::checkpoint(loop_test::counting_loop(), {.path = dir.path() / "ck"});
  auto data = loop_test::scalar_source(2);
  State s = loop.run(data, {}, {.epochs = 3});
  EXPECT_EQ(files_in(dir.path() / "ck"),
            (std::set<std::string>{"checkpoint_0_2.ckpt", "checkpoint_1_2.ckpt",
                                   "checkpoint_2_2.ckpt", "latest"}));
  auto latest = axon::loop::latest_checkpoint(dir.path() / "ck");
  ASSERT_TRUE(latest.has_value());
  EXPECT_EQ(latest->filename(), "checkpoint_2_2.ckpt");
  State back = axon::loop::load_state(*latest);
  EXPECT_EQ(back.epoch, 2);
  EXPECT_EQ(back.step_state["n"].leaf().item<float>(), 6.0f);
  EXPECT_FALSE(axon::loop::latest_checkpoint(dir.path() / "nothing").has_value());
}

TEST(LoopCheckpoint, KeepLastAndCustomNamesAndFilters) {
  TempDir dir;
  auto loop = axon::loop::checkpoint(
      loop_test::counting_loop(),
      {.event = axon::loop::Event::IterationCompleted,
       .path = dir.path(),
       .file_pattern = [](const State& s) { return "it" + std::to_string(s.total_iteration); },
       .keep_last = 2,
       .write_latest = false,
       .filter = {.every = 2}});
  auto data = loop_test::scalar_source(3);
  loop.run(data, {}, {.epochs = 3});  // iterations 1..9, saved at 1, 3, 5, 7, 9
  EXPECT_EQ(files_in(dir.path()), (std::set<std::string>{"it7", "it9"}));
}

TEST(LoopCheckpoint, KeepBestByCriteria) {
  TempDir dir;
  auto base =
      loop_test::with_scripted_metric(loop_test::counting_loop(), "val", {3, 1, 4, 1.5, 5, 0.5, 9});
  auto data = loop_test::scalar_source(1);
  axon::loop::checkpoint(base, {.path = dir.path() / "min", .criteria = "val", .keep_best = 2})
      .run(data, {}, {.epochs = 7});
  EXPECT_EQ(files_in(dir.path() / "min"),
            (std::set<std::string>{"checkpoint_1_1.ckpt", "checkpoint_5_1.ckpt", "latest"}));
  EXPECT_EQ(axon::loop::latest_checkpoint(dir.path() / "min")->filename(), "checkpoint_5_1.ckpt");
  axon::loop::checkpoint(
      base,
      {.path = dir.path() / "max", .keep_last = 1, .criteria = "val", .mode = MonitorMode::Max})
      .run(data, {}, {.epochs = 6});
  // Best (5 at epoch 4) and the newest (epoch 5).
  EXPECT_EQ(files_in(dir.path() / "max"),
            (std::set<std::string>{"checkpoint_4_1.ckpt", "checkpoint_5_1.ckpt", "latest"}));
  EXPECT_THROW(axon::loop::checkpoint(base, {.criteria = "val", .keep_best = 0}), nx::Error);
  EXPECT_THROW(axon::loop::checkpoint(base, {.keep_last = -1}), nx::Error);
}

// ---- crash safety ----

constexpr const char* kChildEnv = "AXON_LOOP_CHECKPOINT_CRASH_PATH";
constexpr int64_t kElements = 1 << 21;  // 8 MB of f32 per state

State numbered_state(int64_t i) {
  State s;
  s.step_state = nx::Tree{{"w", nx::full({kElements}, static_cast<double>(i), nx::f32)},
                          {"i", nx::scalar(static_cast<double>(i), nx::s64)}};
  s.epoch = i;
  s.metrics["i"] = static_cast<double>(i);
  return s;
}

// Run only as the child of CrashDuringSaveNeverDamagesTheCheckpoint: saves numbered states to
// one path until killed.
TEST(LoopCheckpointCrashChild, SaveForever) {
  const char* path = std::getenv(kChildEnv);
  if (!path) GTEST_SKIP() << "the child process of LoopCheckpoint.CrashDuringSave...";
  // Numbers continue from the file's, so every replacement is visible to the parent.
  int64_t i = axon::loop::load_state(path).step_state["i"].leaf().item<int64_t>();
  for (++i;; ++i) axon::loop::save_state(numbered_state(i), path);
}

TEST(LoopCheckpoint, CrashDuringSaveNeverDamagesTheCheckpoint) {
  TempDir dir;
  const std::filesystem::path path = dir.path() / "state.ckpt";
  axon::loop::save_state(numbered_state(0), path);
  // The child is this test binary run afresh (exec after fork: no inherited thread state).
  std::vector<std::string> env_strings;
  for (char** e = environ; *e; ++e) env_strings.emplace_back(*e);
  env_strings.push_back(std::string(kChildEnv) + "=" + path.string());
  std::vector<char*> envp;
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::string exe = std::filesystem::read_symlink("/proc/self/exe").string();
  std::string filter = "--gtest_filter=LoopCheckpointCrashChild.SaveForever";
  char* argv[] = {exe.data(), filter.data(), nullptr};

  std::mt19937 rng(1234);
  std::uniform_int_distribution<int> delay_ms(0, 150);
  int64_t last = 0, advanced = 0;
  for (int round = 0; round < 8; ++round) {
    const pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      execve(argv[0], argv, envp.data());
      _exit(127);
    }
    // Wait until the writer has replaced the file once (however slow its start), then kill it
    // at a random moment of the following saves.
    const auto inode = [&] {
      struct stat st {};
      return ::stat(path.c_str(), &st) == 0 ? st.st_ino : ino_t{0};
    };
    const ino_t before = inode();
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (inode() == before && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms(rng)));
    ASSERT_EQ(kill(pid, SIGKILL), 0);
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFSIGNALED(status)) << "the writer ended by itself: status " << status;
    // Whatever moment the kill came, the file is one complete state.
    State s = axon::loop::load_state(path);
    const int64_t i = s.step_state["i"].leaf().item<int64_t>();
    EXPECT_EQ(s.epoch, i);
    EXPECT_EQ(s.metrics["i"], static_cast<double>(i));
    const nx::Tensor w = s.step_state["w"].leaf();
    ASSERT_EQ(w.size(), kElements);
    EXPECT_TRUE(nx::all(nx::equal(w, static_cast<double>(i))).item<bool>()) << "round " << round;
    if (i > last) ++advanced;
    last = i;
  }
  // The writers did replace the file before being killed (otherwise the test proves nothing).
  EXPECT_EQ(advanced, 8);
}

}  // namespace
