// checkpoint: atomic state files on an event, with keep-last-N, keep-best and a "latest" pointer.
#include <algorithm>
#include <cmath>
#include <fstream>
#include <memory>
#include <system_error>
#include <utility>
#include <vector>

#include "axon/loop/handlers.hpp"
#include "axon/loop/serialize.hpp"
#include "nx/error.hpp"

namespace axon::loop {

namespace {

constexpr const char* kWhere = "axon::loop::checkpoint";

struct Written {
  std::string file;
  double score;  // the criteria value (NaN ranks last)
  int64_t order;
};

// Files this handler wrote, oldest first.
struct Ledger {
  std::vector<Written> files;
  int64_t next = 0;
};

bool better(const Written& a, const Written& b, MonitorMode mode) {
  if (std::isnan(a.score) != std::isnan(b.score)) return std::isnan(b.score);
  if (a.score != b.score) return mode == MonitorMode::Min ? a.score < b.score : a.score > b.score;
  return a.order > b.order;  // ties: the newer first
}

// Which of `files` survive the options.
std::vector<bool> kept(const std::vector<Written>& files, const CheckpointOptions& o) {
  const size_t n = files.size();
  if (!o.criteria && o.keep_last == 0) return std::vector<bool>(n, true);
  std::vector<bool> keep(n, false);
  if (o.keep_last > 0) {
    for (size_t i = n > static_cast<size_t>(o.keep_last) ? n - o.keep_last : 0; i < n; ++i)
      keep[i] = true;
  }
  if (o.criteria) {
    std::vector<size_t> idx(n);
    for (size_t i = 0; i < n; ++i) idx[i] = i;
    std::stable_sort(idx.begin(), idx.end(),
                     [&](size_t a, size_t b) { return better(files[a], files[b], o.mode); });
    for (size_t r = 0; r < idx.size() && r < static_cast<size_t>(o.keep_best); ++r)
      keep[idx[r]] = true;
  }
  return keep;
}

std::string default_name(const State& s) {
  return "checkpoint_" + std::to_string(s.epoch) + "_" + std::to_string(s.iteration) + ".ckpt";
}

// Removes temporary files a crashed writer left for `name` in `dir`.
void remove_stale_temps(const std::filesystem::path& dir) {
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    const std::string f = entry.path().filename().string();
    if (f.size() > 1 && f[0] == '.' && f.find(".tmp.") != std::string::npos &&
        (f.find(".ckpt.tmp.") != std::string::npos || f.starts_with(".latest.tmp."))) {
      std::filesystem::remove(entry.path(), ec);
    }
  }
}

}  // namespace

Loop checkpoint(const Loop& loop, const CheckpointOptions& opts) {
  if (opts.keep_last < 0) {
    throw nx::Error(std::string(kWhere) + ": keep_last must be >= 0, got " +
                    std::to_string(opts.keep_last));
  }
  if (opts.criteria && opts.keep_best < 1) {
    throw nx::Error(std::string(kWhere) + ": keep_best must be >= 1 with criteria, got " +
                    std::to_string(opts.keep_best));
  }
  if (opts.path.empty()) throw nx::Error(std::string(kWhere) + ": the path is empty");
  const CheckpointOptions o = opts;
  auto ledger = std::make_shared<Ledger>();
  Loop l = loop.handle_event(Event::Started, [o](State&) {
    std::error_code ec;
    std::filesystem::create_directories(o.path, ec);
    if (ec) {
      throw nx::Error(std::string(kWhere) + ": cannot create \"" + o.path.string() +
                      "\": " + ec.message());
    }
    remove_stale_temps(o.path);
    return Control::Continue;
  });
  auto save = [o, ledger](State& s) {
    const std::string file = o.file_pattern ? o.file_pattern(s) : default_name(s);
    if (file.empty() || file.find('/') != std::string::npos || file == "latest") {
      throw nx::Error(std::string(kWhere) + ": bad file name \"" + file + "\"");
    }
    double score = std::nan("");
    if (o.criteria) score = s.metric(*o.criteria);
    // A rewritten name replaces its earlier entry.
    std::erase_if(ledger->files, [&](const Written& w) { return w.file == file; });
    std::vector<Written> files = ledger->files;
    files.push_back({file, score, ledger->next++});
    std::vector<bool> keep = kept(files, o);
    if (!keep.back()) return Control::Continue;  // would be deleted at once: not worth writing
    std::error_code ec;
    std::filesystem::create_directories(o.path, ec);
    save_state(s, o.path / file);
    if (o.write_latest) {
      const std::string text = file + "\n";
      write_file_atomically(o.path / "latest",
                            {reinterpret_cast<const uint8_t*>(text.data()), text.size()}, kWhere);
    }
    std::vector<Written> survivors;
    for (size_t i = 0; i < files.size(); ++i) {
      if (keep[i]) {
        survivors.push_back(files[i]);
      } else {
        std::filesystem::remove(o.path / files[i].file, ec);
      }
    }
    ledger->files = std::move(survivors);
    return Control::Continue;
  };
  return l.handle_event(o.event, save, o.filter);
}

std::optional<std::filesystem::path> latest_checkpoint(const std::filesystem::path& dir) {
  std::ifstream in(dir / "latest");
  std::string name;
  if (!in || !std::getline(in, name) || name.empty()) return std::nullopt;
  std::filesystem::path p = dir / name;
  std::error_code ec;
  if (!std::filesystem::is_regular_file(p, ec)) return std::nullopt;
  return p;
}

}  // namespace axon::loop
