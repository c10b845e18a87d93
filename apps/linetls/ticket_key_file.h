// Session ticket key files (--ticket-key-file): nginx's and HAProxy's formats, so the file
// an operator already rotates for them can be named here.
//
// nginx, ssl_session_ticket_key (ngx_http_ssl_module):
//   "The file must contain 80 or 48 bytes of random data and can be created using the
//    following command: openssl rand 80 > ticket.key. Depending on the file size either
//    AES256 (for 80-byte keys, 1.11.8) or AES128 (for 48-byte keys) is used for
//    encryption." nginx reads 16 bytes of key name, then its secrets. One key per file
//   (nginx takes several files: "only the first key is used to encrypt").
//
// HAProxy, bind option tls-ticket-keys (doc/configuration.txt, 5.1):
//   "Sets the TLS ticket keys file to load the keys from. The keys need to be 48 bytes
//    long, encoded with base64 (ex. openssl rand -base64 48). Number of keys is specified
//    by the TLS_TICKETS_NO build option (default 3) and at least as many keys need to be
//    present in the file. Last TLS_TICKETS_NO keys will be used for decryption and the
//    penultimate one for encryption. This enables easy key rotation by just appending new
//    key to the file and reloading the process."
//   Later versions also take 80-byte keys (AES-256), one base64 line per key, and refuse
//   a file that mixes 48- and 80-byte keys.
//
// What linetls does with them: a file of exactly 48 or 80 bytes is nginx's (one key);
// anything else is read as HAProxy's (base64 lines; blank lines and a final newline are
// allowed; every key decodes to 48 or 80 bytes, all the same size). Every key opens
// tickets; the sealing key is nginx's one key, or HAProxy's penultimate (the only one when
// the file has one; we do not insist on three). Each key (its name and secrets together)
// becomes a key of our own ticket format through tls::derive_explicit_ticket_key: linetls
// processes that read the same file open each other's tickets, but the ticket bytes are
// not nginx's or HAProxy's (theirs are OpenSSL's RFC 5077 layout, ours is
// lib/tls/ticket13.h's), so a ticket does not move between linetls and nginx/HAProxy.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "lib/base/result.h"
#include "lib/base/secret.h"
#include "lib/engine/tls_service.h"

namespace linetls::app {

struct TicketKeyFile {
  enum class Format : uint8_t { kNginx, kHaproxy };
  Format format = Format::kNginx;
  std::vector<Secret<80>> keys;  // as the file gives them, in file order
  size_t seal_index = 0;         // which one seals
};

// Parses the contents of a key file. A one-line reason on failure (no file name).
Result<TicketKeyFile, std::string> parse_ticket_key_file(std::span<const uint8_t> bytes);

// Reads the key file at path and derives the keys TicketKeys::install takes. Errors start
// with "PATH: ".
Result<engine::TicketKeySet, std::string> load_ticket_keys(const std::string& path);

}  // namespace linetls::app
