// `connector reset-organization` (organization.hpp): shows what a reset forgets, then does
// it only when the configured organization is typed back.
#include <iostream>

#include "connector/app/commands.hpp"
#include "connector/app/organization.hpp"
#include "connector/store/open.hpp"

namespace connector::app {
namespace {

void print_view(const organization_view& view) {
  std::cout << "stored organization:     "
            << (view.stored ? view.stored->identity : std::string("(none yet)")) << "\n"
            << "configured organization: " << view.configured << "\n";
  if (view.matches()) {
    std::cout << "they match: there is nothing to reset\n";
    return;
  }
  std::cout << "a reset forgets:\n"
            << "  " << view.state.user_links << " user link(s)\n"
            << "  " << view.state.department_links << " department link(s)\n"
            << "  " << view.state.group_additions << " group addition(s) waiting\n"
            << "and applies again to the new organization (kept, queued now):\n"
            << "  " << view.state.held_records << " held record(s)\n"
            << "  " << view.state.dead_records << " dead letter(s)\n"
            << "the next reconciliation then creates the users in " << view.configured << "\n";
}

int confirmed(store::organization_binding& binding, store::history_log& history,
              const organization_view& view, const organization_cli_options& options) {
  const epoch_ms now = system_clock().now();
  if (options.same_organization) {
    if (options.confirm != view.configured) {
      std::cerr << "connector reset-organization: --confirm must be the configured "
                   "organization typed back exactly: "
                << view.configured << "; nothing changed\n";
      return 1;
    }
    binding.rebind(view.configured, now);
    std::cout << "the store is bound to " << view.configured
              << " as the same organization: every link is kept\n";
    return 0;
  }
  auto outcome = reset_organization(binding, history, view.configured, options.confirm, now, "cli");
  if (!outcome) {
    std::cerr << "connector reset-organization: " << outcome.error().error
              << "; nothing was forgotten\n";
    return 1;
  }
  std::cout << "reset: forgot " << outcome->forgotten.user_links << " user link(s), "
            << outcome->forgotten.department_links << " department link(s), "
            << outcome->forgotten.group_additions << " group addition(s); queued "
            << outcome->forgotten.held_records << " held and " << outcome->forgotten.dead_records
            << " dead record(s) again. The store is bound to " << view.configured
            << "; a running service resumes within a second\n";
  return 0;
}

}  // namespace

int reset_organization_command(const config::settings& settings,
                               const organization_cli_options& options) {
  if (!settings.ispring) {
    std::cerr << "connector reset-organization: the configuration has no ispring section\n";
    return 2;
  }
  try {
    const auto location = store_settings_for(settings);
    auto inbox = store::open_store(location);  // migrates; records the history
    auto binding = store::open_organization_binding(location);
    const auto view = view_organization(*binding, organization_identity(*settings.ispring));
    if (options.confirm.empty()) {
      if (options.json) {
        std::cout << organization_to_json(view).dump(2) << "\n";
      } else {
        print_view(view);
        if (!view.matches())
          std::cout << "nothing changed: to reset, run again with --confirm " << view.configured
                    << "\n";
      }
      return 0;
    }
    return confirmed(*binding, *inbox, view, options);
  } catch (const std::exception& e) {
    std::cerr << "connector reset-organization: " << e.what() << "\n";
    return 1;
  }
}

std::string organization_hold_reason(const config::settings& settings) {
  if (!settings.ispring) return {};
  const auto location = store_settings_for(settings);
  auto binding = store::open_organization_binding(location);
  return hold_reason(settle_organization(*binding, organization_identity(*settings.ispring),
                                         system_clock().now()));
}

}  // namespace connector::app
