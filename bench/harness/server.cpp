// nx_bench: serves the registry over a line protocol on stdin/stdout, so that bench/run.py can
// keep this process alive and alternate our runs with reference runs in other processes.
//
//   hello                  -> "ok SYSTEM" (what this worker measures)
//   list                   one JSON object per benchmark, then "end"
//   setup KEY              builds the inputs of KEY             -> "ok" | "error MESSAGE"
//   run KEY REPS           times REPS back-to-back calls        -> "ok SECONDS" | "error MESSAGE"
//   teardown KEY           frees KEY's inputs                   -> "ok"
//   quit                   exits
//
// KEY is a benchmark name (our side) or NAME#KIND (its native reference of that kind). One reply
// line per request; diagnostics go to stderr. `nx_bench --once NAME [REPS]` times one workload
// without the driver, for profiling. `nx_bench --peak-rss NAME [REPS]` sets NAME up in this fresh
// process, runs it REPS times and prints "ok PEAK_BYTES START_BYTES SYSTEM": the process's peak
// resident set (getrusage's ru_maxrss) and its resident set before the setup (bench/run.py
// measures the MiB benchmarks this way).
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <exception>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <string>

#include "registry.hpp"

namespace nx_bench {
namespace {

std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(c));
      out += buf;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

std::string describe(const Benchmark& b) {
  std::ostringstream os;
  os.precision(17);
  os << "{\"name\":" << json_string(b.name) << ",\"unit\":" << json_string(unit_name(b.unit))
     << ",\"higher_is_better\":" << (higher_is_better(b.unit) ? "true" : "false")
     << ",\"work\":" << b.work << ",\"description\":" << json_string(b.description)
     << ",\"references\":[";
  for (size_t i = 0; i < b.references.size(); ++i) {
    const Reference& r = b.references[i];
    os << (i ? "," : "") << "{\"kind\":" << json_string(r.kind);
    if (r.setup) {
      os << ",\"key\":" << json_string(b.name + "#" + r.kind)
         << ",\"system\":" << json_string(r.system);
    }
    os << "}";
  }
  os << "]}";
  return os.str();
}

// The setup function behind KEY (NAME, or NAME#KIND for a native reference), or nullptr.
const Setup* find_setup(const std::string& key) {
  const size_t hash = key.find('#');
  const Benchmark* b = find_benchmark(key.substr(0, hash));
  if (!b) return nullptr;
  if (hash == std::string::npos) return &b->setup;
  for (const Reference& r : b->references) {
    if (r.setup && r.kind == key.substr(hash + 1)) return &r.setup;
  }
  return nullptr;
}

double time_calls(const RunOnce& run, long reps) {
  auto start = std::chrono::steady_clock::now();
  for (long i = 0; i < reps; ++i) run();
  auto stop = std::chrono::steady_clock::now();
  return std::chrono::duration<double>(stop - start).count();
}

// Exceptions from a workload become "error" replies: a kernel that throws makes its benchmark
// fail, not the whole run.
std::string one_line(const std::string& s) {
  std::string out = s;
  for (char& c : out) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  return out;
}

int serve() {
  std::map<std::string, RunOnce> live;
  std::string line;
  while (std::getline(std::cin, line)) {
    std::istringstream in(line);
    std::string cmd, key;
    in >> cmd >> key;
    std::string reply;
    try {
      if (cmd == "hello") {
        reply = "ok nx (this build)";
      } else if (cmd == "list") {
        for (const Benchmark& b : benchmarks()) std::cout << describe(b) << "\n";
        reply = "end";
      } else if (cmd == "setup") {
        const Setup* setup = find_setup(key);
        if (!setup) {
          reply = "error unknown benchmark " + key;
        } else {
          live.erase(key);  // Free a previous instance before building the next.
          live[key] = (*setup)();
          reply = "ok";
        }
      } else if (cmd == "run") {
        long reps = 0;
        in >> reps;
        auto it = live.find(key);
        if (it == live.end()) {
          reply = "error " + key + " is not set up";
        } else if (reps < 1) {
          reply = "error run needs REPS >= 1";
        } else {
          std::ostringstream os;
          os.precision(9);
          os << "ok " << time_calls(it->second, reps);
          reply = os.str();
        }
      } else if (cmd == "teardown") {
        live.erase(key);
        reply = "ok";
      } else if (cmd == "quit") {
        return 0;
      } else {
        reply = "error unknown command " + cmd;
      }
    } catch (const std::exception& e) {
      reply = "error " + one_line(e.what());
    }
    std::cout << reply << std::endl;  // Flush: the driver waits for this line.
  }
  return 0;
}

int once(const std::string& key, long reps) {
  const Setup* setup = find_setup(key);
  if (!setup) {
    std::cerr << "nx_bench: unknown benchmark " << key << "\n";
    return 2;
  }
  RunOnce run = (*setup)();
  run();
  double s = time_calls(run, reps);
  std::cout << key << ": " << s / static_cast<double>(reps) * 1e6 << " us/call over " << reps
            << " calls\n";
  return 0;
}

// Resident bytes now (/proc/self/statm's second field, in pages).
long long resident_bytes() {
  std::ifstream statm("/proc/self/statm");
  long long size = 0, resident = 0;
  statm >> size >> resident;
  return resident * sysconf(_SC_PAGESIZE);
}

int peak_rss(const std::string& key, long reps) {
  const Setup* setup = find_setup(key);
  if (!setup) {
    std::cout << "error unknown benchmark " << key << std::endl;
    return 2;
  }
  const long long start = resident_bytes();
  {
    RunOnce run = (*setup)();
    for (long i = 0; i < reps; ++i) run();
  }
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  std::cout << "ok " << static_cast<long long>(usage.ru_maxrss) * 1024 << " " << start
            << " nx (this build)" << std::endl;
  return 0;
}

}  // namespace
}  // namespace nx_bench

int main(int argc, char** argv) {
  try {
    if (argc >= 3 && std::string(argv[1]) == "--once") {
      return nx_bench::once(argv[2], argc >= 4 ? std::stol(argv[3]) : 10);
    }
    if (argc >= 3 && std::string(argv[1]) == "--peak-rss") {
      return nx_bench::peak_rss(argv[2], argc >= 4 ? std::stol(argv[3]) : 10);
    }
    return nx_bench::serve();
  } catch (const std::exception& e) {
    std::cerr << "nx_bench: " << e.what() << "\n";
    return 1;
  }
}
