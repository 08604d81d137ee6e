#pragma once
// The newest known fields of a Salesforce record, kept as one JSON object per record.
// Change events carry only the fields that changed, so a newer state is merged over the
// stored one instead of replacing it.
#include <string>
#include <string_view>

namespace connector::store {

// True when `text` is one well-formed JSON object (RFC 8259, UTF-8, nested at most 64
// deep). Anything else from the caller (which parsed untrusted input) is stored as "{}"
// rather than trusted.
bool is_json_object(std::string_view text);

// `incoming`'s keys over `stored`'s: keys in `incoming` overwrite (a null value stays, as
// null: the field was cleared in Salesforce), other stored keys are kept. Values are copied
// as written, not re-serialised. A malformed `stored` counts as empty, a malformed
// `incoming` changes nothing. Never throws but std::bad_alloc.
std::string merge_fields_json(std::string_view stored, std::string_view incoming);

}  // namespace connector::store
