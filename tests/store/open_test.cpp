// open_store and open_store_reader choose the engine, and say clearly when they cannot.
#include "connector/store/open.hpp"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

#include "support/service.hpp"

namespace connector::store {
namespace {

// What open_store(settings) throws, or "" when it opens.
template <class Open>
std::string error_of(Open open, const store_settings& settings) {
  try {
    open(settings);
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  return "";
}

const auto open_writer = [](const store_settings& s) { return open_store(s); };
const auto open_reader = [](const store_settings& s) { return open_store_reader(s); };

TEST(open_store, a_postgresql_that_cannot_be_reached_is_refused_without_the_password) {
  store_settings settings;
  settings.postgresql_url = "postgresql://connector:s3cret-pw@127.0.0.1:1/connector";
  for (const auto& error : {error_of(open_writer, settings), error_of(open_reader, settings)}) {
    EXPECT_NE(error.find("store: cannot open the PostgreSQL store"), std::string::npos) << error;
    EXPECT_NE(error.find("127.0.0.1"), std::string::npos) << "names where it looked: " << error;
    EXPECT_EQ(error.find("s3cret-pw"), std::string::npos) << error;
  }
}

TEST(open_store, one_engine_exactly) {
  testing::temp_dir dir;
  store_settings both;
  both.sqlite_path = (dir.path() / "c.db").string();
  both.postgresql_url = "postgresql://connector:s3cret-pw@db.example/connector";
  for (const auto& error : {error_of(open_writer, both), error_of(open_reader, both)}) {
    EXPECT_NE(error.find("either store.sqlite_path or store.postgresql_url"), std::string::npos)
        << error;
    EXPECT_EQ(error.find("s3cret-pw"), std::string::npos);
  }
  EXPECT_FALSE(std::filesystem::exists(both.sqlite_path)) << "nothing is created on a refusal";
  const store_settings none;
  EXPECT_NE(error_of(open_writer, none).find("no engine"), std::string::npos);
  EXPECT_NE(error_of(open_reader, none).find("no engine"), std::string::npos);
}

TEST(open_store, sqlite_path_opens_the_sqlite_engine_and_a_reader_beside_it) {
  testing::temp_dir dir;
  store_settings settings;
  settings.sqlite_path = (dir.path() / "sub" / "c.db").string();  // its folder is made
  EXPECT_NE(error_of(open_reader, settings).find("no database at"), std::string::npos)
      << "a reader never creates the store";
  auto store = open_store(settings);
  intake_request request;
  request.organization_id = "00D5g000004XyZaEAK";
  request.source = "outbound_message";
  request.received_at = 1000;
  request.changes.push_back({"n1", "0055g00000AbCdEAAZ", "User", 900, R"({"LastName":"A"})"});
  ASSERT_TRUE(store->submit_and_wait(request).committed);
  const auto reader = open_store_reader(settings);
  EXPECT_EQ(reader->stats().notifications_received, 1);
  EXPECT_TRUE(reader->has_notification(request.organization_id, "n1"));
}

}  // namespace
}  // namespace connector::store
