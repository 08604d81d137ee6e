#pragma once
// The subcommands of the `connector` binary. main.cpp only parses the command line and
// calls one of these.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "connector/config/config.hpp"
#include "connector/store/open.hpp"

namespace connector::app {

// The store as the settings ask for it: engine, history retention, the lookup fields.
store::store_settings store_settings_for(const config::settings& settings);

struct serve_options {
  std::optional<std::string> ready_file;  // written with the bound ports once listening
  // Tests only: the clock is the system clock plus the milliseconds this file holds.
  std::optional<std::string> clock_offset_file;
};

// Runs the service until SIGTERM or SIGINT; returns the process exit code.
int serve(const config::settings& settings, const serve_options& options);

// Prints what the inbox holds; `json` for scripts.
int status(const config::settings& settings, bool json);

// Verifies the configuration (and, as they are built, both sets of credentials);
// `send_test_email` also sends one alert e-mail.
int check(const config::settings& settings, bool send_test_email = false);

struct reconcile_cli_options {
  bool dry_run = false;
  bool json = false;
};

// Runs the full reconciliation in this process (one at a time, also with the service); a
// progress line on a terminal; the plan as a table (or JSON) for a dry run.
int reconcile(const config::settings& settings, const reconcile_cli_options& options);

// Recent reconciliation runs, newest first.
int runs(const config::settings& settings, std::size_t limit, bool json);

// Re-queues one dead letter (record id) or, with an empty id, all of them.
int retry(const config::settings& settings, const std::string& record_id);
// Lets records held by the safety limit through: every one when record_id is empty.
int release(const config::settings& settings, const std::string& record_id);

// Copies the SQLite store (store.sqlite_path) into the empty PostgreSQL database at
// `postgresql_url` ("env:NAME" reads it from that variable, so the password stays out of
// `ps`), printing the rows copied per table. The service must be stopped.
int migrate(const config::settings& settings, const std::string& postgresql_url);

// Applies one user now, printing each step (Entra's "provision on demand").
int sync_user(const config::settings& settings, const std::string& record_id);

struct explain_cli_options {
  bool offline = false;  // do not ask iSpring
  bool json = false;
  std::size_t limit = 50;
};

// What happened to one user and why (explain.hpp), read beside the running service.
int explain(const config::settings& settings, const std::string& user,
            const explain_cli_options& options);

struct settings_cli_options {
  std::string action;                    // get, set, export, import, revisions, restore
  std::string section;                   // get (optional), set
  std::string file;                      // set, import: a JSON file, or "-" for stdin
  std::optional<std::int64_t> if_match;  // set, import: refuse unless this is the newest
  std::int64_t revision = 0;             // restore
  std::size_t limit = 20;                // revisions
  bool json = false;                     // revisions
};

// `connector settings`: the settings edited in the admin page, with the admin API's rules
// (validation exactly as the file's, file-managed sections refused). Saves are signed
// "cli:$USER".
int settings_command(const config::settings& settings, const settings_cli_options& options);

// The settings as they apply: the file, with the sections it leaves out from the store's
// newest revision (the CLI's reconcile, sync-user, explain, check). nullopt (after saying
// why) when that revision does not fit the file.
std::optional<config::settings> with_page_settings(const config::settings& file);

// The whole command line; returns the exit code.
int run_cli(int argc, char** argv);

}  // namespace connector::app
