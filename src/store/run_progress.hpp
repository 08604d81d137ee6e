#pragma once
// run_log::update_run_counts without waiting, for any engine: the newest counts of each run
// wait here for the writer, and one queued write per run at a time writes whatever is newest
// when its turn comes, so calls faster than the commits collapse into one write.
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>

namespace connector::store {

class run_progress {
 public:
  using counts = std::map<std::string, std::int64_t>;

  // Keeps `newest`; true when the caller must queue a write (none is queued for the run).
  bool offer(std::int64_t run_id, const counts& newest);
  // On the writer thread, for a queued write: the counts to write, none when the run
  // finished meanwhile (forget). Counts offered from here on queue a write of their own.
  std::optional<counts> take(std::int64_t run_id);
  // The write changed nothing (the run is unknown, or finished by another process): nothing
  // is kept, unless newer counts already queued another write.
  void wrote_nothing(std::int64_t run_id);
  // The run finished: a write still queued finds nothing.
  void forget(std::int64_t run_id);

 private:
  struct pending {
    counts newest;
    bool write_queued = false;
  };
  std::mutex mutex_;
  std::map<std::int64_t, pending> runs_;
};

}  // namespace connector::store
