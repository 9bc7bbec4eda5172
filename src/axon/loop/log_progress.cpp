// log_progress: the live progress bar (or plain lines when the output is not a terminal).
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <iomanip>
#include <iostream>
#include <memory>
#include <sstream>

#include "axon/loop/handlers.hpp"

namespace axon::loop {

namespace {

std::string clock(double seconds) {
  const auto s = static_cast<int64_t>(std::llround(std::max(0.0, seconds)));
  std::ostringstream os;
  os << s / 3600 << ':' << std::setw(2) << std::setfill('0') << (s / 60) % 60 << ':' << std::setw(2)
     << std::setfill('0') << s % 60;
  return os.str();
}

std::string metrics_text(const State& s) {
  std::ostringstream os;
  for (const auto& [k, v] : s.metrics)
    os << "  " << k << ": " << std::setprecision(4) << std::fixed << v;
  return os.str();
}

struct Progress {
  std::chrono::steady_clock::time_point epoch_start;
  size_t last_width = 0;
};

}  // namespace

Loop log_progress(const Loop& loop, const LogOptions& opts) {
  if (opts.every < 1) throw nx::Error("axon::loop::log_progress: every must be >= 1");
  std::ostream* out = opts.out ? opts.out : &std::cerr;
  const bool live = opts.live.value_or(opts.out == nullptr && isatty(STDERR_FILENO));
  auto progress = std::make_shared<Progress>();
  Loop l = loop.handle_event(Event::EpochStarted, [progress](State&) {
    progress->epoch_start = std::chrono::steady_clock::now();
    progress->last_width = 0;
    return Control::Continue;
  });
  if (live) {
    l = l.handle_event(
        Event::IterationCompleted,
        [out, progress](State& s) {
          const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() -
                                                               progress->epoch_start)
                                     .count();
          const double per = elapsed / static_cast<double>(s.iteration);
          std::ostringstream line;
          line << "Epoch " << s.epoch + 1 << "/" << s.max_epoch << "  batch " << s.iteration;
          if (s.epoch_batches) line << "/" << *s.epoch_batches;
          line << "  " << std::setprecision(3) << per * 1e3 << " ms/batch";
          if (s.epoch_batches) {
            line << "  ETA " << clock(per * static_cast<double>(*s.epoch_batches - s.iteration));
          }
          line << metrics_text(s);
          std::string text = line.str();
          const size_t width = text.size();
          if (width < progress->last_width) text += std::string(progress->last_width - width, ' ');
          progress->last_width = width;
          *out << '\r' << text << std::flush;
          return Control::Continue;
        },
        {.every = opts.every, .per_epoch = true});
  }
  auto epoch_end = [out, live](State& s) {
    std::ostringstream line;
    line << "Epoch " << s.epoch + 1 << "/" << s.max_epoch << "  " << s.iteration << " batches in "
         << std::setprecision(3) << std::fixed << s.times[s.epoch] << " s" << metrics_text(s);
    *out << (live ? "\r" : "") << line.str() << (live ? "\033[K" : "") << "\n" << std::flush;
    return Control::Continue;
  };
  return l.handle_event({Event::EpochCompleted, Event::EpochHalted}, epoch_end);
}

}  // namespace axon::loop
