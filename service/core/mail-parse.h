/* Reading a submitted RFC 5322 message with GMime: the envelope, the headers
 * the bus shows, and the copy to deliver (without Bcc). No hand parsing of
 * addresses. */
#pragma once

#include "util.h"

struct parsed_mail {
        char *sender;      /* envelope sender: the Sender option, else From's first mailbox */
        char **recipients; /* envelope: the Recipients option, else To, Cc and Bcc; no duplicates */
        char *from;        /* From's first mailbox address, "" if none (routing by Identity) */
        char *subject;     /* decoded; "" if none */
        char *message_id;  /* as in the header without <>, "" if none */
        void *data;        /* the message to deliver: the input without its Bcc header fields */
        size_t size;
};
void parsed_mail_clear(struct parsed_mail *m);

/* Envelope recipients of one submission (Postfix's smtpd_recipient_limit
 * default): a longer list is refused, so that no submission keeps the event
 * loop busy. Received mail records its first ones only. */
#define MAIL_MAX_RECIPIENTS 1000

/* GMime wants one g_mime_init() per process before any use. */
void gmime_init_once(void);

/* Parses data (size bytes). envelope_sender and envelope_recipients, if not NULL
 * (and, for recipients, not empty), override what the headers say. On bad input
 * returns -EINVAL and a sentence for the user in *ret_error, e.g.
 * "the message has no header section", "no recipient: ...",
 * "recipient \"x\" is not a valid address". */
int mail_parse(const void *data, size_t size, const char *envelope_sender,
               char *const *envelope_recipients, struct parsed_mail *ret, char **ret_error);

/* An addr-spec we are willing to hand to a server: local@domain, no spaces,
 * control characters or angle brackets, at most 254 bytes. */
bool mail_address_is_valid(const char *address);

/* For mail we received rather than mail to send: reads the same headers but
 * asks for no sender or recipient (a Bcc copy has no To). -EINVAL only when
 * there is no header section at all. ret->data stays NULL (size 0): received
 * mail is kept byte for byte by the caller, so no copy is made. */
int mail_parse_inbound(const void *data, size_t size, struct parsed_mail *ret, char **ret_error);

/* Header fields a local submission may lack, which the spooler then adds
 * (as Postfix does for local mail): RFC 5322 wants Date and From, and
 * servers and mail programs expect a Message-ID. */
enum mail_missing {
        MAIL_MISSING_FROM = 1u << 0,
        MAIL_MISSING_DATE = 1u << 1,
        MAIL_MISSING_MESSAGE_ID = 1u << 2,
};
/* Which of them data lacks (-EINVAL when it has no header section). */
int mail_missing_fields(const void *data, size_t size, unsigned *ret);
/* data with the missing fields in front: From: <from> (when from is not
 * NULL), Date: now (local time), Message-ID: <time.random@domain>. */
int mail_prepend_fields(const void *data, size_t size, unsigned missing, const char *from,
                        const char *domain, uint64_t now_usec, void **ret, size_t *ret_size);
