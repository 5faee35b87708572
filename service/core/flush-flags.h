/* Checks of the flags given to FlushQueues and ValidateState (docs/bus-api.md,
 * org.mailspool.Spool1.Status). Pure logic, no bus. */
#pragma once

#include "mapi-error.h"
#include "util.h"

/* 0 if flags are acceptable for FlushQueues on the spooler (on_spooler) or on
 * a transport; else -EINVAL with *ret_code (MAPI_E_UNKNOWN_FLAGS for unknown
 * bits, MAPI_E_INVALID_PARAMETER for no direction or FLUSH_ASYNC_OK on a
 * transport) and a static sentence in *ret_error. */
int flush_flags_check(uint32_t flags, bool on_spooler, enum mapi_error *ret_code,
                      const char **ret_error);

/* 0 if ValidateState flags are known bits; else -EINVAL, MAPI_E_UNKNOWN_FLAGS.
 * CONFIG_CHANGED is for the spooler alone (MAPI_E_INVALID_PARAMETER on a
 * transport). */
int validate_flags_check(uint32_t flags, bool on_spooler, enum mapi_error *ret_code,
                         const char **ret_error);

/* "UPLOAD|NO_UI" style text for logs; buf of at least 64 bytes. */
const char *flush_flags_to_string(uint32_t flags, char *buf, size_t size);
