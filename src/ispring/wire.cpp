// iSpring Learn wire formats. Every deviation from the one documented shape is marked
// "TOLERANCE (§x)" with the reference section that makes it uncertain; tighten those spots
// once a live account has answered (reference §10).
#include "connector/ispring/wire.hpp"

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <optional>
#include <stdexcept>
#include <utility>

#include <nlohmann/json.hpp>
#include <pugixml.hpp>

#include "connector/text/url.hpp"
#include "connector/text/utf8.hpp"
#include "connector/text/xml.hpp"

namespace connector::ispring {
namespace {

using json = nlohmann::json;
using ordered_json = nlohmann::ordered_json;

// Parsers report shape errors by throwing this internally; the public functions catch it at
// their boundary (guarded) so that nothing escapes.
struct format_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

[[noreturn]] void fail(const std::string& where, const std::string& what) {
  throw format_error(where.empty() ? what : where + ": " + what);
}

template <class F>
auto guarded(std::string_view what, F&& parse) -> parse_result<decltype(parse())> {
  try {
    return parse();
  } catch (const format_error& e) {
    return unexpected{std::string(what) + ": " + e.what()};
  } catch (const std::exception& e) {  // bad_alloc, or a json accessor we misused: still no throw
    return unexpected{std::string(what) + ": internal parser failure: " + e.what()};
  }
}

// --- Text helpers ----------------------------------------------------------------------

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

std::string describe(std::string_view text) {
  return "\"" + text::printable_text(text, 60) + "\"";
}

// iSpring's XML replies are flat: <response>id</response> or <response><code/><message/>
// </response> (reference §2, §3.1, §8). Read with pugixml, as Salesforce's messages are:
// the bytes must be UTF-8 without NULs (spelt out as &#0; too), and a DOCTYPE is refused before
// anything else, so no entity is ever declared, let alone expanded or fetched. Null for anything
// else.
std::unique_ptr<pugi::xml_document> parse_xml(std::string_view text) {
  if (!text::is_valid_utf8(text, text::nul_bytes::refused) ||
      text::find_unencodable_char_ref(text) != std::string_view::npos)
    return nullptr;
  auto doc = std::make_unique<pugi::xml_document>();
  // parse_doctype keeps a DOCTYPE as a node, so that it can be refused.
  const auto result = doc->load_buffer(
      text.data(), text.size(), pugi::parse_default | pugi::parse_doctype, pugi::encoding_utf8);
  if (!result) return nullptr;
  for (const auto& node : doc->children())
    if (node.type() == pugi::node_doctype) return nullptr;
  return doc;
}

// The text of the first element called `name`, at any depth; nullopt when there is none.
std::optional<std::string> xml_element_text(const pugi::xml_document& doc, const char* name) {
  const auto element = doc.find_node([name](const pugi::xml_node& node) {
    return node.type() == pugi::node_element && std::strcmp(node.name(), name) == 0;
  });
  if (!element) return std::nullopt;
  return std::string(element.text().get());
}

// --- JSON helpers ----------------------------------------------------------------------

// Real replies nest a few levels; refusing deep nesting up front keeps recursive code
// (dump, our own walkers) far from the stack limit on hostile input.
constexpr int max_json_depth = 64;

json parse_json(std::string_view body) {
  int depth = 0;
  bool in_string = false, escaped = false;
  for (const char c : body) {
    if (in_string) {
      if (escaped)
        escaped = false;
      else if (c == '\\')
        escaped = true;
      else if (c == '"')
        in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > max_json_depth) fail("", "JSON nested deeper than 64 levels");
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  try {
    return json::parse(body.begin(), body.end());
  } catch (const json::exception& e) {
    fail("", std::string("not valid JSON (") + e.what() + ")");
  }
}

std::string at(const std::string& where, std::string_view key) {
  return where.empty() ? std::string(key) : where + "." + std::string(key);
}
std::string at(const std::string& where, std::size_t index) {
  return where + "[" + std::to_string(index) + "]";
}

const json* member(const json& object, const char* key) {
  const auto it = object.find(key);
  if (it == object.end() || it->is_null()) return nullptr;  // null means "not given"
  return &*it;
}

void require_object(const json& v, const std::string& where) {
  if (!v.is_object()) fail(where, std::string("expected an object, got ") + v.type_name());
}

const json& require_array(const json& v, const std::string& where) {
  if (!v.is_array()) fail(where, std::string("expected an array, got ") + v.type_name());
  return v;
}

// TOLERANCE (§3.2 single-object GETs: S1 wraps in "response", the Laravel client reads
// them bare): an object whose only key is "response" is unwrapped.
const json& unwrap_response(const json& v) {
  if (v.is_object() && v.size() == 1 && v.contains("response")) return v["response"];
  return v;
}

std::string id_from(const json& v, const std::string& where) {
  std::string id;
  if (v.is_string()) id = v.get<std::string>();
  // TOLERANCE (§1.1 legacy API had numeric ids): an integer id is taken as its decimal text.
  else if (v.is_number_integer())
    id = v.dump();
  else
    fail(where, std::string("expected an id string, got ") + v.type_name());
  if (!is_safe_id(id)) fail(where, "not a usable id: " + describe(id));
  return id;
}

std::string required_id(const json& obj, const char* key, const std::string& where) {
  const json* v = member(obj, key);
  if (!v) fail(at(where, key), "missing");
  return id_from(*v, at(where, key));
}

// Absent, null and "" all mean "none" (e.g. the root's parentDepartmentId, reference §5).
std::optional<std::string> optional_id(const json& obj, const char* key, const std::string& where) {
  const json* v = member(obj, key);
  if (!v || (v->is_string() && v->get_ref<const std::string&>().empty())) return std::nullopt;
  return id_from(*v, at(where, key));
}

std::string required_text(const json& obj, const char* key, const std::string& where) {
  const json* v = member(obj, key);
  if (!v) fail(at(where, key), "missing");
  if (!v->is_string())
    fail(at(where, key), std::string("expected a string, got ") + v->type_name());
  return v->get<std::string>();
}

std::string optional_text(const json& obj, const char* key, const std::string& where) {
  const json* v = member(obj, key);
  if (!v) return {};
  if (!v->is_string())
    fail(at(where, key), std::string("expected a string, got ") + v->type_name());
  return v->get<std::string>();
}

// TOLERANCE (§2: the API also speaks XML, and XML-minded serialisers turn numbers into
// strings): integers may arrive as JSON numbers or as decimal strings.
int int_from(const json& v, const std::string& where) {
  if (v.is_number_unsigned()) {
    const auto n = v.get<std::uint64_t>();
    if (n > static_cast<std::uint64_t>(std::numeric_limits<int>::max()))
      fail(where, "integer out of range");
    return static_cast<int>(n);
  }
  if (v.is_number_integer()) {
    const auto n = v.get<std::int64_t>();
    if (n < std::numeric_limits<int>::min() || n > std::numeric_limits<int>::max())
      fail(where, "integer out of range");
    return static_cast<int>(n);
  }
  if (v.is_string()) {
    const std::string_view s = trim(v.get_ref<const std::string&>());
    int n = 0;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
    if (!s.empty() && ec == std::errc{} && end == s.data() + s.size()) return n;
    fail(where, "expected an integer, got " + describe(s));
  }
  fail(where, std::string("expected an integer, got ") + v.type_name());
}

// TOLERANCE (§7: flags documented as 0/1, shown as true/false in a sample): booleans,
// 0/1 and their string forms are all accepted; absent or null means false.
bool flag_from(const json* v, const std::string& where) {
  if (!v) return false;
  if (v->is_boolean()) return v->get<bool>();
  if (v->is_number_integer()) {
    if (*v == 0) return false;
    if (*v == 1) return true;
  }
  if (v->is_string()) {
    const auto& s = v->get_ref<const std::string&>();
    if (s == "1" || s == "true") return true;
    if (s == "0" || s == "false" || s.empty()) return false;
  }
  fail(where, "expected a flag (true/false or 0/1), got " + describe(v->dump()));
}

// TOLERANCE (§3.3: the last page's nextPageToken form is undocumented): absent, null and ""
// all mean "no more pages".
std::string next_page_token_from(const json& obj, const std::string& where) {
  const json* v = member(obj, "nextPageToken");
  if (!v) return {};
  if (!v->is_string())
    fail(at(where, "nextPageToken"), std::string("expected a string, got ") + v->type_name());
  return v->get<std::string>();
}

// The list under `key`. It must be present, so that an error object or an unrelated reply is
// never mistaken for an empty account (which would look like "every user was deleted").
// TOLERANCE (§3.3, inferred): `key: null` on an empty page counts as an empty list.
const json& page_items(const json& obj, const char* key, const std::string& where) {
  static const json empty_array = json::array();
  const auto it = obj.find(key);
  if (it == obj.end()) fail(where, std::string("missing \"") + key + "\"");
  if (it->is_null()) return empty_array;
  return require_array(*it, at(where, key));
}

// Response field names are upper-case Field IDs (reference §7); requests and our maps use
// the lower-case keys for built-ins. Custom Field IDs are case-sensitive and kept as given.
std::string request_field_key(const std::string& response_name) {
  static const std::pair<std::string_view, std::string_view> built_ins[] = {
      {"LOGIN", "login"},         {"EMAIL", "email"},         {"FIRST_NAME", "first_name"},
      {"LAST_NAME", "last_name"}, {"JOB_TITLE", "job_title"}, {"PHONE", "phone"},
      {"COUNTRY", "country"}};
  for (const auto& [upper, lower] : built_ins)
    if (response_name == upper) return std::string(lower);
  return response_name;
}

// A field value as text: strings as-is, null as "", anything else as its JSON text
// (country ids have been seen as numbers and as strings, reference §7).
std::string field_text(const json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_null()) return {};
  if (v.is_boolean()) return v.get<bool>() ? "true" : "false";
  return v.dump(-1, ' ', false, json::error_handler_t::replace);
}

// TOLERANCE (§3.2: responses carry an array of {name, value} — observed in every client —
// while S1's OpenAPI models an object {name: value}): both are accepted. A repeated name
// keeps its last value.
std::map<std::string, std::string> fields_from(const json& v, const std::string& where) {
  std::map<std::string, std::string> fields;
  if (v.is_array()) {
    for (std::size_t i = 0; i < v.size(); ++i) {
      const json& item = v[i];
      const std::string item_at = at(where, i);
      require_object(item, item_at);
      const std::string name = required_text(item, "name", item_at);
      if (name.empty()) fail(at(item_at, "name"), "empty field name");
      const auto value = item.find("value");
      fields.insert_or_assign(request_field_key(name),
                              value == item.end() ? std::string() : field_text(*value));
    }
  } else if (v.is_object()) {
    for (const auto& [name, value] : v.items()) {
      if (name.empty()) fail(where, "empty field name");
      fields.insert_or_assign(request_field_key(name), field_text(value));
    }
  } else {
    fail(where, std::string("expected an array or object of fields, got ") + v.type_name());
  }
  return fields;
}

std::vector<std::string> ids_from(const json& v, const std::string& where) {
  require_array(v, where);
  std::vector<std::string> ids;
  ids.reserve(v.size());
  for (std::size_t i = 0; i < v.size(); ++i) {
    // A group's member list may hold 20,000 ids: the usual one is taken as it is, and only
    // an unusual one pays for the path its error would name.
    const json& item = v[i];
    if (item.is_string() && is_safe_id(item.get_ref<const std::string&>()))
      ids.push_back(item.get_ref<const std::string&>());
    else
      ids.push_back(id_from(item, at(where, i)));
  }
  return ids;
}

user user_from(const json& v, const std::string& where) {
  require_object(v, where);
  user u;
  u.id = required_id(v, "userId", where);
  u.department_id = optional_id(v, "departmentId", where).value_or("");
  const json* status = member(v, "status");
  if (!status) fail(at(where, "status"), "missing");
  u.status = int_from(*status, at(where, "status"));
  u.role = optional_text(v, "role", where);
  if (const json* f = member(v, "fields")) u.fields = fields_from(*f, at(where, "fields"));
  if (const json* g = member(v, "groups")) u.group_ids = ids_from(*g, at(where, "groups"));
  if (const auto it = u.fields.find("login"); it != u.fields.end()) u.login = it->second;
  if (const auto it = u.fields.find("email"); it != u.fields.end()) u.email = it->second;
  return u;
}

department department_from(const json& v, const std::string& where) {
  require_object(v, where);
  department d;
  d.id = required_id(v, "departmentId", where);
  d.name = required_text(v, "name", where);
  // TOLERANCE (§5: the paged list may omit parentDepartmentId entirely): absent is allowed
  // here; callers needing the tree should use GET /department when every parent is missing.
  d.parent_id = optional_id(v, "parentDepartmentId", where);
  if (const json* code = member(v, "code")) {
    std::string text = field_text(*code);  // codes may be numeric-looking (S14 file sync)
    if (!text.empty()) d.code = std::move(text);
  }
  return d;
}

group group_from(const json& v, const std::string& where) {
  require_object(v, where);
  group g;
  g.id = required_id(v, "groupId", where);
  g.name = required_text(v, "name", where);
  g.is_smart = flag_from(member(v, "isSmart"), at(where, "isSmart"));
  if (const json* ids = member(v, "userIds")) g.user_ids = ids_from(*ids, at(where, "userIds"));
  return g;
}

profile_field profile_field_from(const json& v, const std::string& where) {
  require_object(v, where);
  profile_field f;
  if (const json* info = member(v, "userFieldInfoId")) f.field_info_id = field_text(*info);
  f.id = optional_text(v, "name", where);
  // TOLERANCE (§7: what `name` holds is unverified): fall back to userFieldInfoId.
  if (f.id.empty()) f.id = f.field_info_id;
  if (f.id.empty()) fail(where, "neither name nor userFieldInfoId given");
  f.label = optional_text(v, "label", where);
  f.type = optional_text(v, "type", where);
  f.is_unique = flag_from(member(v, "isUnique"), at(where, "isUnique"));
  f.is_required = flag_from(member(v, "isRequired"), at(where, "isRequired"));
  return f;
}

template <class T, class From>
page<T> page_from(std::string_view body, const char* key, From item_from) {
  const json doc = parse_json(body);
  require_object(doc, "");
  page<T> result;
  const json& items = page_items(doc, key, "");
  result.items.reserve(items.size());
  for (std::size_t i = 0; i < items.size(); ++i)
    result.items.push_back(item_from(items[i], at(key, i)));
  result.next_page_token = next_page_token_from(doc, "");
  return result;
}

// --- Builders ----------------------------------------------------------------------------

std::string dump(const ordered_json& j) {
  // Values come from Salesforce and may hold invalid UTF-8; replace rather than throw.
  return j.dump(-1, ' ', false, ordered_json::error_handler_t::replace);
}

ordered_json fields_json(const field_map& fields) {
  ordered_json out = ordered_json::object();
  for (const auto& [key, value] : fields) out[key] = value;
  return out;
}

ordered_json string_array(const std::vector<std::string>& items) {
  ordered_json out = ordered_json::array();
  for (const auto& item : items) out.push_back(item);
  return out;
}

}  // namespace

bool is_safe_id(std::string_view id) {
  if (id.empty() || id.size() > 128) return false;
  // "." and ".." would be path segments with a meaning of their own.
  if (id.find_first_not_of('.') == std::string_view::npos) return false;
  return std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_' || c == '~';
  });
}

parse_result<token> parse_token(std::string_view body) {
  return guarded("token response", [&] {
    const json doc = parse_json(body);
    require_object(doc, "");
    token t;
    t.access_token = required_text(doc, "access_token", "");
    if (t.access_token.empty()) fail("access_token", "empty");
    // expires_in is documented as always 1800 (§1.2); if it is ever missing, assume that.
    const json* expires = member(doc, "expires_in");
    t.expires_in_s = expires ? int_from(*expires, "expires_in") : 1800;
    if (t.expires_in_s <= 0) fail("expires_in", "not positive");
    return t;
  });
}

parse_result<page<user>> parse_users_page(std::string_view body) {
  return guarded("users page", [&] { return page_from<user>(body, "userProfiles", user_from); });
}

parse_result<user> parse_user(std::string_view body) {
  return guarded("user", [&] {
    const json doc = parse_json(body);
    return user_from(unwrap_response(doc), "");
  });
}

parse_result<page<department>> parse_departments_page(std::string_view body) {
  return guarded("departments page",
                 [&] { return page_from<department>(body, "departments", department_from); });
}

parse_result<std::vector<department>> parse_departments_list(std::string_view body) {
  return guarded("department list", [&] {
    const json doc = parse_json(body);
    const json& top = unwrap_response(doc);
    // TOLERANCE (§3.3/§5: S1 says {departments:[…]}; a generated client may return the bare
    // array the non-paged group list uses): both are accepted.
    if (!top.is_array()) require_object(top, "");
    const json& items = top.is_array() ? top : page_items(top, "departments", "");
    std::vector<department> out;
    out.reserve(items.size());
    for (std::size_t i = 0; i < items.size(); ++i)
      out.push_back(department_from(items[i], at("departments", i)));
    return out;
  });
}

parse_result<department> parse_department(std::string_view body) {
  return guarded("department", [&] {
    const json doc = parse_json(body);
    return department_from(unwrap_response(doc), "");
  });
}

parse_result<page<group>> parse_groups_page(std::string_view body) {
  return guarded("groups page", [&] { return page_from<group>(body, "groups", group_from); });
}

parse_result<group> parse_group(std::string_view body) {
  return guarded("group", [&] {
    const json doc = parse_json(body);
    return group_from(unwrap_response(doc), "");
  });
}

parse_result<std::vector<profile_field>> parse_profile_fields(std::string_view body) {
  return guarded("profile fields", [&] {
    const json doc = parse_json(body);
    const json& items = require_array(unwrap_response(doc), "");
    std::vector<profile_field> out;
    out.reserve(items.size());
    for (std::size_t i = 0; i < items.size(); ++i)
      out.push_back(profile_field_from(items[i], at("", i)));
    return out;
  });
}

// TOLERANCE (§3.1, §10 q1: the exact JSON bytes of a 201 are unknown): accepted are a JSON
// string literal, bare text, XML <response>id</response>, and an object carrying the id
// (userId / departmentId / groupId / id, e.g. with X-Return-Object). Whitespace is trimmed.
parse_result<std::string> parse_created_id(std::string_view body) {
  return guarded("created id", [&]() -> std::string {
    const std::string_view text = trim(body);
    if (text.empty()) fail("", "empty body");
    if (text.front() == '"') {
      const json doc = parse_json(text);
      if (!doc.is_string()) fail("", "not a JSON string");
      return id_from(json(std::string(trim(doc.get_ref<const std::string&>()))), "");
    }
    if (text.front() == '{') {
      const json doc = parse_json(text);
      const json& obj = unwrap_response(doc);
      if (obj.is_string()) return id_from(json(std::string(trim(obj.get<std::string>()))), "");
      require_object(obj, "");
      for (const char* key : {"userId", "departmentId", "groupId", "id"})
        if (const json* v = member(obj, key)) return id_from(*v, key);
      fail("", "object without userId, departmentId, groupId or id");
    }
    if (text.front() == '<') {
      const auto doc = parse_xml(text);
      if (!doc) fail("", "not well-formed XML (or with a DOCTYPE)");
      const auto inner = xml_element_text(*doc, "response");
      if (!inner) fail("", "XML without a <response> element");
      const std::string id(trim(*inner));
      if (!is_safe_id(id)) fail("", "not a usable id: " + describe(id));
      return id;
    }
    if (!is_safe_id(text)) fail("", "not a usable id: " + describe(text));
    return std::string(text);
  });
}

parse_result<api_error> parse_error(int http_status, std::string_view body) {
  // Structured messages are shown whole (within reason); unrecognised bodies are cut short.
  constexpr std::size_t message_limit = 1000, raw_text_limit = 200;
  api_error e{http_status, 0, {}};
  const std::string_view text = trim(body);
  if (text.empty()) {
    e.message = "empty body";
    return e;
  }
  if (text.front() == '{') {
    try {
      const json doc = parse_json(text);
      const json& obj = unwrap_response(doc);
      if (obj.is_object()) {
        if (const json* code = member(obj, "code")) {
          try {
            e.code = int_from(*code, "code");
          } catch (const format_error&) {  // a non-numeric code: keep 0, keep the message
          }
        }
        // TOLERANCE (§1.2: token errors are documented with the common body, but OAuth
        // servers usually answer {error, error_description}): read either.
        for (const char* key : {"message", "error_description", "error"}) {
          const json* m = member(obj, key);
          if (m && m->is_string() && !m->get_ref<const std::string&>().empty()) {
            e.message = text::printable_text(m->get_ref<const std::string&>(), message_limit);
            return e;
          }
        }
      }
    } catch (const std::exception&) {  // not JSON after all: fall through to raw text
    }
  } else if (text.front() == '<') {
    // XML error body <response><code/><message/></response> (§8, the default format).
    const auto doc = parse_xml(text);
    const auto code = doc ? xml_element_text(*doc, "code") : std::nullopt;
    const auto message = doc ? xml_element_text(*doc, "message") : std::nullopt;
    if (code) {
      int n = 0;
      const std::string_view digits = trim(*code);
      const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
      if (ec == std::errc{} && end == digits.data() + digits.size()) e.code = n;
    }
    if (message) {
      e.message = text::printable_text(*message, message_limit);
      if (!e.message.empty()) return e;
    }
  }
  // Anything else (proxy HTML pages, plain text, truncated JSON): show the start of it.
  e.message =
      text::printable_text(text, {.max_chars = raw_text_limit, .drop_tags = text.front() == '<'});
  if (e.message.empty()) e.message = "unreadable body";
  return e;
}

std::string build_create_user_body(std::string_view department_id, const field_map& fields,
                                   bool send_login_email) {
  ordered_json body;
  body["departmentId"] = std::string(department_id);
  body["fields"] = fields_json(fields);
  // The default differs between doc versions (§4.3), so it is always sent.
  body["sendLoginEmail"] = send_login_email;
  return dump(body);
}

std::string build_update_user_body(const std::optional<std::string>& department_id,
                                   const field_map& fields,
                                   const std::vector<std::string>& group_ids) {
  ordered_json body = ordered_json::object();
  if (department_id) body["departmentId"] = *department_id;
  if (!fields.empty()) body["fields"] = fields_json(fields);
  if (!group_ids.empty()) body["groupIds"] = string_array(group_ids);
  return dump(body);
}

std::string build_status_body(int status) {
  ordered_json body;
  body["status"] = status;
  return dump(body);
}

std::string build_group_members_body(const std::vector<std::string>& user_ids) {
  // The whole member list, 20,000 ids and more, on every replace: written straight out, as
  // the JSON document below would be. An id made of is_safe_id's characters needs no escape;
  // any other goes through the JSON writer.
  std::string body = R"({"userIds":[)";
  body.reserve(body.size() + user_ids.size() * 40 + 2);
  for (std::size_t i = 0; i < user_ids.size(); ++i) {
    if (i > 0) body += ',';
    if (is_safe_id(user_ids[i])) {
      body += '"';
      body += user_ids[i];
      body += '"';
    } else {
      body += dump(ordered_json(user_ids[i]));
    }
  }
  body += "]}";
  return body;
}

std::string build_remove_groups_body(const std::vector<std::string>& group_ids) {
  ordered_json body;
  body["groupIds"] = string_array(group_ids);
  return dump(body);
}

std::string build_department_body(std::string_view name, std::string_view parent_id,
                                  const std::optional<std::string>& code) {
  ordered_json body;
  body["name"] = std::string(name);
  body["parentDepartmentId"] = std::string(parent_id);
  if (code) body["code"] = *code;
  return dump(body);
}

std::string build_rename_department_body(std::string_view name) {
  ordered_json body;
  body["name"] = std::string(name);
  return dump(body);
}

std::string build_token_form(std::string_view client_id, std::string_view client_secret) {
  // Space becomes %20, which every form decoder reads as a space, as it does '+'.
  return text::form_encode({{"grant_type", "client_credentials"},
                            {"client_id", std::string(client_id)},
                            {"client_secret", std::string(client_secret)}});
}

}  // namespace connector::ispring
