#include "lib/base/log.h"

#include <atomic>
#include <cstdio>

#include "lib/base/clock.h"

namespace linetls {

namespace {
std::atomic<int> g_level{static_cast<int>(LogLevel::kInfo)};
constexpr const char* kLevelNames[] = {"ERROR", "WARN", "INFO", "DEBUG"};
}  // namespace

void set_log_level(LogLevel level) noexcept {
  g_level.store(static_cast<int>(level), std::memory_order_relaxed);
}
LogLevel log_level() noexcept {
  return static_cast<LogLevel>(g_level.load(std::memory_order_relaxed));
}
bool log_enabled(LogLevel level) noexcept {
  return static_cast<int>(level) <= g_level.load(std::memory_order_relaxed);
}

void log_msg(LogLevel level, const char* fmt, ...) noexcept {
  char line[1024];
  const uint64_t ns = monotonic_ns();
  int n = std::snprintf(line, sizeof(line), "[%llu.%06llu] %s ",
                        static_cast<unsigned long long>(ns / 1000000000u),
                        static_cast<unsigned long long>((ns / 1000u) % 1000000u),
                        kLevelNames[static_cast<int>(level)]);
  if (n < 0) {
    return;
  }
  va_list ap;
  va_start(ap, fmt);
  std::vsnprintf(line + n, sizeof(line) - static_cast<size_t>(n), fmt, ap);
  va_end(ap);
  std::fprintf(stderr, "%s\n", line);  // One fprintf: lines from threads do not interleave.
}

}  // namespace linetls
