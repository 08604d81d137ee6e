// Merging a newer state's fields over the stored ones, as raw text.
#include "connector/store/fields_json.hpp"

#include <gtest/gtest.h>

#include <random>
#include <string>

#include <nlohmann/json.hpp>

namespace connector::store {
namespace {

using json = nlohmann::json;

json parsed(const std::string& text) {
  return json::parse(text);
}

TEST(is_json_object, accepts_objects_only) {
  EXPECT_TRUE(is_json_object("{}"));
  EXPECT_TRUE(is_json_object(R"( {"a":[1,{"b":null}]} )"));
  EXPECT_FALSE(is_json_object(""));
  EXPECT_FALSE(is_json_object("[]"));
  EXPECT_FALSE(is_json_object("null"));
  EXPECT_FALSE(is_json_object(R"({"a":)"));
  EXPECT_FALSE(is_json_object(R"({"a":1} x)"));
  EXPECT_FALSE(is_json_object("{\"a\":\"\xff\"}"));  // not UTF-8
}

TEST(is_json_object, refuses_what_parsers_refuse) {
  EXPECT_FALSE(is_json_object(R"({"a":"\ud800"})"));         // lone high surrogate
  EXPECT_FALSE(is_json_object(R"({"a":"\udc00"})"));         // lone low surrogate
  EXPECT_TRUE(is_json_object(R"({"a":"\ud83d\ude00"})"));    // a pair
  EXPECT_FALSE(is_json_object("{\"a\":\"\xc0\xaf\"}"));      // overlong
  EXPECT_FALSE(is_json_object("{\"a\":\"\xed\xa0\x80\"}"));  // encoded surrogate
  EXPECT_TRUE(is_json_object("{\"a\":\"\xf0\x9f\x98\x80\"}"));
  EXPECT_FALSE(is_json_object("{\"a\":\"x\ny\"}"));  // raw control character
  EXPECT_FALSE(is_json_object(R"({"a":01})"));
  EXPECT_FALSE(is_json_object(R"({"a":1.})"));
  EXPECT_FALSE(is_json_object(R"({"a":.5})"));
  EXPECT_FALSE(is_json_object(R"({"a":+1})"));
  EXPECT_FALSE(is_json_object(R"({"a":tru})"));
  EXPECT_FALSE(is_json_object(R"({a:1})"));
  EXPECT_FALSE(is_json_object(R"({"a":1,})"));
  EXPECT_TRUE(is_json_object(R"({"a":-0.5e+10,"b":[true,false,null,{}],"c":"\/\b"})"));
  EXPECT_FALSE(is_json_object(std::string(R"({"a":)") + std::string(100, '[') +
                              std::string(100, ']') + "}"));  // nested too deep
}

// The scanner stands in for json::accept, so it must agree with it, on mutated input too.
TEST(is_json_object, agrees_with_nlohmann_on_mutated_objects) {
  std::mt19937 random(7);
  const std::string seeds[] = {
      R"({"Email":"a@x.io","Title":null,"n":-12.5e3,"ok":true,"l":[1,{"x":"\u00e9"}]})",
      "{\"Name\":\"J\xc3\xa9r\xc3\xb4me \xf0\x9f\x98\x80\",\"e\":\"\\ud83d\\ude00\\n\"}",
      R"( { "a" : [ ] , "b" : { } , "c" : 0 } )",
  };
  const char alphabet[] = "{}[]\":,.-+0123456789eEtrufalsn \\u\x80\xbf\xc3\xed\xf0\x01";
  for (int round = 0; round < 30000; ++round) {
    std::string text = seeds[random() % 3];
    for (int edits = 1 + static_cast<int>(random() % 3); edits > 0 && !text.empty(); --edits) {
      const std::size_t at = random() % text.size();
      const char c = alphabet[random() % (sizeof alphabet - 1)];
      switch (random() % 4) {
        case 0:
          text[at] = c;
          break;
        case 1:
          text.insert(at, 1, c);
          break;
        case 2:
          text.erase(at, 1);
          break;
        default:
          text.resize(at);
          break;
      }
    }
    const json value = json::parse(text, nullptr, false);
    const bool expected = !value.is_discarded() && value.is_object();
    ASSERT_EQ(is_json_object(text), expected) << text;
  }
}

TEST(merge_fields_json, incoming_keys_overwrite_and_stored_keys_stay) {
  EXPECT_EQ(parsed(merge_fields_json(R"({"Email":"a@x.io","Title":"Dev"})", R"({"Title":"Lead"})")),
            parsed(R"({"Email":"a@x.io","Title":"Lead"})"));
  EXPECT_EQ(parsed(merge_fields_json(R"({"Email":"a@x.io"})", R"({"Title":"Lead"})")),
            parsed(R"({"Email":"a@x.io","Title":"Lead"})"));
}

TEST(merge_fields_json, null_is_a_value_not_a_deletion) {
  const json merged =
      parsed(merge_fields_json(R"({"Email":"a@x.io","Title":"Dev"})", R"({"Title":null})"));
  ASSERT_TRUE(merged.contains("Title"));
  EXPECT_TRUE(merged["Title"].is_null());
  EXPECT_EQ(merged["Email"], "a@x.io");
}

TEST(merge_fields_json, an_incoming_state_with_every_stored_key_is_kept_as_sent) {
  const std::string incoming = R"({ "Title" : "Lead", "Email":"b@x.io", "New": 1 })";
  EXPECT_EQ(merge_fields_json(R"({"Email":"a@x.io","Title":"Dev"})", incoming), incoming);
  EXPECT_EQ(merge_fields_json("{}", incoming), incoming);
}

TEST(merge_fields_json, values_are_copied_as_written) {
  EXPECT_EQ(merge_fields_json(R"({"a":1.50,"b":"\u00e9"})", R"({"c":[1, 2]})"),
            R"({"a":1.50,"b":"\u00e9","c":[1, 2]})");
}

TEST(merge_fields_json, nested_values_replace_whole) {
  EXPECT_EQ(parsed(merge_fields_json(R"({"Address":{"city":"Paris","zip":"75001"},"x":1})",
                                     R"({"Address":{"city":"Lyon"}})")),
            parsed(R"({"Address":{"city":"Lyon"},"x":1})"));
}

TEST(merge_fields_json, a_repeated_incoming_key_counts_once_with_its_last_value) {
  EXPECT_EQ(parsed(merge_fields_json(R"({"x":0})", R"({"a":1,"a":2})")),
            parsed(R"({"x":0,"a":2})"));
  EXPECT_EQ(merge_fields_json(R"({"a":0,"x":0})", R"({"a":1,"a":2})"), R"({"a":2,"x":0})");
}

TEST(merge_fields_json, malformed_input_is_handled) {
  EXPECT_EQ(merge_fields_json(R"({"a":1})", "not json"), R"({"a":1})");
  EXPECT_EQ(merge_fields_json("garbage{", R"({"a":1})"), R"({"a":1})");
  EXPECT_EQ(merge_fields_json("garbage{", "[1]"), "{}");
  EXPECT_EQ(merge_fields_json("", ""), "{}");
  EXPECT_EQ(merge_fields_json(R"({"a":1,})", R"({"b":2})"), R"({"b":2})");
  EXPECT_EQ(merge_fields_json(R"({"a":01})", R"({"b":2})"), R"({"b":2})");
}

TEST(merge_fields_json, deep_nesting_falls_back_to_the_parser) {
  std::string deep = std::string(100, '[') + std::string(100, ']');
  const std::string incoming = R"({"d":)" + deep + "}";
  EXPECT_EQ(parsed(merge_fields_json(R"({"x":1})", incoming)),
            parsed(R"({"x":1,"d":)" + deep + "}"));
}

// The raw-text merge must agree with a DOM merge on whatever objects come its way.
TEST(merge_fields_json, agrees_with_a_dom_merge_on_random_objects) {
  std::mt19937 random(20240601);
  const char* keys[] = {"Email", "Title", "Department", "IsActive", "a\\\"q", "e\\u00e9", "N"};
  const auto random_value = [&](int depth, auto& self) -> json {
    switch (random() % (depth > 2 ? 5 : 7)) {
      case 0:
        return nullptr;
      case 1:
        return static_cast<bool>(random() % 2);
      case 2:
        return static_cast<int>(random() % 2000) - 1000;
      case 3:
        return static_cast<double>(random() % 1000) / 7.0;
      case 4:
        return std::string("v\"\\\n") + std::to_string(random() % 100);
      case 5: {
        json array = json::array();
        for (int i = static_cast<int>(random() % 3); i > 0; --i)
          array.push_back(self(depth + 1, self));
        return array;
      }
      default: {
        json object = json::object();
        for (int i = static_cast<int>(random() % 3); i > 0; --i) {
          object[keys[random() % 7]] = self(depth + 1, self);
        }
        return object;
      }
    }
  };
  const auto random_object = [&] {
    json object = json::object();
    for (int i = static_cast<int>(random() % 6); i > 0; --i) {
      object[json::parse("\"" + std::string(keys[random() % 7]) + "\"").get<std::string>()] =
          random_value(1, random_value);
    }
    return object;
  };
  for (int round = 0; round < 2000; ++round) {
    const json stored = random_object();
    const json incoming = random_object();
    json expected = stored;
    for (const auto& item : incoming.items()) expected[item.key()] = item.value();
    const std::string merged = merge_fields_json(stored.dump(round % 2 ? 1 : -1), incoming.dump());
    ASSERT_EQ(parsed(merged), expected) << stored.dump() << " + " << incoming.dump();
  }
}

}  // namespace
}  // namespace connector::store
