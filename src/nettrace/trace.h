// Traces of short and long lived requests, and the
// registry of live tasks (the native counterpart of goroutines).
//
// Every unit of work opens a trace: a connection, a queue item, a delivery
// attempt, an STS fetch. Usage:
//
//   nettrace::Trace tr("SMTP.Conn", peer_addr);
//   tr.Printf("EHLO " + name);          // event, logged at info
//   tr.Debugf("<- " + line);            // event, logged at debug (-v=1)
//   tr.Error("timeout");                // event "error: timeout", marks it
//   nettrace::Trace child = tr.NewChild("SPF", ip);
//   ...                                  // finished when destroyed/Finish()
//
// Each message is mirrored to the ordinary log as
// "<family> <title>: <text>" with the text Go-quoted without the outer
// quotes (tests grep "Queue.SendLoop <id>: <rcpt> sent").
//
// A Trace is a move-only handle; the store keeps finished traces in bounded
// rings (10 per latency bucket, 10 errors per family) and caps events at 100
// per trace (first 33 kept, then a ring of the last 67). All methods are
// thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace chasquid::nettrace {

struct TraceData;  // Internal; see store.h.

class Trace {
 public:
  Trace(std::string family, std::string title);
  Trace(Trace&&) noexcept;
  Trace& operator=(Trace&&) noexcept;
  ~Trace();  // Finishes the trace if still open.

  Trace NewChild(std::string family, std::string title);
  // Records that `other` (e.g. a queue item's trace) relates to this one.
  void Link(const Trace& other, std::string msg);

  void Printf(std::string msg);
  void Debugf(std::string msg);
  void Error(std::string msg);  // Stored and logged as "error: <msg>".
  // Stores the event without writing it to the log (very chatty events).
  void Event(std::string msg);
  void Finish();

  std::string id() const;
  std::string family() const;
  std::string title() const;

 private:
  explicit Trace(std::shared_ptr<TraceData> d);
  std::shared_ptr<TraceData> d_;
};

// A live task: a connection, a queue item's send loop, a background
// refresher. Shown on the tasks page with its state and age; unregistered
// when destroyed. Move-only, thread-safe.
class Task {
 public:
  Task(std::string kind, std::string name);
  Task(Task&&) noexcept;
  Task& operator=(Task&&) noexcept;
  ~Task();
  void SetState(std::string state);

  struct Info {
    uint64_t id;
    std::string kind, name, state;
    std::chrono::system_clock::time_point started, state_since;
  };
  static std::vector<Info> Snapshot();

 private:
  uint64_t id_ = 0;
};

}  // namespace chasquid::nettrace
