#pragma once
// Which of two states of a record is newer. Salesforce redelivers out of order, so the
// newest SystemModstamp wins, else LastModifiedDate, else arrival order (reference §A.4).
#include <cstdint>
#include <optional>
#include <string_view>

#include "connector/salesforce/outbound_message.hpp"

namespace connector::salesforce {

// Milliseconds since the epoch of an xsd:dateTime as Salesforce writes it
// ("2017-05-02T11:53:53.000Z"; also accepts no fraction and +hh:mm offsets).
std::optional<std::int64_t> parse_datetime_ms(std::string_view text);

// The notification's modification stamp: SystemModstamp, else LastModifiedDate, else none.
std::optional<std::int64_t> modstamp_ms(const notification& n);

}  // namespace connector::salesforce
