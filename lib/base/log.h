// Logging to stderr: one line per call, with level and monotonic timestamp.
//
// Not for the per-packet path: log rare events (start-up, errors, per-connection faults
// at debug level). The level is process-wide and set once at start-up.
#pragma once

#include <cstdarg>

namespace linetls {

enum class LogLevel : int { kError = 0, kWarn = 1, kInfo = 2, kDebug = 3 };

void set_log_level(LogLevel level) noexcept;
LogLevel log_level() noexcept;
bool log_enabled(LogLevel level) noexcept;

void log_msg(LogLevel level, const char* fmt, ...) noexcept __attribute__((format(printf, 2, 3)));

#define LT_LOG(level, ...)                  \
  do {                                      \
    if (::linetls::log_enabled(level)) {    \
      ::linetls::log_msg(level, __VA_ARGS__); \
    }                                       \
  } while (0)
#define LT_ERROR(...) LT_LOG(::linetls::LogLevel::kError, __VA_ARGS__)
#define LT_WARN(...) LT_LOG(::linetls::LogLevel::kWarn, __VA_ARGS__)
#define LT_INFO(...) LT_LOG(::linetls::LogLevel::kInfo, __VA_ARGS__)
#define LT_DEBUG(...) LT_LOG(::linetls::LogLevel::kDebug, __VA_ARGS__)

}  // namespace linetls
