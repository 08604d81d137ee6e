#include "connector/salesforce/change_events.hpp"

#include <openssl/sha.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "connector/salesforce/change_order.hpp"
#include "connector/salesforce/ids.hpp"
#include "connector/store/types.hpp"
#include "quoted_input.hpp"

namespace connector::salesforce {
namespace {

using json = nlohmann::json;

constexpr std::size_t max_envelope_depth = 3;  // EventBridge → CometD-style payload → event
constexpr std::size_t max_token_bytes = 255;   // channel, transactionKey, replayId, names
// Year 9999: beyond it a "timestamp" is garbage, and sums stay far from overflow.
constexpr std::int64_t max_timestamp_ms = 253402300799999;

std::string describe(const json& value) {
  if (value.is_string()) return detail::quote_input(value.get_ref<const std::string&>());
  if (value.is_object() || value.is_array()) return std::string("an ") + value.type_name();
  return detail::quote_input(value.dump());
}

// --- strict JSON ------------------------------------------------------------------------

// Builds the DOM like nlohmann's own parser, but refuses what it would accept silently:
// duplicate keys (it keeps the last), integers past 64 bits (it turns them into doubles)
// and nesting deeper than max_json_depth.
class strict_dom_builder {
 public:
  explicit strict_dom_builder(json& root) : root_(root) {}

  bool null() { return put(nullptr) != nullptr; }
  bool boolean(bool value) { return put(value) != nullptr; }
  bool number_integer(json::number_integer_t value) { return put(value) != nullptr; }
  bool number_unsigned(json::number_unsigned_t value) { return put(value) != nullptr; }
  bool number_float(json::number_float_t value, const json::string_t& text) {
    if (!std::isfinite(value) || text.find_first_of(".eE") == json::string_t::npos) {
      return fail(event_errc::number_out_of_range,
                  "the number " + detail::quote_input(text) + " does not fit in 64 bits");
    }
    return put(value) != nullptr;
  }
  bool string(json::string_t& value) { return put(std::move(value)) != nullptr; }
  bool binary(json::binary_t&) { return false; }  // never produced by JSON text

  bool start_object(std::size_t) { return open(json::object()); }
  bool start_array(std::size_t) { return open(json::array()); }
  bool end_object() { return close(); }
  bool end_array() { return close(); }

  bool key(json::string_t& name) {
    if (stack_.back()->contains(name)) {
      return fail(event_errc::duplicate_key,
                  "the key " + detail::quote_input(name) + " appears twice in one object");
    }
    key_ = std::move(name);
    return true;
  }

  bool parse_error(std::size_t position, const std::string&, const nlohmann::detail::exception& e) {
    if (e.id == 406) {  // out_of_range: a float beyond double
      return fail(event_errc::number_out_of_range,
                  "a number near byte " + std::to_string(position) + " is out of range");
    }
    return fail(event_errc::malformed_json,
                "not well-formed JSON near byte " + std::to_string(position) + " (or not UTF-8)");
  }

  const std::optional<event_error>& error() const { return error_; }

 private:
  bool fail(event_errc code, std::string message) {
    if (!error_) error_ = event_error{code, std::move(message)};
    return false;
  }

  // Stores `value` where the parser is; returns where it went. Containers on the stack are
  // the last element of their parent, so pointers to them stay valid (as in nlohmann's).
  json* put(json value) {
    if (stack_.empty()) {
      root_ = std::move(value);
      return &root_;
    }
    json& parent = *stack_.back();
    if (parent.is_array()) {
      parent.push_back(std::move(value));
      return &parent.back();
    }
    json& slot = parent[key_];
    slot = std::move(value);
    return &slot;
  }

  bool open(json container) {
    if (stack_.size() >= max_json_depth) {
      return fail(event_errc::too_deep,
                  "JSON nested deeper than " + std::to_string(max_json_depth) + " levels");
    }
    stack_.push_back(put(std::move(container)));
    return true;
  }

  bool close() {
    stack_.pop_back();
    return true;
  }

  json& root_;
  std::vector<json*> stack_;
  std::string key_;
  std::optional<event_error> error_;
};

expected<json, event_error> parse_strict(std::string_view body) {
  json root;
  strict_dom_builder builder(root);
  const bool ok = json::sax_parse(body, &builder);
  if (builder.error()) return unexpected{*builder.error()};
  if (!ok) return unexpected{event_error{event_errc::malformed_json, "not well-formed JSON"}};
  return root;
}

// --- reading one event ------------------------------------------------------------------

// What the envelopes around an event said about it.
struct envelope_context {
  std::string channel;
  std::string replay_id;
  std::string event_uuid;
  std::string type_name;  // CometD channel tail, EventBridge detail-type, attributes.type
};

class event_reader {
 public:
  event_reader(std::size_t index, const json& whole_event, const event_parse_options& options)
      : index_(index), whole_event_(whole_event), options_(options) {}

  expected<std::vector<parsed_event>, event_error> read() {
    envelope_context context;
    const json* payload = &whole_event_;
    for (std::size_t depth = 0;; ++depth) {
      if (!payload->is_object()) {
        return fail(event_errc::not_an_event, "expected an object, got " + describe(*payload));
      }
      if (payload->contains("ChangeEventHeader")) return read_change_event(*payload, context);
      if (depth == max_envelope_depth) break;
      const json* inner = unwrap(*payload, context);
      if (!error_.empty()) return unexpected{event_error{error_code_, error_}};
      if (inner == nullptr) break;
      payload = inner;
    }
    return read_platform_event(*payload, context);
  }

 private:
  unexpected<event_error> fail(event_errc code, const std::string& what) const {
    return unexpected{event_error{code, "event " + std::to_string(index_) + ": " + what}};
  }

  void note_error(event_errc code, const std::string& what) {
    if (error_.empty()) {
      error_code_ = code;
      error_ = "event " + std::to_string(index_) + ": " + what;
    }
  }

  // A printable, bounded token (channel, ids): it becomes part of the notification id.
  bool read_token(const json& object, const char* key, std::string& out) {
    const auto it = object.find(key);
    if (it == object.end() || it->is_null()) return true;
    std::string text;
    if (it->is_string()) {
      text = it->get<std::string>();
    } else if (it->is_number_integer()) {
      text = it->dump();
    } else {
      note_error(event_errc::bad_header,
                 std::string(key) + " must be a string or an integer, got " + describe(*it));
      return false;
    }
    const bool printable = std::all_of(text.begin(), text.end(), [](char c) {
      return static_cast<unsigned char>(c) > 0x20 && static_cast<unsigned char>(c) < 0x7F;
    });
    if (text.empty() || text.size() > max_token_bytes || !printable) {
      note_error(event_errc::bad_header, std::string(key) +
                                             " must be 1 to 255 printable characters, got " +
                                             detail::quote_input(text));
      return false;
    }
    out = std::move(text);
    return true;
  }

  // The event inside an envelope, or nullptr when `object` is not an envelope.
  const json* unwrap(const json& object, envelope_context& context) {
    // CometD: {"channel": "/data/UserChangeEvent", "data": {"payload": …, "event": {…}}}
    if (const auto data = object.find("data");
        data != object.end() && data->is_object() && data->contains("payload")) {
      if (!read_token(object, "channel", context.channel)) return nullptr;
      if (!context.channel.empty()) {
        context.type_name = context.channel.substr(context.channel.rfind('/') + 1);
      }
      read_event_ids(*data, context);
      return &(*data)["payload"];
    }
    // EventBridge: {"detail-type": "UserChangeEvent", "source": …, "detail": event}
    if (const auto detail = object.find("detail");
        detail != object.end() && (object.contains("detail-type") || object.contains("source"))) {
      std::string detail_type;
      if (!read_token(object, "detail-type", detail_type)) return nullptr;
      if (!detail_type.empty()) context.type_name = detail_type;
      return &*detail;
    }
    // Event Relay's detail (its exact shape is unconfirmed, salesforce.md "Biggest
    // uncertainties" 5): {"payload": event, "replayId"|"event": {"replayId"}, …}
    if (const auto payload = object.find("payload");
        payload != object.end() && payload->is_object()) {
      read_event_ids(object, context);
      return &*payload;
    }
    return nullptr;
  }

  void read_event_ids(const json& holder, envelope_context& context) {
    if (const auto event = holder.find("event"); event != holder.end() && event->is_object()) {
      read_token(*event, "replayId", context.replay_id);
      read_token(*event, "EventUuid", context.event_uuid);
    }
    read_token(holder, "replayId", context.replay_id);
  }

  // commitTimestamp: epoch ms (Pub/Sub, and most CometD samples) or an ISO date (CometD).
  std::optional<std::int64_t> read_timestamp(const json& value, const char* key) {
    std::optional<std::int64_t> ms;
    if (value.is_number_integer()) {
      if (!value.is_number_unsigned() || value.get<std::uint64_t>() <= max_timestamp_ms) {
        ms = value.get<std::int64_t>();
      }
    } else if (value.is_string()) {
      const auto& text = value.get_ref<const std::string&>();
      if (!text.empty() && text.size() <= 15 &&
          std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        ms = std::stoll(text);
      } else {
        ms = parse_datetime_ms(text);
      }
    }
    if (!ms || *ms < 0 || *ms > max_timestamp_ms) {
      note_error(event_errc::bad_timestamp,
                 std::string(key) + " must be epoch milliseconds or an ISO 8601 date, got " +
                     describe(value));
      return std::nullopt;
    }
    return ms;
  }

  static bool is_field_name(std::string_view name) {
    if (name.empty() || name.size() > max_token_bytes) return false;
    if (!((name[0] >= 'A' && name[0] <= 'Z') || (name[0] >= 'a' && name[0] <= 'z'))) return false;
    return std::all_of(name.begin(), name.end(), [](char c) {
      return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
    });
  }

  // The record field a compound component stands for: Name.FirstName → FirstName,
  // MailingAddress.City → MailingCity, Address.Street → Street (User), Place__c.Latitude →
  // Place__Latitude__s (custom geolocation).
  static std::string component_field(std::string_view compound, std::string_view component) {
    if (compound.ends_with("Address")) {
      return std::string(compound.substr(0, compound.size() - 7)).append(component);
    }
    if (compound.ends_with("__c")) {
      return std::string(compound.substr(0, compound.size() - 3))
          .append("__")
          .append(component)
          .append("__s");
    }
    return std::string(component);
  }

  // "Name.FirstName" → "FirstName"; "Title" → "Title"; empty when not a field name.
  static std::string flatten_name(std::string_view dotted) {
    const auto dot = dotted.find('.');
    if (dot == std::string_view::npos) return is_field_name(dotted) ? std::string(dotted) : "";
    const auto compound = dotted.substr(0, dot);
    const auto component = dotted.substr(dot + 1);
    if (!is_field_name(compound) || !is_field_name(component)) return "";
    return component_field(compound, component);
  }

  bool read_name_list(const json& header, const char* key, std::set<std::string>& out) {
    const auto it = header.find(key);
    if (it == header.end() || it->is_null()) return true;
    if (!it->is_array()) {
      note_error(event_errc::bad_header,
                 std::string(key) + " must be an array of field names, got " + describe(*it));
      return false;
    }
    for (const auto& item : *it) {
      const std::string name = item.is_string() ? flatten_name(item.get<std::string>()) : "";
      if (name.empty()) {
        // Pub/Sub sends these as bitmaps; a relay must decode them into names.
        note_error(event_errc::bad_header,
                   std::string(key) + " holds " + describe(item) + ", which is not a field name");
        return false;
      }
      out.insert(name);
    }
    return true;
  }

  // The payload's fields, compound ones flattened. Values are scalars or null.
  bool read_payload_fields(const json& payload, json& out) {
    for (const auto& [name, value] : payload.items()) {
      if (name == "ChangeEventHeader" || name == "attributes") continue;
      if (!is_field_name(name)) {
        note_error(event_errc::bad_field, detail::quote_input(name) + " is not a field name");
        return false;
      }
      if (value.is_object()) {
        for (const auto& [component, part] : value.items()) {
          if (!is_field_name(component) || part.is_structured()) {
            note_error(event_errc::bad_field, "the compound field " + detail::quote_input(name) +
                                                  " holds " + detail::quote_input(component) +
                                                  " = " + describe(part) +
                                                  "; expected named scalar components");
            return false;
          }
          out[component_field(name, component)] = part;
        }
      } else if (value.is_array()) {
        note_error(event_errc::bad_field, "the field " + detail::quote_input(name) +
                                              " holds an array; record fields are scalars");
        return false;
      } else {
        out[name] = value;
      }
    }
    return true;
  }

  expected<std::vector<parsed_event>, event_error> read_change_event(const json& payload,
                                                                     envelope_context& context) {
    const json& header = payload["ChangeEventHeader"];
    if (!header.is_object()) {
      return fail(event_errc::bad_header, "ChangeEventHeader must be an object");
    }
    parsed_event base;
    base.event_index = index_;

    const auto entity = header.find("entityName");
    if (entity == header.end() || !entity->is_string()) {
      return fail(event_errc::bad_header, "ChangeEventHeader.entityName is missing");
    }
    base.object_type = entity->get<std::string>();
    if (base.object_type != options_.source_object) {
      return fail(event_errc::wrong_entity, "entityName " + detail::quote_input(base.object_type) +
                                                " is not the synced object " +
                                                detail::quote_input(options_.source_object));
    }
    base.event_name = base.object_type + "ChangeEvent";

    const auto type = header.find("changeType");
    if (type == header.end() || !type->is_string()) {
      return fail(event_errc::bad_header, "ChangeEventHeader.changeType is missing");
    }
    static const std::map<std::string, change_type, std::less<>> types = {
        {"CREATE", change_type::create},
        {"UPDATE", change_type::update},
        {"DELETE", change_type::remove},
        {"UNDELETE", change_type::undelete},
        {"GAP_CREATE", change_type::gap_create},
        {"GAP_UPDATE", change_type::gap_update},
        {"GAP_DELETE", change_type::gap_remove},
        {"GAP_UNDELETE", change_type::gap_undelete},
        {"GAP_OVERFLOW", change_type::gap_overflow}};
    const auto known = types.find(type->get_ref<const std::string&>());
    if (known == types.end()) {
      return fail(event_errc::bad_change_type, "changeType " + describe(*type) + " is unknown");
    }
    base.type = known->second;

    if (const auto ts = header.find("commitTimestamp"); ts != header.end()) {
      base.commit_timestamp_ms = read_timestamp(*ts, "commitTimestamp");
    } else {
      note_error(event_errc::bad_header, "ChangeEventHeader.commitTimestamp is missing");
    }
    if (const auto seq = header.find("sequenceNumber"); seq != header.end() && !seq->is_null()) {
      if (!seq->is_number_integer() || seq->get<std::int64_t>() < 0 ||
          (seq->is_number_unsigned() &&
           seq->get<std::uint64_t>() >
               static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))) {
        note_error(event_errc::bad_header,
                   "sequenceNumber must be a non-negative integer, got " + describe(*seq));
      } else {
        base.sequence_number = seq->get<std::int64_t>();
      }
    }
    read_token(header, "transactionKey", base.transaction_key);
    read_token(header, "commitUser", base.commit_user);
    if (!error_.empty()) return unexpected{event_error{error_code_, error_}};

    const bool gap = base.type >= change_type::gap_create && base.type <= change_type::gap_overflow;
    auto record_ids = read_record_ids(header, "recordIds", "recordId", gap);
    if (!record_ids) return unexpected{record_ids.error()};

    json fields = json::object();
    if (gap) {
      base.has_data = false;
      base.needs_reread = true;
    } else if (base.type == change_type::remove) {
      base.has_data = false;
    } else if (!read_change_fields(payload, header, base.type, fields)) {
      return unexpected{event_error{error_code_, error_}};
    }
    base.fields_json = fields.dump();

    base.channel = context.channel;
    base.replay_id = context.replay_id;
    return split(std::move(base), *record_ids, context);
  }

  // CREATE and UNDELETE carry the record (nulls included). UPDATE carries changes: CometD
  // omits cleared fields, so a changed field that is not sent was cleared; Pub/Sub sends
  // every field with unchanged ones null, so there a null counts only when nulledFields or
  // changedFields name it (salesforce.md §C.1).
  bool read_change_fields(const json& payload, const json& header, change_type type, json& out) {
    json sent = json::object();
    if (!read_payload_fields(payload, sent)) return false;
    if (type != change_type::update) {
      out = std::move(sent);
      return true;
    }
    std::set<std::string> changed;
    std::set<std::string> nulled;
    if (!read_name_list(header, "changedFields", changed) ||
        !read_name_list(header, "nulledFields", nulled)) {
      return false;
    }
    const bool pubsub_style = header.contains("nulledFields");
    for (auto& [name, value] : sent.items()) {
      if (value.is_null() && pubsub_style && !nulled.contains(name) && !changed.contains(name)) {
        continue;  // unchanged
      }
      out[name] = value;
    }
    for (const auto& name : nulled) out[name] = nullptr;
    for (const auto& name : changed) {
      if (!out.contains(name)) out[name] = nullptr;
    }
    return true;
  }

  static bool is_wildcard_id(const json& item) {
    if (!item.is_string()) return false;
    const auto& text = item.get_ref<const std::string&>();
    return text.size() == 4 && text[3] == '*' &&
           std::all_of(text.begin(), text.begin() + 3,
                       [](unsigned char c) { return std::isalnum(c) != 0; });
  }

  expected<std::vector<std::string>, event_error> read_record_ids(const json& holder,
                                                                  const char* list_key,
                                                                  const char* single_key,
                                                                  bool wildcard_allowed = false) {
    std::vector<std::string> ids;
    std::vector<const json*> raw;
    if (const auto list = holder.find(list_key); list != holder.end()) {
      if (!list->is_array()) {
        return fail(event_errc::bad_record_id,
                    std::string(list_key) + " must be an array, got " + describe(*list));
      }
      for (const auto& item : *list) raw.push_back(&item);
    } else if (const auto one = holder.find(single_key); one != holder.end()) {
      raw.push_back(&*one);  // the User sample (salesforce.md §C.2) has a single recordId
    }
    if (raw.empty()) return fail(event_errc::bad_record_id, "no record id");
    for (const json* item : raw) {
      std::optional<std::string> id;
      if (item->is_string()) id = to_18_char_id(item->get_ref<const std::string&>());
      // Wildcards ("005*") name every record of a kind: only a full reconciliation helps, so
      // they are taken from gap events (which ask for a re-read) and refused elsewhere.
      if (!id && wildcard_allowed && is_wildcard_id(*item)) id = item->get<std::string>();
      if (!id) {
        return fail(event_errc::bad_record_id,
                    describe(*item) + " is not a Salesforce record id (15 or 18 characters)");
      }
      if (std::find(ids.begin(), ids.end(), *id) == ids.end()) ids.push_back(std::move(*id));
    }
    return ids;
  }

  std::string event_key(const envelope_context& context, const parsed_event& base) const {
    if (!context.replay_id.empty()) return "replay:" + context.channel + ":" + context.replay_id;
    if (!context.event_uuid.empty()) return "uuid:" + context.event_uuid;
    if (!base.transaction_key.empty() && base.sequence_number) {
      return "tx:" + base.transaction_key + ":" + std::to_string(*base.sequence_number);
    }
    // Nothing names the event: the same bytes redelivered are the same event. Objects dump
    // with sorted keys, so key order and whitespace do not matter.
    const std::string canonical = whole_event_.dump();
    unsigned char digest[SHA256_DIGEST_LENGTH];
    SHA256(reinterpret_cast<const unsigned char*>(canonical.data()), canonical.size(), digest);
    static constexpr char hex[] = "0123456789abcdef";
    std::string out = "sha256:";
    for (const unsigned char byte : digest) {
      out += hex[byte >> 4];
      out += hex[byte & 0x0F];
    }
    return out;
  }

  std::vector<parsed_event> split(parsed_event base, const std::vector<std::string>& record_ids,
                                  const envelope_context& context) const {
    const std::string key = event_key(context, base);
    std::vector<parsed_event> out;
    out.reserve(record_ids.size());
    for (const auto& id : record_ids) {
      parsed_event& change = out.emplace_back(base);
      change.record_id = id;
      change.notification_id = key + "/" + id;
    }
    return out;
  }

  expected<std::vector<parsed_event>, event_error> read_platform_event(const json& payload,
                                                                       envelope_context& context) {
    if (const auto attributes = payload.find("attributes");
        context.type_name.empty() && attributes != payload.end() && attributes->is_object()) {
      read_token(*attributes, "type", context.type_name);  // Apex JSON.serialize of the event
      if (!error_.empty()) return unexpected{event_error{error_code_, error_}};
    }
    const std::string& name = context.type_name;
    if (!name.ends_with("__e")) {
      return fail(event_errc::not_an_event,
                  "no ChangeEventHeader, and no platform event name (…__e) in the CometD channel, "
                  "EventBridge detail-type or attributes.type" +
                      (name.empty() ? std::string() : "; got " + detail::quote_input(name)));
    }
    if (options_.platform_event_record_id_field.empty()) {
      return fail(event_errc::platform_event_not_configured,
                  "platform event " + detail::quote_input(name) +
                      " arrived, but no record id field is configured");
    }
    if (!options_.platform_event_names.empty() &&
        std::find(options_.platform_event_names.begin(), options_.platform_event_names.end(),
                  name) == options_.platform_event_names.end()) {
      return fail(
          event_errc::platform_event_not_configured,
          "platform event " + detail::quote_input(name) + " is not one of the configured events");
    }
    parsed_event base;
    base.event_index = index_;
    base.object_type = options_.source_object;
    base.event_name = name;
    base.type = change_type::platform_event;
    base.channel = context.channel;
    base.replay_id = context.replay_id;

    const auto id_field = payload.find(options_.platform_event_record_id_field);
    if (id_field == payload.end()) {
      return fail(event_errc::bad_record_id,
                  "platform event " + detail::quote_input(name) + " has no " +
                      detail::quote_input(options_.platform_event_record_id_field) + " field");
    }
    std::optional<std::string> id;
    if (id_field->is_string()) id = to_18_char_id(id_field->get_ref<const std::string&>());
    if (!id) {
      return fail(event_errc::bad_record_id,
                  detail::quote_input(options_.platform_event_record_id_field) + " holds " +
                      describe(*id_field) + ", not a Salesforce record id");
    }
    if (const auto created = payload.find("CreatedDate"); created != payload.end()) {
      base.commit_timestamp_ms = read_timestamp(*created, "CreatedDate");
      if (!error_.empty()) return unexpected{event_error{error_code_, error_}};
    }
    json fields = json::object();
    for (const auto& [event_field, record_field] : options_.platform_event_fields) {
      const auto value = payload.find(event_field);
      if (value == payload.end()) continue;
      if (value->is_structured()) {
        return fail(event_errc::bad_field, "the field " + detail::quote_input(event_field) +
                                               " holds " + describe(*value) +
                                               "; mapped fields must be scalars");
      }
      fields[record_field] = *value;
    }
    base.fields_json = fields.dump();
    return split(std::move(base), {*id}, context);
  }

  std::size_t index_;
  const json& whole_event_;
  const event_parse_options& options_;
  std::string error_;
  event_errc error_code_ = event_errc::bad_header;
};

}  // namespace

expected<std::vector<parsed_event>, event_error> parse_change_events(
    std::string_view body, const event_parse_options& options) {
  if (body.find_first_not_of(" \t\r\n") == std::string_view::npos) {
    return unexpected{event_error{event_errc::empty_body, "the body is empty"}};
  }
  auto root = parse_strict(body);
  if (!root) return unexpected{root.error()};

  std::vector<const json*> events;
  if (root->is_array()) {
    if (root->size() > max_events_per_body) {
      return unexpected{event_error{event_errc::too_many_events,
                                    std::to_string(root->size()) + " events; at most " +
                                        std::to_string(max_events_per_body) + " per request"}};
    }
    for (const auto& event : *root) events.push_back(&event);
  } else {
    events.push_back(&*root);
  }

  std::vector<parsed_event> out;
  for (std::size_t i = 0; i < events.size(); ++i) {
    auto changes = event_reader(i, *events[i], options).read();
    if (!changes) return unexpected{changes.error()};
    if (out.size() + changes->size() > max_changes_per_body) {
      return unexpected{event_error{
          event_errc::too_many_events,
          "more than " + std::to_string(max_changes_per_body) + " record changes in one request"}};
    }
    for (auto& change : *changes) out.push_back(std::move(change));
  }
  return out;
}

bool is_wildcard_record(std::string_view record_id) {
  return record_id.size() == 4 && record_id.back() == '*';
}

store::incoming_change to_incoming_change(const parsed_event& event) {
  store::incoming_change change;
  change.notification_id = event.notification_id;
  change.object_type = event.object_type;
  change.modstamp = event.commit_timestamp_ms;
  change.has_data = event.has_data;
  if (event.needs_reread) {
    change.has_data = false;
    change.fields_json = "{}";
    // One record: queued for a read over REST. A wildcard: remembered only, the caller
    // asks for a full reconciliation.
    if (!is_wildcard_record(event.record_id)) {
      change.record_id = event.record_id;
      change.reread = true;
    }
    return change;
  }
  change.record_id = event.record_id;
  change.fields_json = event.has_data ? event.fields_json : "{}";
  return change;
}

const char* to_string(change_type type) {
  switch (type) {
    case change_type::create:
      return "CREATE";
    case change_type::update:
      return "UPDATE";
    case change_type::remove:
      return "DELETE";
    case change_type::undelete:
      return "UNDELETE";
    case change_type::gap_create:
      return "GAP_CREATE";
    case change_type::gap_update:
      return "GAP_UPDATE";
    case change_type::gap_remove:
      return "GAP_DELETE";
    case change_type::gap_undelete:
      return "GAP_UNDELETE";
    case change_type::gap_overflow:
      return "GAP_OVERFLOW";
    case change_type::platform_event:
      return "PLATFORM_EVENT";
  }
  return "?";
}

}  // namespace connector::salesforce
