#pragma once
// Desired users packed into one byte string while they wait for the iSpring index
// (reconciler.cpp): mapped as their Salesforce page arrives, planned once iSpring is read.
// A packed user is its text and a few bytes of lengths; a desired_user holds about 1 KB of
// nodes, and packing the JSON records instead (msgpack) cost more CPU than the mapping.
#include <string>
#include <string_view>

#include "connector/sync/plan.hpp"

namespace connector::sync {

// Appends `user` to `out`.
void pack_desired_user(const desired_user& user, std::string& out);

// The user that begins `in`, which then begins after it. Throws std::runtime_error when `in`
// is not what pack_desired_user wrote.
desired_user unpack_desired_user(std::string_view& in);

}  // namespace connector::sync
