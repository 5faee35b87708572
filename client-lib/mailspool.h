/* libmailspool: the mail spooler mailspoold seen from a C program.
 *
 * A small, blocking API over sd-bus for programs that submit mail, show the
 * spooler's status table, flush ("send and receive now"), and list or abort
 * their messages. Every call talks to MAILSPOOL_BUS_NAME on the bus chosen at
 * mailspool_open() and waits for its answer.
 *
 * Errors: functions return 0 (or a count) on success and a negative errno
 * on failure. Errors named by the daemon (MAILSPOOL_ERROR_*) map to: Busy
 * -EBUSY, NoSupport -EOPNOTSUPP, NotFound -ENOENT, LogonFailed -EKEYREJECTED,
 * NetworkError -EHOSTUNREACH, Cancelled -ECANCELED, NotQueued -EALREADY,
 * Timeout -ETIMEDOUT, QuotaExceeded -EDQUOT, DiskFull -ENOSPC, IOError -EIO,
 * AccessDenied -EACCES, InvalidArgs -EINVAL. mailspool_error_name() and
 * mailspool_error_message() give the D-Bus error of the last failed call,
 * whose message starts with the MAPI code (MAILSPOOL_MAPI_E_*), e.g.
 * "MAPI_E_BUSY (0x8004010B):".
 *
 * Strings and arrays returned to the caller are the caller's; each has its
 * free function below. A handle is not thread-safe; use one per thread. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* The bus contract's names and numbers (MAILSPOOL_FLUSH_*, MAILSPOOL_STATUS_*,
 * MAILSPOOL_VALIDATE_*, MAILSPOOL_RESOURCE_*, ...) come from the contract's
 * one header, installed beside this one, so that no copy can drift. */
#include "mailspool-bus.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct mailspool mailspool;

enum mailspool_bus {
        /* $MAILSPOOL_BUS ("system" or "session") if set, else the system bus. */
        MAILSPOOL_BUS_DEFAULT,
        MAILSPOOL_BUS_SYSTEM,
        MAILSPOOL_BUS_SESSION,
};

int mailspool_open(enum mailspool_bus bus, mailspool **ret);
void mailspool_close(mailspool *m);

/* The last failed call's D-Bus error name and message; NULL when the last
 * failure was not a D-Bus error (or nothing failed). */
const char *mailspool_error_name(const mailspool *m);
const char *mailspool_error_message(const mailspool *m);

/* --- Submitting ---------------------------------------------------------- */

struct mailspool_submit_options {
        const char *sender;            /* envelope sender; NULL: from the message */
        const char *const *recipients; /* NULL-terminated; NULL: To, Cc and Bcc */
        const char *transport;         /* transport id; NULL: the spooler routes */
        bool on_demand;                /* OnDemand: wait for a flush instead of going at once */
        bool hold;                     /* Hold: held until mailspool_release() */
        uint64_t deferred_until;       /* DeferredUntil, µs since the epoch; 0: none */
        uint64_t expiry_time;          /* ExpiryTime, µs since the epoch; 0: none */
        /* Delivery status notifications (RFC 3461), passed on where the
         * server offers DSN; NULL: none. DsnNotify: "NEVER" or a list of
         * SUCCESS, FAILURE, DELAY; DsnReturn: "FULL" or "HDRS";
         * DsnEnvelopeId: 1 to 100 printable ASCII characters. */
        const char *dsn_notify, *dsn_return, *dsn_envid;
};

/* An RFC 5322 message from a descriptor (read from its current offset by
 * the daemon) or from memory. Returns when the message is durably stored;
 * *ret_path (may be NULL) receives the new message's object path. */
int mailspool_submit_fd(mailspool *m, int fd, const struct mailspool_submit_options *options,
                        char **ret_path);
int mailspool_submit_data(mailspool *m, const void *data, size_t size,
                          const struct mailspool_submit_options *options, char **ret_path);

/* --- The status table ---------------------------------------------------- */

struct mailspool_status_row {
        char *path; /* the status object */
        char *id;   /* transport id; "" for the spooler */
        uint32_t row_id;
        uint32_t resource_type;
        uint32_t resource_methods;
        uint32_t resource_flags;
        uint32_t status_code;
        char *display_name;
        char *provider_display;
        char *status_string;
        char *identity_display;
};

/* Every row (spooler first, then transports in RowID order). Returns the
 * number of rows. */
int mailspool_status_table(mailspool *m, struct mailspool_status_row **ret_rows);
void mailspool_status_rows_free(struct mailspool_status_row *rows, size_t n);

/* --- Flushing ------------------------------------------------------------ */

struct mailspool_flush_error {
        char *transport; /* object path */
        char *name;      /* D-Bus error name */
        char *message;
};

struct mailspool_flush_summary {
        uint32_t sent, deferred, failed, received;
        char **skipped; /* NULL-terminated object paths */
        struct mailspool_flush_error *errors;
        size_t n_errors;
};

/* transport is the transport id whose progress this is; done and total
 * count outbound messages of the flush; text is for a person. */
typedef void (*mailspool_progress_fn)(const char *transport, uint32_t done, uint32_t total,
                                      const char *text, void *userdata);

/* FlushQueues on the spooler for every transport (transport NULL), on the
 * spooler for one transport (via_spooler), or on the transport itself.
 * progress (may be NULL) is called for each FlushProgress the daemon sends
 * while the call runs; with MAILSPOOL_FLUSH_NO_UI none comes. With
 * MAILSPOOL_FLUSH_ASYNC_OK (spooler only) it returns once the flush started.
 * ret (may be NULL) receives the summary; free it with
 * mailspool_flush_summary_clear(). */
int mailspool_flush(mailspool *m, const char *transport, bool via_spooler, uint32_t flags,
                    mailspool_progress_fn progress, void *userdata,
                    struct mailspool_flush_summary *ret);
void mailspool_flush_summary_clear(struct mailspool_flush_summary *s);

/* CancelFlush: transport NULL stops the spooler's flush of every transport. */
int mailspool_cancel_flush(mailspool *m, const char *transport);

/* ValidateState on a transport (NULL: the spooler). */
int mailspool_validate(mailspool *m, const char *transport, uint32_t flags);
/* How a transport logs on: where its secret comes from (the configuration
 * key, as "PasswordCommand"; "" for none) and the mechanism of the last
 * logon the server took ("PLAIN", "XOAUTH2"; "" before the first). Never
 * the secret. Free both. */
int mailspool_transport_logon(mailspool *m, const char *transport, char **ret_secret_source,
                              char **ret_mechanism);

/* --- Messages ------------------------------------------------------------ */

struct mailspool_message_entry {
        char *path;
        char *state;
        char *transport; /* transport id */
        char *subject;
        uint32_t size;
        uint32_t attempts;
        uint64_t submitted_usec; /* CLOCK_REALTIME µs */
};

struct mailspool_message_filter {
        const char *state;     /* NULL: any */
        const char *transport; /* transport id; NULL: any */
        const char *direction; /* "outbound", "inbound"; NULL: both */
};

/* ListMessages: the caller's own messages (every message for root or the
 * admin group on the system bus). Returns the number of entries. */
int mailspool_list_messages(mailspool *m, const struct mailspool_message_filter *filter,
                            struct mailspool_message_entry **ret_entries);
void mailspool_message_entries_free(struct mailspool_message_entry *entries, size_t n);

struct mailspool_message {
        char *path;
        uint64_t id;
        char *direction;
        char *state;
        char *transport; /* transport id */
        char *sender;
        char **recipients; /* NULL-terminated */
        char *subject;
        char *message_id;
        uint64_t size;
        uint64_t submitted_usec;
        uint32_t attempts;
        uint64_t next_attempt_usec;
        char *last_error;
        uint32_t owner;
        char *file; /* inbound: its file in the Maildir */
        /* OnDemand: it waits for an upload flush. */
        bool on_demand;
        /* DeferredUntil: while "scheduled", when it becomes queued (µs since
         * the epoch); else 0. */
        uint64_t deferred_until;
        /* ExpiryTime: not sent by then, it fails (µs since the epoch); 0: none. */
        uint64_t expiry_time;
        /* PossiblyDelivered: the connection broke after the final "." and
         * before the server's reply; it may have been delivered. */
        bool possibly_delivered;
        /* DelayReported: its owner got a "delayed" report. */
        bool delay_reported;
        /* SentCopy: its copy in an IMAP mailbox (SentCopy= of its
         * transport): "" none, "pending" or "copied"; SentCopyError: why
         * the last attempt at it failed, "" if none did. */
        char *sent_copy;
        char *sent_copy_error;
};

/* A message by its object path or its number ("42"). */
int mailspool_get_message(mailspool *m, const char *message, struct mailspool_message *ret);
void mailspool_message_clear(struct mailspool_message *msg);

/* Abort: only while queued, deferred, held or scheduled, else -EALREADY
 * (NotQueued). */
int mailspool_abort(mailspool *m, const char *message);

/* Hold: a message that waits to be sent (queued, deferred or scheduled)
 * becomes "held" and stays until mailspool_release(). Release: a held or
 * scheduled message is queued now. Reschedule: a message that waits to be
 * sent (queued, deferred, held or scheduled) becomes "scheduled" for
 * time_usec (µs since the epoch, CLOCK_REALTIME); a time already past queues
 * it now; -EINVAL past INT64_MAX. Like mailspool_abort(): the message by its
 * object path or number; -EALREADY (NotQueued) once it is being sent or has
 * an outcome; -ENOENT for a message that does not exist or that the caller
 * may not see. */
int mailspool_hold(mailspool *m, const char *message);
int mailspool_release(mailspool *m, const char *message);
int mailspool_reschedule(mailspool *m, const char *message, uint64_t time_usec);

/* --- Names --------------------------------------------------------------- */

/* The object path of a transport id (escaped as the daemon does). */
int mailspool_transport_path(const char *id, char **ret_path);
/* The transport id of a transport's object path; -EINVAL for another path. */
int mailspool_transport_id(const char *path, char **ret_id);

#ifdef __cplusplus
}
#endif
