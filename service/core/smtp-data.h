/* A message as SMTP's DATA carries it (RFC 5321 section 4.5.2): CRLF line
 * ends, a '.' doubled at the start of a line, a last CRLF where the message
 * lacks one, then the ".\r\n" that ends it; and what MAIL FROM needs to know
 * of it. Pure: no loop, no store. */
#pragma once

#include "util.h"

struct smtp_data_traits {
        bool eight_bit;    /* a byte over 127 anywhere: BODY=8BITMIME */
        bool utf8_headers; /* one in the header section: SMTPUTF8 (RFC 6532) */
        size_t size;       /* of the message with CRLF line ends, for SIZE= */
};

/* Encodes text (size bytes, LF or CRLF line ends) for DATA. */
int smtp_data_encode(const char *text, size_t size, char **ret, size_t *ret_size,
                     struct smtp_data_traits *ret_traits);

/* What an EHLO reply offers, from its lines. */
struct smtp_caps {
        bool pipelining; /* RFC 2920 */
        bool eight_bit;  /* 8BITMIME, RFC 6152 */
        bool smtputf8;   /* RFC 6531 */
        bool size;       /* RFC 1870 */
        bool dsn;        /* RFC 3461 */
};

/* Takes one line of an EHLO reply ("250-PIPELINING", "250 SIZE 10240000"). */
void smtp_caps_feed(struct smtp_caps *c, const char *line, size_t size);

/* Delivery status notifications (RFC 3461), as a submitter asks for them.
 * NOTIFY: "NEVER", or SUCCESS, FAILURE and DELAY in any case and order,
 * comma-separated; *ret is the canonical form ("SUCCESS,FAILURE").
 * -EINVAL for anything else. */
int dsn_notify_normalize(const char *in, char **ret);
/* RET: FULL or HDRS, in any case; *ret in upper case. */
int dsn_return_normalize(const char *in, char **ret);
/* ENVID: 1 to 100 printable ASCII characters. */
bool dsn_envid_valid(const char *in);
/* xtext (RFC 3461 section 4): '+', '=' and every byte outside '!'..'~' as
 * "+XX". NULL when out of memory. */
char *xtext_encode(const char *in);
