#pragma once
// The settings a piece of work runs on, as of one settings revision (settings edited in the
// admin page apply live): the worker takes a snapshot per record, a reconciliation run one
// at its start, so a run already going finishes on the revision it started with.
#include <cstdint>
#include <functional>
#include <memory>

#include "connector/config/config.hpp"

namespace connector::sync {

struct settings_snapshot {
  std::int64_t revision = 0;  // the settings revision (0: none saved, the file and defaults)
  std::shared_ptr<const config::settings> settings;
};

// The newest snapshot; cheap (no I/O), callable from any thread.
using settings_source = std::function<settings_snapshot()>;

}  // namespace connector::sync
