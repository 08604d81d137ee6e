#pragma once
// Which iSpring organization the store's links belong to (issue 16 §5, design.md "Rules
// carried over from the seed": changing the organization means resetting the stored state
// for it, explicitly). The identity names the organization, never a secret: api_url and
// client_id for client credentials, account_url for the legacy scheme (organization.hpp
// derives it from the config). It is bound on the first start; a service configured for
// another organization while links exist holds every write to iSpring until an operator
// resets (forgets the links) or says it is the same organization under a new URL (rebind).
//
// Like the settings log, the binding has a connection of its own beside the store's writer:
// it is read once at start and while a hold lasts, and written by a reset, rarely.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "connector/clock.hpp"
#include "connector/store/open.hpp"

namespace connector::store {

struct organization_bond {
  std::string identity;
  epoch_ms bound_at = 0;
};

// What the store holds for the organization it is bound to: what a reset forgets (links,
// department links, group additions waiting) and what it gives back to the worker (held and
// dead records, Salesforce's state, applied again to the new organization).
struct organization_state {
  std::int64_t user_links = 0;
  std::int64_t department_links = 0;
  std::int64_t group_additions = 0;
  std::int64_t held_records = 0;
  std::int64_t dead_records = 0;
  // Something of the bound organization's is kept: another organization must not use it.
  bool has_links() const { return user_links + department_links + group_additions > 0; }
};

// A user link a reset forgot, for the user's history.
struct forgotten_link {
  std::string organization_id;  // Salesforce's
  std::string record_id;
  std::string ispring_user_id;
};

struct reset_outcome {
  organization_state forgotten;  // as it was just before
  std::vector<forgotten_link> links;
};

class organization_binding {
 public:
  virtual ~organization_binding() = default;

  // The organization the links belong to; nullopt before the first bind.
  virtual std::optional<organization_bond> bound() = 0;
  virtual organization_state state() = 0;
  // Binds `identity` when nothing is bound yet (first start, or a store from before the
  // binding, whose links are taken to be this organization's); true when it did.
  virtual bool bind_if_unbound(const std::string& identity, epoch_ms now) = 0;
  // The same organization under a new identity (it moved URL): links kept.
  virtual void rebind(const std::string& identity, epoch_ms now) = 0;
  // In one transaction: forgets the user links, department links and group additions (with
  // their claims), makes held and dead records pending again (due now), and binds `identity`.
  virtual reset_outcome reset(const std::string& identity, epoch_ms now) = 0;
};

// Opens the binding of the store `settings` locates, on a connection of its own. The store
// must have been opened (and so migrated) by open_store first. Throws std::runtime_error
// naming the engine (never the PostgreSQL password) when it cannot.
std::unique_ptr<organization_binding> open_organization_binding(const store_settings& settings);

}  // namespace connector::store
