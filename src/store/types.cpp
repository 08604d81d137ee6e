#include "connector/store/types.hpp"

#include <cassert>

namespace connector::store {

const char* to_string(record_state state) {
  switch (state) {
    case record_state::pending:
      return "pending";
    case record_state::retrying:
      return "retrying";
    case record_state::done:
      return "done";
    case record_state::dead:
      return "dead";
    case record_state::held:
      return "held";
  }
  assert(false && "unknown record_state");
  return "pending";
}

}  // namespace connector::store
