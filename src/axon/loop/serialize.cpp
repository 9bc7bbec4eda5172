// save_state / load_state: a loop State as safetensors (tensors) plus JSON metadata (the rest),
// written atomically.
#include "axon/loop/serialize.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <set>
#include <sstream>
#include <utility>

#include "nx/error.hpp"
#include "nx/io.hpp"
#include "nx/io/json.hpp"

namespace axon::loop {

namespace {

using nx::io::detail::Json;
using nx::io::detail::json_quote;

constexpr const char* kWhere = "axon::loop::load_state";
constexpr const char* kMetaKey = "axon.loop.state";
constexpr int64_t kVersion = 1;

[[noreturn]] void bad(const std::string& what) {
  throw nx::Error(std::string(kWhere) + ": " + what);
}

// ---- writing ----

std::string num(double v) {
  if (std::isnan(v)) return "\"NaN\"";
  if (std::isinf(v)) return v > 0 ? "\"Infinity\"" : "\"-Infinity\"";
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

std::string str(const std::string& s) {
  return json_quote(s);
}

// The structure of a tree: a leaf is 0, a list an array, a map an object (keys in order).
std::string structure(const nx::Tree& t) {
  if (t.is_leaf()) return "0";
  std::string out = t.is_list() ? "[" : "{";
  for (size_t i = 0; i < t.size(); ++i) {
    if (i) out += ',';
    if (t.is_map()) out += str(t.keys()[i]) + ':';
    out += structure(t[i]);
  }
  return out + (t.is_list() ? "]" : "}");
}

std::string metric_map(const std::map<std::string, double>& m) {
  std::string out = "{";
  for (const auto& [k, v] : m) out += (out.size() > 1 ? "," : "") + str(k) + ':' + num(v);
  return out + "}";
}

std::string paths(const std::set<ParamPath>& ps) {
  std::string out = "[";
  for (const auto& p : ps) {
    out += out.size() > 1 ? ",[" : "[";
    for (size_t i = 0; i < p.size(); ++i) out += (i ? "," : "") + str(p[i]);
    out += "]";
  }
  return out + "]";
}

const Event kEvents[] = {
    Event::Started,        Event::EpochStarted, Event::IterationStarted, Event::IterationCompleted,
    Event::EpochCompleted, Event::EpochHalted,  Event::Halted,           Event::Completed};

const char* status_name(Status s) {
  switch (s) {
    case Status::Running:
      return "running";
    case Status::Completed:
      return "completed";
    case Status::Halted:
      return "halted";
  }
  return "?";
}

std::string state_json(const State& s, const nx::Tree& tensors) {
  std::ostringstream os;
  os << "{\"version\":" << kVersion << ",\"tensors\":" << structure(tensors)
     << ",\"epoch\":" << s.epoch << ",\"max_epoch\":" << s.max_epoch
     << ",\"iteration\":" << s.iteration << ",\"total_iteration\":" << s.total_iteration
     << ",\"max_iteration\":" << s.max_iteration
     << ",\"epoch_batches\":" << (s.epoch_batches ? std::to_string(*s.epoch_batches) : "null")
     << ",\"metrics\":" << metric_map(s.metrics) << ",\"history\":{";
  bool first = true;
  for (const auto& [e, m] : s.history) {
    os << (first ? "" : ",") << str(std::to_string(e)) << ':' << metric_map(m);
    first = false;
  }
  os << "},\"times\":{";
  first = true;
  for (const auto& [e, t] : s.times) {
    os << (first ? "" : ",") << str(std::to_string(e)) << ':' << num(t);
    first = false;
  }
  os << "},\"handler_metadata\":{";
  first = true;
  for (const auto& [name, m] : s.handler_metadata) {
    os << (first ? "" : ",") << str(name) << ':' << metric_map(m);
    first = false;
  }
  os << "},\"status\":" << str(status_name(s.status)) << ",\"event_counts\":{";
  first = true;
  for (const auto& [e, c] : s.event_counts) {
    os << (first ? "" : ",") << str(event_name(e)) << ":[" << c.total << ',' << c.epoch << ']';
    first = false;
  }
  os << "},\"model_masks\":{\"state\":" << paths(s.model_masks.state)
     << ",\"frozen\":" << paths(s.model_masks.frozen) << "}}";
  return os.str();
}

// ---- reading ----

const Json& field(const Json& obj, const std::string& key) {
  if (obj.type != Json::Type::Object) bad("the state metadata is not a JSON object");
  for (size_t i = 0; i < obj.keys.size(); ++i) {
    if (obj.keys[i] == key) return obj.items[i];
  }
  bad("the state metadata has no \"" + key + "\"");
}

const Json& typed(const Json& v, Json::Type t, const std::string& what) {
  if (v.type != t) {
    bad(what + " is " + nx::io::detail::json_type_name(v.type) + ", expected " +
        nx::io::detail::json_type_name(t));
  }
  return v;
}

int64_t to_int(const Json& v, const std::string& what) {
  typed(v, Json::Type::Number, what);
  errno = 0;
  char* end = nullptr;
  const long long x = std::strtoll(v.text.c_str(), &end, 10);
  if (errno != 0 || end != v.text.c_str() + v.text.size()) bad(what + " is not an integer");
  return static_cast<int64_t>(x);
}

double to_double(const Json& v, const std::string& what) {
  if (v.type == Json::Type::String) {
    if (v.text == "NaN") return std::nan("");
    if (v.text == "Infinity") return HUGE_VAL;
    if (v.text == "-Infinity") return -HUGE_VAL;
    bad(what + " is the string \"" + v.text + "\", expected a number");
  }
  typed(v, Json::Type::Number, what);
  return std::strtod(v.text.c_str(), nullptr);
}

std::map<std::string, double> to_metric_map(const Json& v, const std::string& what) {
  typed(v, Json::Type::Object, what);
  std::map<std::string, double> out;
  for (size_t i = 0; i < v.keys.size(); ++i) {
    out[v.keys[i]] = to_double(v.items[i], what + "." + v.keys[i]);
  }
  return out;
}

int64_t to_epoch(const std::string& key, const std::string& what) {
  errno = 0;
  char* end = nullptr;
  const long long x = std::strtoll(key.c_str(), &end, 10);
  if (key.empty() || errno != 0 || *end != '\0') bad(what + " has a key \"" + key + "\"");
  return static_cast<int64_t>(x);
}

std::set<ParamPath> to_paths(const Json& v, const std::string& what) {
  typed(v, Json::Type::Array, what);
  std::set<ParamPath> out;
  for (const Json& p : v.items) {
    typed(p, Json::Type::Array, what + " entry");
    ParamPath path;
    for (const Json& s : p.items) path.push_back(typed(s, Json::Type::String, what).text);
    out.insert(std::move(path));
  }
  return out;
}

// Rebuilds the tree of structure `def` taking leaves by dotted path from `file`.
nx::Tree rebuild(const Json& def, const std::string& path, const nx::Tree& file, size_t& used) {
  switch (def.type) {
    case Json::Type::Number: {
      const nx::Tree* t = file.find(path);
      if (!t) bad("the file has no tensor \"" + path + "\"");
      ++used;
      return *t;
    }
    case Json::Type::Array: {
      nx::Tree::List items;
      for (size_t i = 0; i < def.items.size(); ++i) {
        items.push_back(rebuild(def.items[i], path + (path.empty() ? "" : ".") + std::to_string(i),
                                file, used));
      }
      return nx::Tree(std::move(items));
    }
    case Json::Type::Object: {
      nx::Tree::Map entries;
      for (size_t i = 0; i < def.items.size(); ++i) {
        entries.emplace_back(
            def.keys[i],
            rebuild(def.items[i], path + (path.empty() ? "" : ".") + def.keys[i], file, used));
      }
      return nx::Tree(std::move(entries));
    }
    default:
      bad("a malformed tree structure");
  }
}

std::string errno_text() {
  return std::strerror(errno);
}

}  // namespace

std::vector<uint8_t> encode_state(const State& state) {
  nx::Tree tensors{{"step_state", state.step_state}};
  if (!state.model_masks.data.is_map() || state.model_masks.data.size() > 0) {
    tensors = tensors.set("model_masks", state.model_masks.data);
  }
  // Dotted paths must name the leaves uniquely (map keys with dots could collide).
  std::set<std::string> seen;
  for (const auto& pl : nx::tree_flatten_with_paths(tensors)) {
    if (!seen.insert(pl.path).second) {
      throw nx::Error("axon::loop::save_state: two step-state tensors have the path \"" + pl.path +
                      "\" (map keys with dots?)");
    }
  }
  return nx::io::encode_safetensors(tensors, {{kMetaKey, state_json(state, tensors)}});
}

State decode_state(std::span<const uint8_t> bytes) {
  nx::io::Safetensors file = nx::io::decode_safetensors(bytes);
  auto it = file.metadata.find(kMetaKey);
  if (it == file.metadata.end()) bad("not a loop state (no \"axon.loop.state\" metadata)");
  const Json j = nx::io::detail::parse_json(it->second, kWhere);
  if (to_int(field(j, "version"), "version") != kVersion) bad("unknown state version");
  size_t used = 0;
  nx::Tree tensors = rebuild(field(j, "tensors"), "", file.tensors, used);
  if (used != file.tensors.size()) bad("the file has tensors the structure does not name");
  State s;
  s.step_state = tensors["step_state"];
  if (const nx::Tree* m = tensors.find("model_masks")) s.model_masks.data = *m;
  s.epoch = to_int(field(j, "epoch"), "epoch");
  s.max_epoch = to_int(field(j, "max_epoch"), "max_epoch");
  s.iteration = to_int(field(j, "iteration"), "iteration");
  s.total_iteration = to_int(field(j, "total_iteration"), "total_iteration");
  s.max_iteration = to_int(field(j, "max_iteration"), "max_iteration");
  const Json& eb = field(j, "epoch_batches");
  if (eb.type != Json::Type::Null) s.epoch_batches = to_int(eb, "epoch_batches");
  s.metrics = to_metric_map(field(j, "metrics"), "metrics");
  const Json& h = typed(field(j, "history"), Json::Type::Object, "history");
  for (size_t i = 0; i < h.keys.size(); ++i) {
    s.history[to_epoch(h.keys[i], "history")] = to_metric_map(h.items[i], "history");
  }
  const Json& t = typed(field(j, "times"), Json::Type::Object, "times");
  for (size_t i = 0; i < t.keys.size(); ++i) {
    s.times[to_epoch(t.keys[i], "times")] = to_double(t.items[i], "times");
  }
  const Json& hm = typed(field(j, "handler_metadata"), Json::Type::Object, "handler_metadata");
  for (size_t i = 0; i < hm.keys.size(); ++i) {
    s.handler_metadata[hm.keys[i]] = to_metric_map(hm.items[i], "handler_metadata");
  }
  const std::string status = typed(field(j, "status"), Json::Type::String, "status").text;
  if (status == "running") {
    s.status = Status::Running;
  } else if (status == "completed") {
    s.status = Status::Completed;
  } else if (status == "halted") {
    s.status = Status::Halted;
  } else {
    bad("unknown status \"" + status + "\"");
  }
  const Json& ec = typed(field(j, "event_counts"), Json::Type::Object, "event_counts");
  for (size_t i = 0; i < ec.keys.size(); ++i) {
    const Event* e = nullptr;
    for (const Event& k : kEvents) {
      if (ec.keys[i] == event_name(k)) e = &k;
    }
    if (!e) bad("unknown event \"" + ec.keys[i] + "\"");
    const Json& c = typed(ec.items[i], Json::Type::Array, "event_counts." + ec.keys[i]);
    if (c.items.size() != 2) bad("event_counts." + ec.keys[i] + " is not [total, epoch]");
    s.event_counts[*e] = {to_int(c.items[0], "event count"), to_int(c.items[1], "event count")};
  }
  const Json& mm = field(j, "model_masks");
  s.model_masks.state = to_paths(field(mm, "state"), "model_masks.state");
  s.model_masks.frozen = to_paths(field(mm, "frozen"), "model_masks.frozen");
  return s;
}

void write_file_atomically(const std::filesystem::path& path, std::span<const uint8_t> bytes,
                           const std::string& where) {
  auto fail = [&](const std::string& what) { throw nx::Error(where + ": " + what); };
  std::filesystem::path dir = path.parent_path();
  if (dir.empty()) dir = ".";
  static std::atomic<uint64_t> counter{0};
  const auto now = std::chrono::steady_clock::now().time_since_epoch().count();
  const std::filesystem::path tmp =
      dir / ("." + path.filename().string() + ".tmp." + std::to_string(getpid()) + "." +
             std::to_string(counter++) + "." + std::to_string(now));
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) fail("cannot create \"" + tmp.string() + "\": " + errno_text());
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const std::string e = errno_text();
      ::close(fd);
      ::unlink(tmp.c_str());
      fail("cannot write \"" + tmp.string() + "\": " + e);
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    const std::string e = errno_text();
    ::unlink(tmp.c_str());
    fail("cannot flush \"" + tmp.string() + "\": " + e);
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const std::string e = errno_text();
    ::unlink(tmp.c_str());
    fail("cannot rename \"" + tmp.string() + "\" to \"" + path.string() + "\": " + e);
  }
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
}

void save_state(const State& state, const std::filesystem::path& path) {
  std::vector<uint8_t> bytes = encode_state(state);
  write_file_atomically(path, bytes, "axon::loop::save_state");
}

State load_state(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw nx::Error(std::string(kWhere) + ": cannot open \"" + path.string() + "\"");
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)),
                             std::istreambuf_iterator<char>());
  if (in.bad()) throw nx::Error(std::string(kWhere) + ": cannot read \"" + path.string() + "\"");
  try {
    return decode_state(bytes);
  } catch (const nx::Error& e) {
    throw nx::Error(std::string(kWhere) + " (\"" + path.string() + "\"): " + e.what());
  }
}

}  // namespace axon::loop
