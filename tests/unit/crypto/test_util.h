// Helpers for the lib/crypto tests: hex, vector files, and the test certificate directory.
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace linetls::crypto::testing {

// Returns the bytes of an even-length hex string (whitespace ignored); aborts on bad input.
std::vector<uint8_t> hex(std::string_view text);
// Returns lower-case hex of bytes.
std::string to_hex(std::span<const uint8_t> bytes);
// Returns the bytes of a string literal (no terminator).
std::span<const uint8_t> bytes_of(std::string_view s);

// Returns $LT_VECTORS + "/" + rel; aborts if LT_VECTORS is unset.
std::string vector_path(std::string_view rel);
// Returns the contents of the file at path; aborts if unreadable.
std::string read_text(const std::string& path);

// One "key = value" record of a vector file. Records are separated by blank lines; lines
// starting with '#' are comments.
using Record = std::map<std::string, std::string>;
std::vector<Record> read_records(std::string_view rel);

}  // namespace linetls::crypto::testing
