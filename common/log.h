/* Logging: one line per event on stderr, with a level and a context prefix.
 * The macros test the level before evaluating arguments, so a disabled level costs one compare.
 * Never pass secrets (passwords, tokens, private keys) to these functions. */
#pragma once
#include <stdarg.h>

enum log_level { LOG_LVL_ERROR = 0, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG };

extern int log_level_current;

/* Sets the level from a name ("error", "warn", "info", "debug"); returns 0, or -EINVAL for an unknown name. */
int log_set_level_name(const char *name) __attribute__((warn_unused_result));
void log_write(enum log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_error(...) do { if (log_level_current >= LOG_LVL_ERROR) log_write(LOG_LVL_ERROR, __VA_ARGS__); } while (0)
#define log_warn(...)  do { if (log_level_current >= LOG_LVL_WARN)  log_write(LOG_LVL_WARN,  __VA_ARGS__); } while (0)
#define log_info(...)  do { if (log_level_current >= LOG_LVL_INFO)  log_write(LOG_LVL_INFO,  __VA_ARGS__); } while (0)
#define log_debug(...) do { if (log_level_current >= LOG_LVL_DEBUG) log_write(LOG_LVL_DEBUG, __VA_ARGS__); } while (0)
