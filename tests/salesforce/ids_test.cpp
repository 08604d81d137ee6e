// Salesforce record ids (salesforce.md §A.2): 15 case-sensitive characters, or 18 with a
// checksum suffix that makes them safe in case-insensitive systems.
#include "connector/salesforce/ids.hpp"

#include <gtest/gtest.h>

namespace connector::salesforce {
namespace {

TEST(SalesforceIds, AcceptFifteenAlphanumericCharacters) {
  EXPECT_TRUE(is_valid_id("00D5g000004XyZa"));
  EXPECT_TRUE(is_valid_id("006Q0000009N3gf"));  // sample 07
}

TEST(SalesforceIds, AcceptEighteenCharactersWhoseSuffixMatches) {
  EXPECT_TRUE(is_valid_id("00D5g000004XyZaEAK"));
  EXPECT_TRUE(is_valid_id("0031I0000081tbPQAQ"));  // sample 02, real
  EXPECT_TRUE(is_valid_id("00Dd0000000dtDqEAI"));  // sample 01: this one is intact
}

TEST(SalesforceIds, RejectEighteenCharactersWhoseSuffixWasEdited) {
  EXPECT_FALSE(is_valid_id("001d000001XD5XKAA2"));  // sample 01 record id (real suffix: AA1)
  EXPECT_FALSE(is_valid_id("04le0000004lnFFAAZ"));  // sample 06, hand-added notification
  EXPECT_FALSE(is_valid_id("0123456789ABCDENNN"));  // sample 03 placeholder
}

TEST(SalesforceIds, CompareTheSuffixExactlyAsSalesforceWritesIt) {
  EXPECT_FALSE(is_valid_id("00D5g000004XyZaeak"));  // the suffix is always upper case
}

TEST(SalesforceIds, RejectOtherLengthsAndCharacters) {
  for (const char* id : {"", "00D5g000004XyZ", "00D5g000004XyZaE", "00D5g000004XyZaEA",
                         "00D5g000004XyZaEAKX", "someOrganizationId", "12364", "00D5g000004XyZ-",
                         "00D5g000004XyZ ", "00D5g00000\u00E44XyZ"}) {
    EXPECT_FALSE(is_valid_id(id)) << id;
  }
}

TEST(SalesforceIds, ComputeTheChecksumFromUpperCaseLettersPerFiveCharacterChunk) {
  EXPECT_EQ(to_18_char_id("00D5g000004XyZa"), "00D5g000004XyZaEAK");
  EXPECT_EQ(to_18_char_id("aaaaa00000bbbbb"), "aaaaa00000bbbbbAAA");  // no upper case: 0 → A
  EXPECT_EQ(to_18_char_id("ABCDEFGHIJKLMNO"), "ABCDEFGHIJKLMNO555");  // all upper: 31 → 5
  EXPECT_EQ(to_18_char_id("Aaaaa0000aa000B"), "Aaaaa0000aa000BBAQ");  // bit 0 → B, bit 4 → Q
}

TEST(SalesforceIds, KeepAValidEighteenCharacterId) {
  EXPECT_EQ(to_18_char_id("0031I0000081tbPQAQ"), "0031I0000081tbPQAQ");
}

TEST(SalesforceIds, RecomputeAnEditedSuffixFromTheFirstFifteenCharacters) {
  // Edited samples exist; the first 15 characters name the record, the suffix is derived.
  EXPECT_EQ(to_18_char_id("001d000001XD5XKAA2"), "001d000001XD5XKAA1");
  EXPECT_EQ(to_18_char_id("0123456789ABCDENNN"), "0123456789ABCDEAA5");
}

TEST(SalesforceIds, HaveNoEighteenCharacterFormWhenNotAnId) {
  EXPECT_EQ(to_18_char_id(""), std::nullopt);
  EXPECT_EQ(to_18_char_id("aContactId"), std::nullopt);
  EXPECT_EQ(to_18_char_id("00D5g000004XyZ!"), std::nullopt);
  EXPECT_EQ(to_18_char_id("00D5g000004XyZaEA"), std::nullopt);
}

TEST(SalesforceIds, NameTheSameRecordInFifteenAndEighteenCharacterForm) {
  EXPECT_TRUE(same_id("00D5g000004XyZa", "00D5g000004XyZaEAK"));
  EXPECT_TRUE(same_id("00D5g000004XyZaEAK", "00D5g000004XyZa"));
  EXPECT_TRUE(same_id("00D5g000004XyZaEAK", "00D5g000004XyZaEAK"));
  EXPECT_TRUE(same_id("00D5g000004XyZa", "00D5g000004XyZa"));
}

TEST(SalesforceIds, DifferWhenTheFirstFifteenCharactersDifferOnlyInCase) {
  EXPECT_FALSE(same_id("00D5g000004XyZa", "00D5g000004XYZa"));
  EXPECT_FALSE(same_id("00D5g000004XyZaEAK", *to_18_char_id("00D5g000004xyza")));
}

TEST(SalesforceIds, CompareAnythingElseExactly) {
  EXPECT_TRUE(same_id("someOrganizationId", "someOrganizationId"));
  EXPECT_FALSE(same_id("someOrganizationId", "someorganizationid"));
  EXPECT_TRUE(same_id("", ""));
  // An edited suffix is not trusted to name the same record as the 15-character form.
  EXPECT_FALSE(same_id("001d000001XD5XKAA2", "001d000001XD5XK"));
  EXPECT_TRUE(same_id("001d000001XD5XKAA2", "001d000001XD5XKAA2"));
}

}  // namespace
}  // namespace connector::salesforce
