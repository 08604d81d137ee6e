// `connector settings get|set|export|import|revisions|restore`: the admin API's settings
// rules from a shell, for scripts and for keeping the settings in version control.
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <iterator>
#include <sstream>

#include "connector/app/commands.hpp"
#include "connector/app/live_settings.hpp"
#include "connector/app/settings_api.hpp"
#include "connector/app/status_report.hpp"
#include "connector/store/settings_log.hpp"

namespace connector::app {
namespace {

using nlohmann::json;

constexpr const char* export_format = "connector-settings/1";

// Who saved, in the revisions list: the CLI and the account that ran it.
std::string cli_author() {
  const char* user = std::getenv("USER");
  return user && *user ? std::string("cli:") + user : std::string("cli");
}

expected<json, std::string> read_json_input(const std::string& path) {
  std::string text;
  if (path == "-") {
    text.assign(std::istreambuf_iterator<char>(std::cin), {});
  } else {
    std::ifstream in(path);
    if (!in) return unexpected{"cannot read " + path};
    text.assign(std::istreambuf_iterator<char>(in), {});
  }
  auto parsed = json::parse(text, nullptr, false);
  if (parsed.is_discarded())
    return unexpected{(path == "-" ? "stdin" : path) + " is not valid JSON"};
  return parsed;
}

int report(const save_outcome& outcome, const std::string& what) {
  if (outcome.status != 200) {
    std::cerr << "connector settings " << what << ": " << outcome.error << "\n";
    return outcome.status == 400 ? 2 : 1;
  }
  if (outcome.saved) {
    std::cout << "saved settings revision " << outcome.revision
              << "; a running service applies it within a second\n";
  } else {
    std::cout << "nothing changed: revision " << outcome.revision << " already holds this\n";
  }
  return 0;
}

int print_revisions(live_settings& live, std::size_t limit, bool as_json) {
  const auto list = live.list_revisions(limit);
  if (as_json) {
    json out = json::array();
    for (const auto& r : list) out.push_back(revision_to_json(r));
    std::cout << json{{"revisions", out}}.dump(2) << "\n";
    return 0;
  }
  if (list.empty()) {
    std::cout << "no settings revision yet: the file and the defaults apply\n";
    return 0;
  }
  std::cout << "REV    SAVED                     BY                SECTIONS\n";
  for (const auto& r : list) {
    std::string sections;
    for (const auto& s : r.sections) sections += (sections.empty() ? "" : ", ") + s;
    std::ostringstream line;
    line << std::left << std::setw(7) << r.revision << std::setw(26) << format_utc(r.saved_at)
         << std::setw(18) << r.saved_by << sections;
    std::cout << line.str() << "\n";
  }
  return 0;
}

// The page-managed sections as they apply: what export writes and import reads back.
json exported(const live_settings& live) {
  const auto now = live.current();
  json sections = json::object();
  for (const char* name : config::editable_sections) {
    const auto& managed = live.file().file_managed;
    if (std::find(managed.begin(), managed.end(), name) != managed.end()) continue;
    sections[name] = section_to_json(*now.settings, name);
  }
  return {{"format", export_format}, {"revision", now.revision}, {"settings", sections}};
}

int run_action(live_settings& live, const settings_cli_options& options) {
  const auto& action = options.action;
  if (action == "get") {
    const auto now = live.current();
    if (!options.section.empty()) {
      if (!is_editable_section(options.section)) {
        std::cerr << "connector settings get: no such section: " << options.section << "\n";
        return 2;
      }
      std::cout << section_to_json(*now.settings, options.section).dump(2) << "\n";
      return 0;
    }
    std::cout << json{{"revision", now.revision},
                      {"settings", editable_to_json(*now.settings)},
                      {"file_managed", live.file().file_managed}}
                     .dump(2)
              << "\n";
    return 0;
  }
  if (action == "revisions") return print_revisions(live, options.limit, options.json);
  if (action == "export") {
    std::cout << exported(live).dump(2) << "\n";
    return 0;
  }
  if (action == "restore") {
    return report(live.restore(options.revision, live.current().revision, cli_author()), "restore");
  }
  const auto input = read_json_input(options.file.empty() ? "-" : options.file);
  if (!input) {
    std::cerr << "connector settings " << action << ": " << input.error() << "\n";
    return 2;
  }
  if (action == "set") {
    const auto from = options.if_match.value_or(live.current().revision);
    return report(live.save_section(options.section, *input, from, cli_author()), "set");
  }
  if (action == "import") {
    if (!input->is_object() || input->value("format", "") != export_format ||
        !input->contains("settings")) {
      std::cerr << "connector settings import: expected what `connector settings export` "
                   "writes ({\"format\": \""
                << export_format << "\", \"settings\": {…}})\n";
      return 2;
    }
    return report(live.save_all((*input)["settings"], options.if_match, cli_author()), "import");
  }
  std::cerr << "connector settings: unknown action " << action << "\n";
  return 2;
}

}  // namespace

std::optional<config::settings> with_page_settings(const config::settings& file) {
  std::unique_ptr<store::settings_log> log;
  try {
    log = store::open_settings_log(store_settings_for(file));
  } catch (const std::exception&) {
    return file;  // no store yet, or one older than settings revisions: nothing was saved
  }
  try {
    system_clock clock;
    live_settings live(file, *log, clock);
    return *live.current().settings;
  } catch (const std::exception& e) {
    std::cerr << "connector: " << e.what() << "\n";
    return std::nullopt;
  }
}

int settings_command(const config::settings& settings, const settings_cli_options& options) {
  try {
    // Opening the store creates and migrates it (a fresh store can take an import).
    const auto location = store_settings_for(settings);
    { auto migrated = store::open_store(location); }
    auto log = store::open_settings_log(location);
    system_clock clock;
    live_settings live(settings, *log, clock, true);
    return run_action(live, options);
  } catch (const std::exception& e) {
    std::cerr << "connector settings " << options.action << ": " << e.what() << "\n";
    return 1;
  }
}

}  // namespace connector::app
