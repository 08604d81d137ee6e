// Loading the config file: the JSON document is read section by section through
// object_reader, which names the full key of anything wrong. Defaults live in config.hpp;
// this file only overwrites what the file sets and checks how the values fit together.
#include "connector/config/config.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <filesystem>
#include <set>

#include <nlohmann/json.hpp>

#include "connector/config/schedule_check.hpp"
#include "connector/store/postgres.hpp"
#include "connector/text/ascii.hpp"
#include "connector/text/base64.hpp"
#include "network_address.hpp"
#include "object_reader.hpp"

namespace connector::config {
namespace {

using detail::child_key;
using detail::element_key;
using detail::fail;
using detail::in_quotes;
using detail::object_reader;
using nlohmann::json;

bool all_digits(std::string_view text) {
  return std::all_of(text.begin(), text.end(), [](unsigned char c) { return std::isdigit(c); });
}

bool all_alphanumeric(std::string_view text) {
  return std::all_of(text.begin(), text.end(), [](unsigned char c) { return std::isalnum(c); });
}

// --- the document ------------------------------------------------------------------------

// nlohmann's messages quote the token last read, which may be a literal secret: keep the
// position and the reason, drop the quote.
std::string describe_parse_error(const json::parse_error& error) {
  const std::string what = error.what();
  const auto at = what.find("at line ");
  const auto colon = what.find(": ", at == std::string::npos ? 0 : at);
  const auto position = at != std::string::npos && colon != std::string::npos
                            ? what.substr(at, colon - at) + " "
                            : std::string();
  auto reason = colon == std::string::npos ? what : what.substr(colon + 2);
  const auto last_read = reason.find("; last read: '");
  if (last_read != std::string::npos) {
    const auto expected = reason.find("'; expected ", last_read);
    reason.erase(last_read,
                 expected == std::string::npos ? std::string::npos : expected + 1 - last_read);
  }
  return "invalid JSON " + position + "(byte " + std::to_string(error.byte) + "): " + reason;
}

// Parses the text and refuses a key given twice in one object: JSON parsers keep one of
// the two silently, and an operator editing the first would wonder why nothing changes.
json parse_document(const std::string& text) {
  struct frame {
    bool is_array = false;
    std::string key;
    std::set<std::string> names;
    std::size_t next_index = 0;
  };
  std::vector<frame> stack;
  std::string last_name;
  std::optional<std::string> duplicate;
  const auto position_key = [&] {
    if (stack.empty()) return std::string();
    const auto& parent = stack.back();
    return parent.is_array ? element_key(parent.key, parent.next_index)
                           : child_key(parent.key, last_name);
  };
  const auto element_done = [&] {
    if (!stack.empty() && stack.back().is_array) ++stack.back().next_index;
  };
  const json::parser_callback_t track = [&](int, json::parse_event_t event, json& parsed) {
    switch (event) {
      case json::parse_event_t::object_start:
      case json::parse_event_t::array_start:
        stack.push_back({event == json::parse_event_t::array_start, position_key(), {}, 0});
        break;
      case json::parse_event_t::key:
        last_name = parsed.get<std::string>();
        if (!stack.back().names.insert(last_name).second && !duplicate) {
          duplicate = child_key(stack.back().key, last_name);
        }
        break;
      case json::parse_event_t::object_end:
      case json::parse_event_t::array_end:
        stack.pop_back();
        element_done();
        break;
      case json::parse_event_t::value:
        element_done();
        break;
    }
    return true;
  };
  json document;
  try {
    document = json::parse(text, track);
  } catch (const json::parse_error& error) {
    fail("", describe_parse_error(error));
  }
  if (duplicate) fail(*duplicate, "duplicate key");
  if (!document.is_object()) {
    fail("", "expected a JSON object at the top level, got " + detail::json_type_name(document));
  }
  return document;
}

// --- shared value checks -----------------------------------------------------------------

void read_endpoint(const object_reader& section, std::string_view name, endpoint& out) {
  const auto* value = section.find(name);
  if (value == nullptr) return;
  const auto key = section.key_of(name);
  const auto& text = detail::expect_string(*value, key, "a string \"host:port\"");
  auto parsed = detail::parse_endpoint_explained(text);
  if (!parsed) {
    fail(key, "expected \"host:port\", got " + in_quotes(text) + " (" + parsed.error() + ")");
  }
  out = std::move(parsed).value();
}

std::optional<std::string> read_base_url(const object_reader& section, std::string_view name) {
  auto text = section.text(name);
  if (!text) return std::nullopt;
  auto url = detail::normalize_base_url(*text);
  if (!url) fail(section.key_of(name), url.error() + ", got " + in_quotes(*text));
  return std::move(url).value();
}

// URL paths the public listener routes on.
void read_route(const object_reader& section, std::string_view name, std::string& out) {
  auto text = section.text(name);
  if (!text) return;
  const bool valid = text->front() == '/' && std::none_of(text->begin(), text->end(), [](char c) {
                       return c == '?' || c == '#' || std::isspace(static_cast<unsigned char>(c)) ||
                              std::iscntrl(static_cast<unsigned char>(c));
                     });
  if (!valid) {
    fail(section.key_of(name),
         "expected a URL path starting with '/', without spaces, '?' or '#', got " +
             in_quotes(*text));
  }
  out = std::move(*text);
}

std::string required_file(const object_reader& section, std::string_view name) {
  auto path = section.readable_file(name);
  if (!path) fail(section.key_of(name), "required");
  return *path;
}

// Salesforce API names ("Email", "iSpring_Groups__c") and relationship paths
// ("Manager.Email"): they go into SOQL, so nothing else may pass.
bool is_salesforce_field(std::string_view text) {
  std::size_t start = 0;
  while (true) {
    const auto dot = text.find('.', start);
    const auto part = text.substr(start, dot == std::string_view::npos ? dot : dot - start);
    if (part.empty() || !std::isalpha(static_cast<unsigned char>(part.front())) ||
        !std::all_of(part.begin(), part.end(),
                     [](unsigned char c) { return std::isalnum(c) || c == '_'; })) {
      return false;
    }
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
}

std::string check_salesforce_field(const std::string& text, const std::string& key) {
  if (text.empty()) fail(key, "must not be empty");
  if (!is_salesforce_field(text)) {
    fail(key,
         "expected a Salesforce field API name such as \"Email\" or \"Custom_Field__c\", got " +
             in_quotes(text));
  }
  return text;
}

void read_salesforce_field(const object_reader& section, std::string_view name, std::string& out) {
  if (auto text = section.string(name)) out = check_salesforce_field(*text, section.key_of(name));
}

// "user@example.com" without spaces or header syntax: the value goes into SMTP commands.
bool is_email_address(std::string_view text) {
  const auto at = text.find('@');
  return at != std::string_view::npos && at > 0 && at + 1 < text.size() &&
         text.find('@', at + 1) == std::string_view::npos &&
         std::none_of(text.begin(), text.end(), [](unsigned char c) {
           return std::isspace(c) || std::iscntrl(c) || c == '<' || c == '>' || c == ',' ||
                  c == ';' || c == '"';
         });
}

// --- sections ----------------------------------------------------------------------------

void read_tls(const object_reader& server, tls_server_settings& out) {
  const auto tls =
      server.object("tls", {"certificate", "private_key", "client_ca_file", "client_subjects"});
  if (!tls) fail(child_key(server.key_of("tls"), "certificate"), "required");
  out.certificate = required_file(*tls, "certificate");
  out.private_key = required_file(*tls, "private_key");
  out.client_ca_file = tls->readable_file("client_ca_file");
  if (auto subjects = tls->text_list("client_subjects")) out.client_subjects = std::move(*subjects);
  if (!out.client_subjects.empty() && !out.client_ca_file) {
    fail(tls->key_of("client_subjects"),
         "needs server.tls.client_ca_file: client certificates are checked only with mutual TLS");
  }
  // A CA bundle alone admits every certificate it ever signed, for anyone (reference
  // salesforce.md §A.6: trust the CA and the name).
  if (out.client_ca_file && out.client_subjects.empty()) {
    fail(tls->key_of("client_subjects"),
         "required with server.tls.client_ca_file: name the certificate's subject or CN, e.g. "
         "[\"CN=proxy.salesforce.com\"]");
  }
}

void read_server(const object_reader& root, server_settings& out) {
  const auto server = root.object(
      "server", {"listen", "tls", "outbound_message_path", "events_path", "events_signing_secrets",
                 "secret_path_segment", "allowed_ips", "body_limit_bytes", "header_limit_bytes",
                 "handshake_timeout_ms", "read_timeout_ms", "idle_timeout_ms", "max_connections",
                 "max_connections_per_address", "allow_unlocked_intake", "threads"});
  if (!server) fail("server.tls.certificate", "required");
  read_endpoint(*server, "listen", out.listen);
  read_tls(*server, out.tls);
  read_route(*server, "outbound_message_path", out.outbound_message_path);
  read_route(*server, "events_path", out.events_path);
  if (out.events_path == out.outbound_message_path) {
    fail(server->key_of("events_path"), "must differ from server.outbound_message_path");
  }

  if (const auto* secrets = server->find("events_signing_secrets")) {
    const auto key = server->key_of("events_signing_secrets");
    if (!secrets->is_array()) {
      fail(key, "expected an array of secrets, got " + detail::json_type_name(*secrets));
    }
    for (std::size_t i = 0; i < secrets->size(); ++i) {
      const auto item_key = element_key(key, i);
      auto value = detail::resolve_secret(root.context(), (*secrets)[i], item_key);
      const auto& text = value.reveal();
      // The verifier's own decoder: a secret that loads is one that verifies.
      const auto key_bytes = text.starts_with("whsec_")
                                 ? text::base64_decode(std::string_view(text).substr(6))
                                 : std::nullopt;
      if (!key_bytes) {
        fail(item_key, "expected a Standard Webhooks secret: \"whsec_\" followed by base64");
      }
      if (key_bytes->size() < min_webhook_secret_bytes) {
        fail(item_key, "too short: the secret must decode to at least " +
                           std::to_string(min_webhook_secret_bytes) +
                           " bytes (e.g. \"whsec_\" + $(openssl rand -base64 32))");
      }
      out.events_signing_secrets.push_back(std::move(value));
    }
  }

  if (auto segment = server->secret_value("secret_path_segment")) {
    const auto& text = segment->reveal();
    const bool valid =
        text.size() >= 16 && std::all_of(text.begin(), text.end(), [](unsigned char c) {
          return std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~';
        });
    // The segment is the only thing keeping strangers off the endpoint, so it must be
    // unguessable, and it must survive in a URL unescaped.
    if (!valid) {
      fail(server->key_of("secret_path_segment"),
           "expected at least 16 characters of A-Z a-z 0-9 - . _ ~");
    }
    out.secret_path_segment = std::move(segment);
  }

  if (auto ips = server->text_list("allowed_ips")) {
    for (std::size_t i = 0; i < ips->size(); ++i) {
      if (!detail::is_valid_cidr((*ips)[i])) {
        fail(element_key(server->key_of("allowed_ips"), i),
             "expected an address or a CIDR block such as \"203.0.113.0/24\" or \"2001:db8::/32\", "
             "got " +
                 in_quotes((*ips)[i]));
      }
    }
    out.allowed_ips = std::move(*ips);
  }

  server->read_integer("body_limit_bytes", out.body_limit_bytes, 1);
  server->read_integer("header_limit_bytes", out.header_limit_bytes, 1);
  server->read_integer("handshake_timeout_ms", out.handshake_timeout_ms, 1);
  server->read_integer("read_timeout_ms", out.read_timeout_ms, 1);
  server->read_integer("idle_timeout_ms", out.idle_timeout_ms, 1);
  server->read_integer("max_connections", out.max_connections, 1);
  server->read_integer("max_connections_per_address", out.max_connections_per_address, 1);
  server->read_boolean("allow_unlocked_intake", out.allow_unlocked_intake);
  server->read_integer("threads", out.threads, 0, 1024);
}

bool is_wildcard(const std::string& host) {
  return host == "0.0.0.0" || host == "::";
}

// An admin token travels in "Authorization: Bearer ..." and guards manual reconciles.
void check_admin_token(const secret& token, const std::string& key) {
  const auto& text = token.reveal();
  if (text.size() < 16 || !std::all_of(text.begin(), text.end(),
                                       [](unsigned char c) { return c > 0x20 && c < 0x7f; })) {
    fail(key,
         "expected at least 16 printable characters without spaces (e.g. openssl rand -hex 32)");
  }
}

// admin.tokens: [{"name": "ops", "token": "..."}]; the name is who saved a settings revision.
void read_named_tokens(const object_reader& admin, std::vector<admin_token>& out) {
  const auto* tokens = admin.find("tokens");
  if (tokens == nullptr) return;
  const auto key = admin.key_of("tokens");
  if (!tokens->is_array()) {
    fail(key, "expected an array of {\"name\": …, \"token\": …}, got " +
                  detail::json_type_name(*tokens));
  }
  for (std::size_t i = 0; i < tokens->size(); ++i) {
    const object_reader item(admin.context(), (*tokens)[i], element_key(key, i), {"name", "token"});
    const auto name = item.required_text("name");
    const bool valid = !name.empty() && name.size() <= 64 &&
                       std::all_of(name.begin(), name.end(), [](unsigned char c) {
                         return std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '@';
                       });
    if (!valid) {
      fail(item.key_of("name"),
           "expected 1 to 64 characters of A-Z a-z 0-9 - _ . @, got " + in_quotes(name));
    }
    for (const auto& other : out) {
      if (other.name == name)
        fail(item.key_of("name"), "the name " + in_quotes(name) + " is taken");
    }
    auto token = item.secret_value("token");
    if (!token) fail(item.key_of("token"), "required");
    check_admin_token(*token, item.key_of("token"));
    for (const auto& other : out) {
      if (other.token.reveal() == token->reveal())
        fail(item.key_of("token"), "the same token as " + in_quotes(other.name));
    }
    out.push_back({name, std::move(*token)});
  }
}

void read_admin(const object_reader& root, const server_settings& server, admin_settings& out) {
  const auto admin =
      root.object("admin", {"listen", "token", "tokens", "tls", "allow_unauthenticated_metrics"});
  if (!admin) fail("admin.token", "required");
  read_endpoint(*admin, "listen", out.listen);
  if (auto token = admin->secret_value("token")) {
    check_admin_token(*token, admin->key_of("token"));
    out.tokens.push_back({"admin", std::move(*token)});
  }
  read_named_tokens(*admin, out.tokens);
  if (out.tokens.empty()) fail(admin->key_of("token"), "required (or admin.tokens)");
  out.token = out.tokens.front().token;
  admin->read_boolean("tls", out.tls);
  admin->read_boolean("allow_unauthenticated_metrics", out.allow_unauthenticated_metrics);
  const bool loopback = is_loopback(out.listen.host);
  if (!out.tls && !loopback) {
    fail(admin->key_of("tls"),
         "false is allowed only when admin.listen is a loopback address, got " +
             in_quotes(out.listen.host));
  }
  if (out.allow_unauthenticated_metrics && !loopback) {
    fail(admin->key_of("allow_unauthenticated_metrics"),
         "true is allowed only when admin.listen is a loopback address, got " +
             in_quotes(out.listen.host));
  }
  const bool same_host = out.listen.host == server.listen.host || is_wildcard(out.listen.host) ||
                         is_wildcard(server.listen.host);
  if (out.listen.port != 0 && out.listen.port == server.listen.port && same_host) {
    fail(admin->key_of("listen"), "uses the same port as server.listen");
  }
}

// store.sqlite_path or store.postgresql_url, exactly one; the URL's password never reaches
// an error (its shape is told, not its text).
void read_store_engine(const object_reader& store, store_settings& out) {
  const bool sqlite = store.has("sqlite_path");
  const bool postgresql = store.has("postgresql_url");
  if (sqlite && postgresql) {
    fail(store.key_of("postgresql_url"),
         "set only one of store.sqlite_path (SQLite) and store.postgresql_url (PostgreSQL)");
  }
  if (postgresql) {
    auto url = store.secret_value("postgresql_url");
    const auto problem = url ? connector::store::postgres_url_problem(url->reveal()) : "";
    if (!problem.empty()) fail(store.key_of("postgresql_url"), problem);
    out.postgresql_url = std::move(url);
    return;
  }
  // Not checked for existence: the store creates the database on first start.
  auto path = store.path("sqlite_path");
  if (!path) {
    fail(store.key_of("sqlite_path"),
         "required (or store.postgresql_url, to keep the store in PostgreSQL)");
  }
  out.sqlite_path = std::move(*path);
}

void read_store(const object_reader& root, store_settings& out) {
  const auto store =
      root.object("store", {"sqlite_path", "postgresql_url", "history_retention_days",
                            "history_max_events_per_user", "notification_retention_hours"});
  if (!store) fail("store.sqlite_path", "required");
  read_store_engine(*store, out);
  store->read_integer("history_retention_days", out.history_retention_days, 1, 36'500);
  store->read_integer("history_max_events_per_user", out.history_max_events_per_user, 0, 1'000'000);
  // Salesforce redelivers for 24 hours: a shorter window would apply a redelivery twice.
  store->read_integer("notification_retention_hours", out.notification_retention_hours, 25,
                      24 * 36'500);
}

// salesforce.platform_events: which `…__e` events the events endpoint takes, the field that
// names the record, and which event fields become which record fields.
void read_platform_events(const object_reader& salesforce, salesforce_settings& out) {
  const auto events = salesforce.object("platform_events", {"names", "record_id_field", "fields"});
  if (!events) return;
  platform_event_settings settings;
  if (auto names = events->text_list("names")) {
    for (std::size_t i = 0; i < names->size(); ++i) {
      const auto& name = (*names)[i];
      if (!name.ends_with("__e") || !is_salesforce_field(name)) {
        fail(element_key(events->key_of("names"), i),
             "expected a platform event API name ending in \"__e\", such as "
             "\"Employee_Changed__e\", got " +
                 in_quotes(name));
      }
    }
    settings.names = std::move(*names);
  }
  const auto id_key = events->key_of("record_id_field");
  if (!events->has("record_id_field"))
    fail(id_key, "required: the event field that holds the record id");
  read_salesforce_field(*events, "record_id_field", settings.record_id_field);

  const auto* fields = events->find("fields");
  const auto fields_key = events->key_of("fields");
  if (fields == nullptr) fail(fields_key, "required: event field -> Salesforce record field");
  if (!fields->is_object() || fields->empty()) {
    fail(fields_key,
         "expected a non-empty object of event field -> record field, such as "
         "{\"Email__c\": \"Email\"}");
  }
  for (const auto& item : fields->items()) {
    const auto item_key = child_key(fields_key, item.key());
    check_salesforce_field(item.key(), item_key);
    if (item.key() == settings.record_id_field) {
      fail(item_key, "is the record id field; it names the record and is not copied into it");
    }
    settings.fields[item.key()] =
        check_salesforce_field(detail::expect_string(item.value(), item_key), item_key);
  }
  out.platform_events = std::move(settings);
}

void read_salesforce(const object_reader& root, salesforce_settings& out) {
  const auto salesforce = root.object(
      "salesforce", {"organization_ids", "source_object", "login_url", "client_id", "client_secret",
                     "username", "private_key", "tls_ca_file", "api_version", "query_filter",
                     "query_batch_size", "platform_events", "allowed_instance_hosts"});
  if (!salesforce) fail("salesforce.organization_ids", "required");
  const auto ids_key = salesforce->key_of("organization_ids");
  auto ids = salesforce->text_list("organization_ids");
  if (!ids) fail(ids_key, "required");
  if (ids->empty()) fail(ids_key, "must list at least one organization id");
  for (std::size_t i = 0; i < ids->size(); ++i) {
    const auto& id = (*ids)[i];
    if ((id.size() != 15 && id.size() != 18) || !all_alphanumeric(id)) {
      fail(element_key(ids_key, i),
           "expected a 15- or 18-character Salesforce organization id, got " + in_quotes(id));
    }
  }
  out.organization_ids = std::move(*ids);

  if (auto object = salesforce->choice("source_object", {"User", "Contact"})) {
    out.source_object = std::move(*object);
  }
  if (auto url = read_base_url(*salesforce, "login_url")) out.login_url = std::move(*url);
  salesforce->read_text("client_id", out.client_id);
  out.client_secret = salesforce->secret_value("client_secret");
  salesforce->read_text("username", out.username);
  out.private_key = salesforce->secret_value("private_key");
  if (out.private_key) {
    const auto& pem = out.private_key->reveal();
    if (pem.find("-----BEGIN") == std::string::npos ||
        pem.find("PRIVATE KEY-----") == std::string::npos) {
      fail(salesforce->key_of("private_key"),
           "expected a PEM private key (use \"file:PATH\" to read it from a file)");
    }
  }
  out.tls_ca_file = salesforce->readable_file("tls_ca_file");
  if (auto hosts = salesforce->text_list("allowed_instance_hosts")) {
    for (std::size_t i = 0; i < hosts->size(); ++i) {
      const auto& host = (*hosts)[i];
      const auto name = std::string_view(host).substr(host.starts_with("*.") ? 2 : 0);
      if (name.empty() || !detail::is_valid_host(std::string(name))) {
        fail(element_key(salesforce->key_of("allowed_instance_hosts"), i),
             "expected a host name, an IP address or \"*.domain\", got " + in_quotes(host));
      }
    }
    out.allowed_instance_hosts = std::move(*hosts);
  }
  if (auto version = salesforce->text("api_version")) {
    const auto dot = version->find('.');
    const bool valid = dot != std::string::npos && dot > 0 && dot + 1 < version->size() &&
                       all_digits(std::string_view(*version).substr(0, dot)) &&
                       all_digits(std::string_view(*version).substr(dot + 1));
    if (!valid) {
      fail(salesforce->key_of("api_version"),
           "expected a version such as \"61.0\", got " + in_quotes(*version));
    }
    out.api_version = std::move(*version);
  }
  // "" is allowed: no filter at all.
  if (auto filter = salesforce->string("query_filter")) out.query_filter = std::move(*filter);
  // Salesforce's own bounds for a query batch (salesforce.md §D.2).
  salesforce->read_integer("query_batch_size", out.query_batch_size, 200, 2000);
  read_platform_events(*salesforce, out);

  // The REST client is optional (intake works without it), but half a flow is a mistake.
  if (out.private_key && out.username.empty()) {
    fail(salesforce->key_of("username"), "required with salesforce.private_key (JWT bearer flow)");
  }
  if ((out.private_key || out.client_secret) && out.client_id.empty()) {
    fail(salesforce->key_of("client_id"), "required to sign in to Salesforce");
  }
  if (!out.client_id.empty() && !out.private_key && !out.client_secret) {
    fail(salesforce->key_of("private_key"),
         "salesforce.client_id needs salesforce.private_key (JWT bearer flow) or "
         "salesforce.client_secret (client credentials)");
  }
}

void read_ispring(const object_reader& root, std::optional<ispring_settings>& out) {
  const auto ispring =
      root.object("ispring", {"api_url", "auth", "client_id", "client_secret", "account_url",
                              "login", "password", "tls_ca_file", "max_concurrency",
                              "connect_timeout_ms", "request_timeout_ms", "group_additions"});
  if (!ispring) return;
  auto& s = out.emplace();
  if (auto url = read_base_url(*ispring, "api_url")) s.api_url = std::move(*url);
  if (auto auth = ispring->choice("auth", {"client_credentials", "password"})) {
    s.auth = std::move(*auth);
  }
  ispring->read_text("client_id", s.client_id);
  if (auto secret = ispring->secret_value("client_secret")) s.client_secret = std::move(*secret);
  if (auto url = read_base_url(*ispring, "account_url")) s.account_url = std::move(*url);
  ispring->read_text("login", s.login);
  if (auto password = ispring->secret_value("password")) s.password = std::move(*password);
  s.tls_ca_file = ispring->readable_file("tls_ca_file");
  ispring->read_integer("max_concurrency", s.max_concurrency, 1, 64);
  ispring->read_integer("connect_timeout_ms", s.connect_timeout_ms, 1);
  ispring->read_integer("request_timeout_ms", s.request_timeout_ms, 1);
  if (auto how = ispring->choice("group_additions", {"replace", "user_update"}))
    s.group_additions = std::move(*how);

  const auto require = [&](bool present, std::string_view name) {
    if (!present) fail(ispring->key_of(name), "required when ispring.auth is " + in_quotes(s.auth));
  };
  if (s.auth == "client_credentials") {
    require(!s.client_id.empty(), "client_id");
    require(!s.client_secret.empty(), "client_secret");
  } else {
    require(!s.account_url.empty(), "account_url");
    require(!s.login.empty(), "login");
    require(!s.password.empty(), "password");
  }
}

void read_mapping(const object_reader& root, mapping_settings& out) {
  const auto mapping =
      root.object("mapping", {"login", "email", "last_name", "department", "groups", "fields"});
  if (!mapping) return;
  read_salesforce_field(*mapping, "login", out.login);
  read_salesforce_field(*mapping, "email", out.email);
  read_salesforce_field(*mapping, "last_name", out.last_name);
  read_salesforce_field(*mapping, "department", out.department);
  read_salesforce_field(*mapping, "groups", out.groups);
  const auto* fields = mapping->find("fields");
  if (fields == nullptr) return;
  const auto key = mapping->key_of("fields");
  if (!fields->is_object()) {
    fail(key, "expected an object of iSpring field id -> Salesforce field, got " +
                  detail::json_type_name(*fields));
  }
  // A given map replaces the default one, so that a default field can be dropped.
  out.fields.clear();
  for (const auto& item : fields->items()) {
    const auto item_key = child_key(key, item.key());
    if (item.key().empty() ||
        !std::all_of(item.key().begin(), item.key().end(),
                     [](unsigned char c) { return std::isalnum(c) || c == '_'; })) {
      fail(item_key, "expected an iSpring field id (letters, digits and _) as the key");
    }
    const auto lower = text::ascii_lower(item.key());
    if (lower == "login" || lower == "email" || lower == "last_name") {
      fail(item_key, "mapped by mapping." + lower + "; set that key instead");
    }
    out.fields[item.key()] =
        check_salesforce_field(detail::expect_string(item.value(), item_key), item_key);
  }
}

// How a users-list entry names a user, for "listed twice" checks: a record id by its first 15
// characters (the 18-character form adds a checksum), a Username ignoring case.
std::string user_identity(const std::string& entry) {
  const bool id =
      (entry.size() == 15 || entry.size() == 18) &&
      std::all_of(entry.begin(), entry.end(), [](unsigned char c) { return std::isalnum(c) != 0; });
  return id ? entry.substr(0, 15) : text::ascii_lower(entry);
}

// A connector-defined department ("custom": true): exactly its users, never "*", and a user
// in one custom department only (the seed's "a user can be added to one department only").
void check_custom_department(const object_reader& reader, const std::string& name,
                             const department_rule& rule,
                             std::map<std::string, std::string>& custom_department_of) {
  if (name == "*") fail(reader.key_of("custom"), "not allowed for \"*\"");
  if (reader.has("sync_all_users")) {
    fail(reader.key_of("sync_all_users"),
         "not allowed on a custom department: it holds exactly its users");
  }
  if (rule.users.empty()) {
    fail(reader.key_of("users"),
         "a custom department needs at least one user (Username or record id)");
  }
  for (std::size_t i = 0; i < rule.users.size(); ++i) {
    const auto [it, inserted] =
        custom_department_of.emplace(user_identity(rule.users[i]), reader.key_of("users"));
    if (!inserted) {
      fail(element_key(reader.key_of("users"), i),
           "a user can be added to one department only: " + in_quotes(rule.users[i]) +
               " is also listed in " + it->second);
    }
  }
}

department_rule read_department_rule(const object_reader& reader, const std::string& name,
                                     bool by_group,
                                     std::map<std::string, std::string>& custom_department_of) {
  department_rule rule;
  if (auto users = reader.text_list("users")) rule.users = std::move(*users);
  rule.custom = reader.boolean("custom").value_or(false);
  rule.ispring_name = reader.text("ispring_name");
  if (rule.custom) {
    check_custom_department(reader, name, rule, custom_department_of);
    rule.sync_all_users = false;
    return rule;
  }
  // Listing users means "only these" unless sync_all_users says otherwise.
  rule.sync_all_users = reader.boolean("sync_all_users").value_or(!reader.has("users"));
  if (rule.sync_all_users && !rule.users.empty()) {
    fail(reader.key_of("users"), "has no effect when sync_all_users is true");
  }
  // Choosing users by group, a department selects no one: a users list would be ignored.
  if (by_group && !rule.sync_all_users) {
    fail(reader.key_of(reader.has("users") ? "users" : "sync_all_users"),
         "has no effect when sync.select_by is \"group\" (users are chosen by group; "
         "\"custom\": true hand-picks a department's users)");
  }
  return rule;
}

void read_departments(const object_reader& sync, sync_settings& out) {
  const auto* departments = sync.find("departments");
  if (departments == nullptr) return;
  const auto key = sync.key_of("departments");
  if (!departments->is_object()) {
    fail(key, "expected an object keyed by Salesforce department, got " +
                  detail::json_type_name(*departments));
  }
  std::map<std::string, std::string> owner_of_name;         // iSpring name -> department key
  std::map<std::string, std::string> custom_department_of;  // user -> its custom users key
  for (const auto& item : departments->items()) {
    const auto& name = item.key();
    const auto department_key = child_key(key, name);
    if (name.empty()) fail(department_key, "a department name must not be empty");
    const object_reader reader(sync.context(), item.value(), department_key,
                               {"sync_all_users", "ispring_name", "users", "custom"});
    department_rule rule =
        read_department_rule(reader, name, out.select_by == "group", custom_department_of);
    if (name == "*") {
      // "*" stands for many departments; one iSpring name would merge them all.
      if (rule.ispring_name) fail(reader.key_of("ispring_name"), "not allowed for \"*\"");
    } else {
      const auto ispring_name = rule.ispring_name.value_or(name);
      const auto [it, inserted] = owner_of_name.emplace(ispring_name, department_key);
      if (!inserted) {
        fail(rule.ispring_name ? reader.key_of("ispring_name") : department_key,
             "iSpring department " + in_quotes(ispring_name) + " is also the target of " +
                 it->second);
      }
    }
    out.departments.emplace(name, std::move(rule));
  }
}

// A count (25 or "25") or a share ("10%"); `off_allowed` also takes "off" (nullopt).
void read_deactivation_cap(const object_reader& sync, const char* name, bool off_allowed,
                           std::optional<std::string>& out) {
  const auto* value = sync.find(name);
  if (value == nullptr) return;
  const auto key = sync.key_of(name);
  const std::string expected = std::string("expected a count (25 or \"25\") or a share (\"10%\")") +
                               (off_allowed ? " or \"off\"" : "") + ", got ";
  if (value->is_number_unsigned()) {
    out = std::to_string(value->get<std::uint64_t>());
    return;
  }
  if (value->is_number()) fail(key, expected + value->dump());  // negative or fractional
  if (!value->is_string()) fail(key, expected + detail::json_type_name(*value));
  const auto& text = value->get_ref<const std::string&>();
  if (off_allowed && text == "off") {
    out.reset();
    return;
  }
  const bool share = !text.empty() && text.back() == '%';
  const auto digits = std::string_view(text).substr(0, text.size() - (share ? 1 : 0));
  if (digits.empty() || digits.size() > 9 || !all_digits(digits)) {
    fail(key, expected + in_quotes(text));
  }
  if (share && std::stoi(std::string(digits)) > 100) {
    fail(key, "a share must be from 0% to 100%, got " + in_quotes(text));
  }
  out = text;
}

void read_sync(const object_reader& root, sync_settings& out) {
  const auto sync =
      root.object("sync", {"departments", "groups", "parent_department", "inactive_users",
                           "out_of_scope_users", "delete_empty_departments", "max_deactivations",
                           "max_deactivations_per_hour", "max_attempts", "retry_base_ms",
                           "retry_max_ms", "verify_notifications", "select_by"});
  if (!sync) return;
  if (auto select_by = sync->choice("select_by", {"department", "group"}))
    out.select_by = std::move(*select_by);
  read_departments(*sync, out);
  if (const auto* groups = sync->find("groups")) {
    const std::string expected = "expected \"all\" or an array of group names";
    if (groups->is_string()) {
      const auto& text = groups->get_ref<const std::string&>();
      if (text != "all") fail(sync->key_of("groups"), expected + ", got " + in_quotes(text));
    } else if (groups->is_array()) {
      out.groups = sync->text_list("groups");
    } else {
      fail(sync->key_of("groups"), expected + ", got " + detail::json_type_name(*groups));
    }
  }
  if (out.select_by == "group" && (!out.groups || out.groups->empty())) {
    fail(sync->key_of("groups"),
         "must list the groups that choose users when sync.select_by is \"group\"");
  }
  out.parent_department = sync->text("parent_department");
  for (auto [name, field] : {std::pair{"inactive_users", &out.inactive_users},
                             std::pair{"out_of_scope_users", &out.out_of_scope_users}}) {
    constexpr std::array actions{user_action::deactivate, user_action::ignore, user_action::remove};
    if (auto action = sync->choice(
            name, {to_string(actions[0]), to_string(actions[1]), to_string(actions[2])})) {
      *field = *std::find_if(actions.begin(), actions.end(),
                             [&](user_action a) { return *action == to_string(a); });
    }
  }
  sync->read_boolean("delete_empty_departments", out.delete_empty_departments);
  read_deactivation_cap(*sync, "max_deactivations", false, out.max_deactivations);
  read_deactivation_cap(*sync, "max_deactivations_per_hour", true, out.max_deactivations_per_hour);
  sync->read_integer("max_attempts", out.max_attempts, 1, 1000);
  sync->read_integer("retry_base_ms", out.retry_base_ms, 1);
  sync->read_integer("retry_max_ms", out.retry_max_ms, 1);
  if (out.retry_max_ms < out.retry_base_ms) {
    fail(sync->key_of("retry_max_ms"), "must not be less than sync.retry_base_ms");
  }
  out.verify_notifications = sync->boolean("verify_notifications");
}

void read_schedule(const object_reader& root, schedule_settings& out) {
  const auto schedule = root.object(
      "schedule", {"run_type", "run_interval_minutes", "start_work_time", "stop_work_time",
                   "time_zone", "check_sync_status_after_seconds",
                   "check_sync_status_duration_minutes", "interval_after_expire_duration_minutes"});
  if (!schedule) return;
  // Types here; values and how they fit together in check_schedule, which
  // sync::schedule::make applies too.
  schedule->read_text("run_type", out.run_type);
  schedule->read_integer("run_interval_minutes", out.run_interval_minutes, 1,
                         max_run_interval_minutes);
  out.start_work_time = schedule->text("start_work_time");
  out.stop_work_time = schedule->text("stop_work_time");
  schedule->read_text("time_zone", out.time_zone);
  schedule->read_integer("check_sync_status_after_seconds", out.check_sync_status_after_seconds, 1);
  schedule->read_integer("check_sync_status_duration_minutes",
                         out.check_sync_status_duration_minutes, 1);
  schedule->read_integer("interval_after_expire_duration_minutes",
                         out.interval_after_expire_duration_minutes, 1);
  if (auto error = check_schedule(out)) fail(std::move(error->key), std::move(error->message));
}

void read_alerts(const object_reader& root, std::optional<alerts_settings>& out) {
  const auto alerts =
      root.object("alerts", {"email_to", "smtp", "min_interval_minutes", "min_interval_seconds",
                             "pending_age_threshold_minutes", "check_interval_seconds"});
  if (!alerts) return;
  auto& s = out.emplace();
  // Absent: edited in the admin page (alerts stay off until it is set).
  auto email_to = alerts->text_list("email_to");
  if (!email_to) email_to.emplace();
  if (alerts->has("email_to") && email_to->empty()) {
    fail(alerts->key_of("email_to"), "required: at least one address");
  }
  for (std::size_t i = 0; i < email_to->size(); ++i) {
    if (!is_email_address((*email_to)[i])) {
      fail(element_key(alerts->key_of("email_to"), i),
           "expected an e-mail address, got " + in_quotes((*email_to)[i]));
    }
  }
  s.email_to = std::move(*email_to);

  const auto smtp = alerts->object(
      "smtp", {"host", "port", "security", "username", "password", "from", "tls_ca_file"});
  if (!smtp) fail(child_key(alerts->key_of("smtp"), "host"), "required");
  s.smtp.host = smtp->required_text("host");
  if (!detail::is_valid_host(s.smtp.host)) {
    fail(smtp->key_of("host"),
         "expected a host name or an IP address, got " + in_quotes(s.smtp.host));
  }
  smtp->read_integer("port", s.smtp.port, 1, 65535);
  if (auto security = smtp->choice("security", {"starttls", "tls", "none"})) {
    s.smtp.security = std::move(*security);
  }
  if (s.smtp.security == "none" && !is_loopback(s.smtp.host)) {
    // A password and alert contents would cross the network in clear text.
    fail(smtp->key_of("security"),
         "\"none\" is allowed only for a loopback host, got " + in_quotes(s.smtp.host));
  }
  smtp->read_text("username", s.smtp.username);
  if (auto password = smtp->secret_value("password")) s.smtp.password = std::move(*password);
  if (!s.smtp.username.empty() && s.smtp.password.empty()) {
    fail(smtp->key_of("password"), "required with alerts.smtp.username");
  }
  if (s.smtp.username.empty() && !s.smtp.password.empty()) {
    fail(smtp->key_of("username"), "required with alerts.smtp.password");
  }
  smtp->read_text("from", s.smtp.from);
  if (s.smtp.from.empty() && is_email_address(s.smtp.username)) s.smtp.from = s.smtp.username;
  if (s.smtp.from.empty()) {
    fail(smtp->key_of("from"),
         "required (alerts.smtp.username is not an e-mail address to send from)");
  }
  if (!is_email_address(s.smtp.from)) {
    fail(smtp->key_of("from"), "expected an e-mail address, got " + in_quotes(s.smtp.from));
  }
  s.smtp.tls_ca_file = smtp->readable_file("tls_ca_file");
  alerts->read_integer("min_interval_minutes", s.min_interval_minutes, 1);
  if (alerts->has("min_interval_seconds")) {
    if (alerts->has("min_interval_minutes")) {
      fail(alerts->key_of("min_interval_seconds"), "set either this or min_interval_minutes");
    }
    alerts->read_integer("min_interval_seconds", s.min_interval_seconds.emplace(), 1);
  }
  alerts->read_integer("pending_age_threshold_minutes", s.pending_age_threshold_minutes, 1);
  alerts->read_integer("check_interval_seconds", s.check_interval_seconds, 1, 3600);
}

void read_logging(const object_reader& root, logging_settings& out) {
  const auto logging = root.object("logging", {"level", "format"});
  if (!logging) return;
  if (auto level = logging->choice(
          "level", {"trace", "debug", "info", "warn", "error", "critical", "off"})) {
    out.level = std::move(*level);
  }
  if (auto format = logging->choice("format", {"json", "text"})) out.format = std::move(*format);
}

settings read_settings(const json& document, const detail::load_context& context) {
  const object_reader root(context, document, "",
                           {"server", "admin", "store", "salesforce", "ispring", "mapping", "sync",
                            "schedule", "alerts", "logging"});
  settings result;
  read_server(root, result.server);
  read_admin(root, result.server, result.admin);
  read_store(root, result.store);
  read_salesforce(root, result.salesforce);
  read_ispring(root, result.ispring);
  read_mapping(root, result.mapping);
  read_sync(root, result.sync);
  if (result.sync.select_by == "group" && result.mapping.groups.empty()) {
    fail("sync.select_by",
         "\"group\" needs mapping.groups: the Salesforce field that carries a user's groups");
  }
  // Verifying means reading over REST: asked for explicitly, it cannot quietly fall back to
  // applying whatever a notification says.
  if (result.sync.verify_notifications.value_or(false) &&
      !has_rest_credentials(result.salesforce)) {
    fail("sync.verify_notifications",
         "true needs Salesforce REST credentials: salesforce.client_id with either "
         "salesforce.username and salesforce.private_key, or salesforce.client_secret");
  }
  read_schedule(root, result.schedule);
  read_alerts(root, result.alerts);
  read_logging(root, result.logging);
  return result;
}

std::filesystem::path absolute_path(const std::string& path) {
  std::error_code ec;
  auto absolute = std::filesystem::absolute(path.empty() ? "." : path, ec);
  if (ec) fail("", "cannot resolve " + path + ": " + ec.message());
  return absolute.lexically_normal();
}

// Whether the document sets an editable section (editable_sections' names).
bool sets_section(const json& document, std::string_view name) {
  if (name == "alerts.email_to") {
    const auto alerts = document.find("alerts");
    return alerts != document.end() && alerts->is_object() && alerts->contains("email_to");
  }
  return document.contains(std::string(name));
}

// `document` with the stored sections it does not set; the stored JSON is checked first.
void add_stored_sections(json& document, const std::string& stored_json) {
  if (stored_json.empty()) return;
  const json stored = parse_document(stored_json);
  if (!stored.is_object()) fail("", "stored settings: expected a JSON object of sections");
  for (const auto& item : stored.items()) {
    const auto& name = item.key();
    const auto known = std::find(std::begin(editable_sections), std::end(editable_sections), name);
    if (known == std::end(editable_sections)) {
      fail(name,
           "not a section edited in the admin page (mapping, schedule, sync, "
           "alerts.email_to)");
    }
    if (sets_section(document, name)) continue;  // file-managed: the file wins
    if (name == "alerts.email_to") {
      // Addresses without the file's alerts.smtp have no way to be sent to.
      const auto alerts = document.find("alerts");
      if (alerts != document.end() && alerts->is_object()) (*alerts)["email_to"] = item.value();
      continue;
    }
    document[name] = item.value();
  }
}

settings load_settings(const std::string& text, const std::string& base_dir,
                       const std::string& stored_json = {}) {
  auto document = parse_document(text);
  std::vector<std::string> file_managed;
  for (const char* name : editable_sections) {
    if (sets_section(document, name)) file_managed.emplace_back(name);
  }
  add_stored_sections(document, stored_json);
  const auto base = absolute_path(base_dir);
  auto result = read_settings(document, detail::load_context{base});
  result.source_text = text;
  result.base_dir = base.string();
  result.file_managed = std::move(file_managed);
  return result;
}

}  // namespace

const char* to_string(user_action action) {
  switch (action) {
    case user_action::deactivate:
      return "deactivate";
    case user_action::ignore:
      return "ignore";
    case user_action::remove:
      return "delete";
  }
  return "deactivate";
}

std::optional<std::string> intake_lock_problem(const server_settings& server) {
  if (is_loopback(server.listen.host)) return std::nullopt;
  if (server.tls.client_ca_file && !server.tls.client_subjects.empty()) return std::nullopt;
  if (!server.allowed_ips.empty() || server.secret_path_segment) return std::nullopt;
  return "server.listen is " + server.listen.host +
         ", not a loopback address, and the intake has no lock: anyone who knows the "
         "organization id can post notifications. Set at least one of "
         "server.tls.client_ca_file with server.tls.client_subjects (mutual TLS), "
         "server.allowed_ips or server.secret_path_segment; or set "
         "server.allow_unlocked_intake to true to accept this";
}

bool has_rest_credentials(const salesforce_settings& salesforce) {
  const bool jwt = salesforce.private_key && !salesforce.username.empty();
  return !salesforce.client_id.empty() && (jwt || salesforce.client_secret);
}

bool verifies_notifications(const settings& settings) {
  return settings.sync.verify_notifications.value_or(has_rest_credentials(settings.salesforce));
}

expected<settings, config_error> load_text(const std::string& text, const std::string& base_dir) {
  try {
    return load_settings(text, base_dir);
  } catch (const detail::load_failure& failure) {
    return unexpected{failure.error};
  }
}

expected<settings, config_error> with_stored_sections(const settings& file,
                                                      const std::string& stored_json) {
  try {
    auto result = load_settings(file.source_text, file.base_dir, stored_json);
    result.config_path = file.config_path;
    return result;
  } catch (const detail::load_failure& failure) {
    return unexpected{failure.error};
  }
}

expected<settings, config_error> load_file(const std::string& path) {
  try {
    const auto absolute = absolute_path(path);
    auto result = load_settings(detail::read_small_file(absolute.string(), "", "config file "),
                                absolute.parent_path().string());
    result.config_path = absolute.string();
    return result;
  } catch (const detail::load_failure& failure) {
    return unexpected{failure.error};
  }
}

}  // namespace connector::config
