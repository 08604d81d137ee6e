#include "connector/store/fields_json.hpp"

#include <algorithm>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace connector::store {
namespace {

using json = nlohmann::json;

// One top-level member of an object, as raw text: `key` with its quotes, `value` as written.
struct member {
  std::string_view key;
  std::string_view value;
};

// Splits a JSON object into its top-level members without building a DOM: the writer thread
// merges every newer state, and nlohmann's DOM costs several times the SQLite work. Checks
// the grammar exactly (RFC 8259), not the encoding (see valid_utf8); returns false for
// anything else, nesting deeper than 64 included.
class member_scanner {
 public:
  explicit member_scanner(std::string_view text) : text_(text) {}

  // `members` may be null: then it only checks.
  bool scan(std::vector<member>* members) {
    skip_space();
    if (!consume('{')) return false;
    skip_space();
    if (!consume('}')) {
      for (;;) {
        skip_space();
        const std::size_t key_start = pos_;
        if (!string()) return false;
        const std::string_view key = text_.substr(key_start, pos_ - key_start);
        skip_space();
        if (!consume(':')) return false;
        skip_space();
        const std::size_t value_start = pos_;
        if (!value(1)) return false;
        if (members != nullptr) {
          members->push_back({key, text_.substr(value_start, pos_ - value_start)});
        }
        skip_space();
        if (consume('}')) break;
        if (!consume(',')) return false;
      }
    }
    skip_space();
    return pos_ == text_.size();
  }

 private:
  static constexpr int max_depth = 64;

  bool at_end() const { return pos_ >= text_.size(); }
  char peek() const { return text_[pos_]; }
  bool consume(char c) {
    if (at_end() || peek() != c) return false;
    ++pos_;
    return true;
  }
  void skip_space() {
    while (!at_end() && (peek() == ' ' || peek() == '\t' || peek() == '\n' || peek() == '\r')) {
      ++pos_;
    }
  }
  bool digits() {
    const std::size_t start = pos_;
    while (!at_end() && peek() >= '0' && peek() <= '9') ++pos_;
    return pos_ > start;
  }
  bool hex4(int& value) {
    value = 0;
    for (int i = 0; i < 4; ++i) {
      if (at_end()) return false;
      const char c = text_[pos_++];
      int digit = 0;
      if (c >= '0' && c <= '9') {
        digit = c - '0';
      } else if (c >= 'a' && c <= 'f') {
        digit = c - 'a' + 10;
      } else if (c >= 'A' && c <= 'F') {
        digit = c - 'A' + 10;
      } else {
        return false;
      }
      value = value * 16 + digit;
    }
    return true;
  }

  bool string() {
    if (!consume('"')) return false;
    while (!at_end()) {
      const char c = text_[pos_++];
      if (c == '"') return true;
      if (static_cast<unsigned char>(c) < 0x20) return false;
      if (c != '\\') continue;
      if (at_end()) return false;
      const char escaped = text_[pos_++];
      if (escaped == 'u') {
        // A UTF-16 surrogate must come as a pair, high then low, as parsers insist.
        int unit = 0;
        if (!hex4(unit) || (unit >= 0xDC00 && unit <= 0xDFFF)) return false;
        if (unit >= 0xD800 && unit <= 0xDBFF) {
          int low = 0;
          if (!consume('\\') || !consume('u') || !hex4(low) || low < 0xDC00 || low > 0xDFFF) {
            return false;
          }
        }
      } else if (std::string_view("\"\\/bfnrt").find(escaped) == std::string_view::npos) {
        return false;
      }
    }
    return false;
  }

  bool number() {
    consume('-');
    if (consume('0')) {
      // no leading zeros
    } else if (!digits()) {
      return false;
    }
    if (consume('.') && !digits()) return false;
    if (!at_end() && (peek() == 'e' || peek() == 'E')) {
      ++pos_;
      if (!consume('+')) consume('-');
      if (!digits()) return false;
    }
    return true;
  }

  bool literal(std::string_view word) {
    if (text_.substr(pos_, word.size()) != word) return false;
    pos_ += word.size();
    return true;
  }

  bool value(int depth) {
    if (at_end() || depth > max_depth) return false;
    switch (peek()) {
      case '"':
        return string();
      case '{':
        return container('{', '}', depth, true);
      case '[':
        return container('[', ']', depth, false);
      case 't':
        return literal("true");
      case 'f':
        return literal("false");
      case 'n':
        return literal("null");
      default:
        return number();
    }
  }

  bool container(char open, char close, int depth, bool keyed) {
    consume(open);
    skip_space();
    if (consume(close)) return true;
    for (;;) {
      skip_space();
      if (keyed) {
        if (!string()) return false;
        skip_space();
        if (!consume(':')) return false;
        skip_space();
      }
      if (!value(depth + 1)) return false;
      skip_space();
      if (consume(close)) return true;
      if (!consume(',')) return false;
    }
  }

  std::string_view text_;
  std::size_t pos_ = 0;
};

// RFC 3629: no overlong forms, no surrogates, nothing above U+10FFFF.
bool valid_utf8(std::string_view text) {
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const auto* const end = p + text.size();
  const auto continuation = [&](unsigned char low = 0x80, unsigned char high = 0xBF) {
    if (p == end || *p < low || *p > high) return false;
    ++p;
    return true;
  };
  while (p != end) {
    const unsigned char lead = *p++;
    if (lead < 0x80) continue;
    if (lead < 0xC2 || lead > 0xF4) return false;
    bool ok = true;
    if (lead < 0xE0) {
      ok = continuation();
    } else if (lead < 0xF0) {
      ok = continuation(lead == 0xE0 ? 0xA0 : 0x80, lead == 0xED ? 0x9F : 0xBF) && continuation();
    } else {
      ok = continuation(lead == 0xF0 ? 0x90 : 0x80, lead == 0xF4 ? 0x8F : 0xBF) && continuation() &&
           continuation();
    }
    if (!ok) return false;
  }
  return true;
}

// A JSON object, or a discarded value for anything else (no exceptions on bad input).
json parse_object(std::string_view text) {
  json value = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!value.is_object()) return json::value_t::discarded;
  return value;
}

// The same merge through nlohmann, for what the scanner declines (deep nesting, corrupt
// stored text): a malformed `stored` counts as empty, a malformed `incoming` changes nothing.
std::string merge_with_dom(std::string_view stored, std::string_view incoming) {
  json next = parse_object(incoming);
  json base = parse_object(stored);
  if (next.is_discarded()) return base.is_discarded() ? "{}" : std::string(stored);
  if (base.is_discarded()) return std::string(incoming);
  for (auto& item : next.items()) base[item.key()] = std::move(item.value());
  // Parsed text is valid UTF-8, so `replace` never triggers; it only rules out a throw.
  return base.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace

bool is_json_object(std::string_view text) {
  // The scanner rather than json::accept: it runs on every notification and is ~5x faster.
  return member_scanner(text).scan(nullptr) && valid_utf8(text);
}

std::string merge_fields_json(std::string_view stored, std::string_view incoming) {
  std::vector<member> base;
  std::vector<member> next;
  if (!member_scanner(stored).scan(&base) || !member_scanner(incoming).scan(&next)) {
    return merge_with_dom(stored, incoming);
  }
  if (base.empty()) return std::string(incoming);

  // Incoming keys sorted for lookup; for a repeated key the last one counts, as in parsers.
  // Keys compare as written: an escaped spelling of the same key is not recognised, so both
  // spellings are kept, incoming last, and a parser still ends with the incoming value.
  std::vector<std::pair<std::string_view, std::size_t>> index;
  index.reserve(next.size());
  for (std::size_t i = 0; i < next.size(); ++i) index.emplace_back(next[i].key, i);
  std::stable_sort(index.begin(), index.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  const auto find = [&](std::string_view key) -> const member* {
    auto it =
        std::upper_bound(index.begin(), index.end(), key,
                         [](std::string_view k, const auto& entry) { return k < entry.first; });
    if (it == index.begin() || (it - 1)->first != key) return nullptr;
    return &next[(it - 1)->second];
  };

  // Outbound messages resend every configured field, so the incoming object usually holds
  // every stored key: then it is the result as sent.
  const bool covers_stored = std::all_of(base.begin(), base.end(),
                                         [&](const member& m) { return find(m.key) != nullptr; });
  if (covers_stored) return std::string(incoming);

  // Stored members in their order, each with the incoming value when there is one, then
  // the incoming members that are new (once each, with their last value).
  std::string merged;
  merged.reserve(stored.size() + incoming.size());
  merged += '{';
  const auto append = [&](std::string_view key, std::string_view value) {
    if (merged.size() > 1) merged += ',';
    merged.append(key);
    merged += ':';
    merged.append(value);
  };
  std::vector<std::string_view> base_keys;
  base_keys.reserve(base.size());
  for (const member& m : base) {
    const member* replacement = find(m.key);
    append(m.key, replacement != nullptr ? replacement->value : m.value);
    base_keys.push_back(m.key);
  }
  std::sort(base_keys.begin(), base_keys.end());
  for (const member& m : next) {
    if (std::binary_search(base_keys.begin(), base_keys.end(), m.key)) continue;
    const member* last = find(m.key);
    if (last != &m) continue;  // an earlier duplicate: the last one is appended instead
    append(m.key, m.value);
  }
  merged += '}';
  return merged;
}

}  // namespace connector::store
