/* Which way of logging on a client used, read from the command it sent
 * (libcurl shows us what it writes to the server): what ValidateState and
 * `mailspoolctl validate` report, without the credentials that follow it. */
#pragma once

#include "util.h"

/* SASL names are at most 20 characters (RFC 4422 3.1). */
#define LOGON_MECHANISM_MAX 20

/* When line (size bytes, maybe without a terminating NUL, as sent) is a
 * logon command, copies its mechanism into buf (LOGON_MECHANISM_MAX + 1
 * bytes) and returns true: the SASL name of SMTP and POP3 "AUTH NAME ..."
 * and IMAP "TAG AUTHENTICATE NAME ...", "LOGIN" for IMAP's LOGIN command and
 * "USER" for POP3's USER/PASS. Nothing of the rest of the line is read. */
bool logon_mechanism_of_line(const char *line, size_t size, char *buf);
