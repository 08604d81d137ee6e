#pragma once
// "What happened to user X, and why?" (`connector explain USER`, GET /admin/users/{id}): the
// link to iSpring, the Salesforce values last seen, what iSpring has now, what the connector
// would do now and why (the worker's mapping, scope rules and plan, without writing), and
// the user's history, newest first. One JSON answer; the terminal text is made from it.
#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "connector/config/config.hpp"
#include "connector/expected.hpp"
#include "connector/ispring/api.hpp"
#include "connector/store/interfaces.hpp"

namespace connector::app {

// Where the facts come from: the service's own store (admin API) or a reader opened beside
// the running service (the CLI).
struct user_facts {
  std::function<std::vector<store::user_match>(const store::user_query&)> search;
  std::function<std::optional<std::pair<std::string, std::string>>(const std::string&)>
      linked_record;  // iSpring user id → (organization, record id)
  std::function<std::optional<store::pending_record>(const std::string&, const std::string&)>
      record;
  std::function<std::optional<std::string>(const std::string&, const std::string&)> link;
  std::function<std::vector<store::history_event>(const std::string&, const std::string&,
                                                  std::size_t)>
      history;
  // (organization, department key) → the department linked to it; may be empty (none kept).
  std::function<std::optional<store::department_link>(const std::string&, const std::string&)>
      department_link;
};

user_facts facts_of(store::store_reader& reader);

struct explain_options {
  std::size_t limit = 50;  // timeline events, newest first
};

struct explain_error {
  int status = 404;  // 404 unknown user, 409 several users match
  std::string message;
};

// `user`: a Salesforce record id (15 or 18 characters), a username or e-mail (the mapping's
// login and e-mail fields, ignoring case), or an iSpring user id. `ispring` null: offline.
expected<nlohmann::json, explain_error> explain_user(const std::string& user,
                                                     const config::settings& settings,
                                                     const user_facts& facts, ispring::api* ispring,
                                                     const explain_options& options);

// The answer for a terminal: sections, then the timeline one event a line.
std::string explain_to_text(const nlohmann::json& answer);

// One history event in words: "notification received (outbound message 04l…)".
std::string describe_event(const store::history_event& event);

// Adds details.coalesced_since to each received notification that merged into a change
// already waiting: one received earlier with no applied, skipped or dead letter since
// (failures and retries keep it waiting; a re-queue starts a wait). Intake stores no such
// note, to stay cheap; it is read here from the events before. `newest_first` is a window:
// what waited before its oldest event is not known, so a merge is dated from the window's
// first received notification at the earliest. Events that already carry the note keep it.
void note_merges(std::vector<store::history_event>& newest_first);

// GET /admin/users?q=: a small page of matches.
nlohmann::json matches_to_json(const std::vector<store::user_match>& matches);

}  // namespace connector::app
