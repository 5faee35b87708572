/* The flush engine (MAPI's FlushQueues): one request covers one or more
 * (transport, direction) parts. An upload part is a round over the queue as
 * it stood at the request, which the transport is told to send first; a
 * download part is one download. The request ends when its last part ends.
 * Every flush decision lives here; the transports only report outcomes, and
 * the bus face that made the request replies when the listener hears the
 * end (docs/bus-api.md, "Status.FlushQueues"). */
#pragma once

#include "mapi-error.h"
#include "spool.h"
#include "transport.h"

struct flush;

struct flush_listener {
        /* Something happened that the caller may be shown. */
        void (*progress)(struct flush *f, struct transport *t, const char *text, void *userdata);
        /* The flush ended; it is freed when this returns. */
        void (*finished)(struct flush *f, void *userdata);
        void *userdata;
};

/* The running flushes of one spool. */
struct flushes {
        struct spool *spool;
        struct flush_listener listener;
        struct flush *running;     /* a list */
        unsigned upload, download; /* spooler-level flushes running, per direction */
};

struct flush_error {
        char *path; /* the transport's object path */
        enum mapi_error code;
        char *text;
};

/* An upload part's snapshot of its transport's queue: the messages that
 * must each reach an outcome of this attempt before the part ends. The
 * transport borrows ids and settled to send them first. */
struct flush_round {
        uint64_t *ids; /* ascending */
        bool *settled;
        size_t n;
        size_t n_settled;
        size_t n_sent;
        bool taken_back;            /* the transport no longer holds the list */
        enum mapi_error error_code; /* the transport could not be reached... */
        char *error;                /* ...and why; NULL if it could */
};

struct flush_part {
        struct transport *t;
        bool dir[_FLUSH_DIR_MAX];
        bool running[_FLUSH_DIR_MAX];
        struct flush_round round; /* the upload part's */
};

struct flush {
        struct flushes *owner;
        struct flush *next;
        void *userdata; /* the requester's */

        uint32_t flags;
        bool spooler_level;
        bool cancelled;
        char *target;  /* what CancelFlush names: "/" or a transport path */
        char *emitter; /* the object that answers for it: the spooler or the transport */

        struct flush_part *parts;
        size_t n_parts;
        unsigned running;

        /* The summary. */
        uint32_t sent, deferred, failed, received;
        uint32_t done, total;
        char **skipped; /* transport paths */
        struct flush_error *errors;
        size_t n_errors;
        /* A part that could not connect or log on: if it was the only part,
         * the request fails as a whole with this code. */
        bool part_unreachable;
        enum mapi_error unreachable_code;
        char *unreachable_text;
};

/* A request for FlushQueues(target, flags) made on the spooler (on_transport
 * NULL; target "/" or a transport's path) or on a transport (target "/").
 * On refusal returns a negative errno with *ret_code and a sentence in
 * *ret_text (bad flags, unknown or offline target, Busy, stopping). The
 * request starts with flush_run(). */
int flush_new(struct flushes *fl, struct transport *on_transport, const char *target,
              uint32_t flags, struct flush **ret, enum mapi_error *ret_code, char **ret_text);
/* Starts every part; the listener's finished() may come before this returns. */
void flush_run(struct flush *f);
/* Frees a request that flush_run() never started. */
struct flush *flush_free(struct flush *f);
/* What the request as a whole comes to: MAPI_OK (see the summary), or the
 * error it fails with and a sentence. */
enum mapi_error flush_result(const struct flush *f, const char **ret_text);

struct flush *flushes_find(struct flushes *fl, const char *target);
/* CancelFlush: messages not yet taken are left queued; those in transit
 * finish; a download stops after the message at hand. */
void flush_cancel(struct flush *f);

/* Reports from the transports, passed on by whoever listens to them. */
void flushes_message_settled(struct flushes *fl, struct transport *t, uint64_t id,
                             enum delivery_outcome outcome);
void flushes_connection_failed(struct flushes *fl, struct transport *t, enum mapi_error code,
                               const char *error);
void flushes_message_received(struct flushes *fl, struct transport *t);
void flushes_download_done(struct flushes *fl, struct transport *t, enum mapi_error code,
                           const char *error);

/* Reads the configuration again (spool_reload()), but -EBUSY while a flush
 * runs or mail is in transit. */
int flushes_reload(struct flushes *fl, char **ret_error);
