/* Reading a submitted message. GMime parses the header section and the
 * addresses (they are too subtle to parse by hand); we only use the offsets it
 * reports to cut the Bcc fields out of the original bytes, so that everything
 * else reaches the server exactly as the client wrote it (re-serializing with
 * GMime could refold or re-encode headers and would break signatures). */
#include "mail-parse.h"

#include <inttypes.h>
#include <stdarg.h>
#include <sys/random.h>
#include <time.h>

#include <gmime/gmime.h>

/* How much of an offending string an error message repeats. */
#define QUOTED_MAX_BYTES 100
/* RFC 5321 4.5.3.1.3: a path is at most 256 octets including the angle
 * brackets. */
#define ADDRESS_MAX_BYTES 254

static void gobject_unrefp(void *p)
{
        void *object = *(void **) p;
        if (object)
                g_object_unref(object);
}
#define _cleanup_gobject_ _cleanup_(gobject_unrefp)

static void gfreep(void *p)
{
        g_free(*(void **) p);
}
#define _cleanup_gfree_ _cleanup_(gfreep)

/* The daemon has one thread, so a plain flag is enough. We never call
 * g_mime_shutdown(): GMime stays in use for the life of the process. */
void gmime_init_once(void)
{
        static bool initialized = false;
        if (!initialized) {
                g_mime_init();
                initialized = true;
        }
}

void parsed_mail_clear(struct parsed_mail *m)
{
        free(m->sender);
        strv_free(m->recipients);
        free(m->from);
        free(m->subject);
        free(m->message_id);
        free(m->data);
        *m = (struct parsed_mail){};
}

/* Stores a sentence for the user in *ret_error (if wanted) and returns
 * -EINVAL, the caller's cue to show it; -ENOMEM if it cannot be built. */
__attribute__((format(printf, 2, 3))) static int fail(char **ret_error, const char *format, ...)
{
        if (!ret_error)
                return -EINVAL;
        va_list ap;
        va_start(ap, format);
        int n = vasprintf(ret_error, format, ap);
        va_end(ap);
        if (n < 0) {
                *ret_error = NULL;
                return -ENOMEM;
        }
        return -EINVAL;
}

/* A copy of s fit to stand between double quotes in an error message that
 * goes out over D-Bus (which requires UTF-8): control characters, quotes,
 * backslashes and bytes that are not UTF-8 are written as escapes, and a long
 * string is cut short. */
static char *quote_for_message(const char *s)
{
        size_t length = strlen(s);
        size_t shown = MIN(length, (size_t) QUOTED_MAX_BYTES);
        /* Every byte becomes at most 4 ("\xNN"), plus "..." and the NUL. */
        char *quoted = malloc(shown * 4 + sizeof("..."));
        if (!quoted)
                return NULL;

        char *out = quoted;
        const char *p = s, *end = s + shown;
        while (p < end) {
                unsigned char c = (unsigned char) *p;
                if (c == '"' || c == '\\') {
                        *out++ = '\\';
                        *out++ = (char) c;
                        p++;
                } else if (c < 0x20 || c == 0x7f) {
                        out += sprintf(out, "\\x%02x", c);
                        p++;
                } else if (c < 0x80) {
                        *out++ = (char) c;
                        p++;
                } else {
                        gunichar u = g_utf8_get_char_validated(p, end - p);
                        if (u == (gunichar) -1 || u == (gunichar) -2) {
                                out += sprintf(out, "\\x%02x", c);
                                p++;
                        } else {
                                size_t n = (size_t) g_utf8_skip[c];
                                memcpy(out, p, n);
                                out += n;
                                p += n;
                        }
                }
        }
        if (shown < length)
                out = stpcpy(out, "...");
        *out = '\0';
        return quoted;
}

/* fail() with a sentence that names an address: before, the address in
 * quotes, then after. */
static int fail_address(char **ret_error, const char *before, const char *address,
                        const char *after)
{
        _cleanup_free_ char *quoted = quote_for_message(address);
        if (!quoted)
                return -ENOMEM;
        return fail(ret_error, "%s\"%s\"%s", before, quoted, after);
}

/* What we hand on ends up in D-Bus properties and the store, which want
 * UTF-8. GMime converts what it decodes, but raw 8-bit header text can slip
 * through; such bytes become U+FFFD rather than failing the message. */
static char *strdup_utf8(const char *s)
{
        if (g_utf8_validate(s, -1, NULL))
                return strdup(s);
        _cleanup_gfree_ char *valid = g_utf8_make_valid(s, -1);
        return strdup(valid);
}

bool mail_address_is_valid(const char *address)
{
        if (!address)
                return false;
        size_t length = strlen(address);
        if (length == 0 || length > ADDRESS_MAX_BYTES)
                return false;
        /* It is passed on in SMTP commands and D-Bus strings. */
        if (!g_utf8_validate(address, (gssize) length, NULL))
                return false;
        /* No whitespace or control characters anywhere, quoted or not, and
         * nothing that would end or split an address in a header or an SMTP
         * command. */
        for (const char *p = address; *p; p++) {
                unsigned char c = (unsigned char) *p;
                if (c <= ' ' || c == 0x7f || strchr("<>,;", c))
                        return false;
        }

        /* Find the one '@' that is not inside a quoted local part, e.g. the
         * second one in "a@b"@example.org. */
        const char *at = NULL;
        bool quoted = false;
        for (const char *p = address; *p; p++) {
                if (quoted) {
                        if (*p == '\\' && p[1])
                                p++;
                        else if (*p == '"')
                                quoted = false;
                } else if (*p == '"')
                        quoted = true;
                else if (*p == '\\')
                        return false; /* a quoted-pair only exists inside quotes */
                else if (*p == '@') {
                        if (at)
                                return false;
                        at = p;
                }
        }
        if (quoted || !at || at == address)
                return false;

        /* Quotes belong to the local part; the domain is dot-separated labels
         * (or a [literal]) with none of them empty. */
        const char *domain = at + 1;
        size_t domain_length = strlen(domain);
        if (domain_length == 0 || strchr(domain, '"'))
                return false;
        if (domain[0] == '.' || domain[domain_length - 1] == '.' || strstr(domain, ".."))
                return false;
        return true;
}

/* Two recipients are the same mailbox if their domains match ignoring case
 * (DNS names are case-insensitive) and their local parts match exactly: RFC
 * 5321 2.4 lets the receiving server treat "Joe" and "joe" as different
 * mailboxes, so we must not merge them. */
static bool address_equal(const char *a, const char *b)
{
        const char *at_a = strrchr(a, '@'), *at_b = strrchr(b, '@');
        if (!at_a || !at_b)
                return streq(a, b);
        size_t local_a = (size_t) (at_a - a), local_b = (size_t) (at_b - b);
        return local_a == local_b && memcmp(a, b, local_a) == 0 &&
               strcasecmp(at_a + 1, at_b + 1) == 0;
}

/* Appends a copy of address unless an equal one is there already. */
static int push_unique(char ***addresses, const char *address)
{
        STRV_FOREACH (existing, *addresses)
                if (address_equal(*existing, address))
                        return 0;
        char *copy = strdup_utf8(address);
        if (!copy)
                return -ENOMEM;
        return strv_push(addresses, copy);
}

/* A mailbox's addr-spec in IDN form (punycode domain), what an SMTP server
 * without SMTPUTF8 accepts. An all-ASCII address is its own IDN form (GMime
 * hands a punycode domain back decoded, so that one is not all ASCII), and
 * asking libidn2 for it was a fifth of the time of reading a downloaded
 * message's header fields. */
static const char *mailbox_idn_addr(InternetAddressMailbox *mailbox)
{
        const char *addr = internet_address_mailbox_get_addr(mailbox);
        for (const char *p = addr; p && *p; p++)
                if ((unsigned char) *p >= 0x80)
                        return internet_address_mailbox_get_idn_addr(mailbox);
        return addr;
}

/* Appends the addr-spec of every mailbox in list, with the members of groups
 * in their place, in the order they are written. The IDN form (punycode
 * domain) is what an SMTP server without SMTPUTF8 accepts. */
static int collect_mailboxes(InternetAddressList *list, char ***addresses)
{
        int n = list ? internet_address_list_length(list) : 0;
        for (int i = 0; i < n; i++) {
                InternetAddress *address = internet_address_list_get_address(list, i);
                int r = 0;
                if (INTERNET_ADDRESS_IS_GROUP(address))
                        r = collect_mailboxes(
                            internet_address_group_get_members(INTERNET_ADDRESS_GROUP(address)),
                            addresses);
                else if (INTERNET_ADDRESS_IS_MAILBOX(address)) {
                        /* Checked as we go: a header of 100 000 addresses
                         * stops here, not after a quadratic walk. */
                        if (strv_length(*addresses) >= MAIL_MAX_RECIPIENTS)
                                return -E2BIG;
                        r = strv_extend(addresses, strempty(mailbox_idn_addr(
                                                       INTERNET_ADDRESS_MAILBOX(address))));
                }
                if (r < 0)
                        return r;
        }
        return 0;
}

/* The mailboxes of To, Cc and Bcc, in that order, as written (duplicates
 * and invalid ones included). More than MAIL_MAX_RECIPIENTS: -E2BIG, or with
 * keep_first the first MAIL_MAX_RECIPIENTS. */
static int collect_header_recipients(GMimeMessage *message, bool keep_first, char ***ret)
{
        static const GMimeAddressType types[] = {
            GMIME_ADDRESS_TYPE_TO,
            GMIME_ADDRESS_TYPE_CC,
            GMIME_ADDRESS_TYPE_BCC,
        };
        _cleanup_strv_free_ char **addresses = calloc(1, sizeof(char *));
        if (!addresses)
                return -ENOMEM;
        for (size_t i = 0; i < ELEMENTSOF(types); i++) {
                int r =
                    collect_mailboxes(g_mime_message_get_addresses(message, types[i]), &addresses);
                if (r == -E2BIG && keep_first)
                        break;
                if (r < 0)
                        return r;
        }
        *ret = TAKE_PTR(addresses);
        return 0;
}

/* Whether a header field whose name GMime read as raw_name (blanks before the
 * colon included) starts at offset. This guards every offset we act on: the
 * bytes there must say what GMime says they say. */
static bool field_starts_at(const char *data, size_t header_end, gint64 offset,
                            const char *raw_name)
{
        size_t name_length = strlen(raw_name);
        if (offset < 0 || (uint64_t) offset >= header_end ||
            header_end - (size_t) offset <= name_length)
                return false;
        const char *field = data + offset;
        return memcmp(field, raw_name, name_length) == 0 && field[name_length] == ':';
}

/* The smallest offset of a header field in list (INT64_MAX if it has none),
 * and that field's raw name. */
static gint64 first_field(GMimeHeaderList *list, const char **ret_raw_name)
{
        gint64 first = INT64_MAX;
        int n = list ? g_mime_header_list_get_count(list) : 0;
        for (int i = 0; i < n; i++) {
                GMimeHeader *header = g_mime_header_list_get_header_at(list, i);
                gint64 offset = g_mime_header_get_offset(header);
                if (offset < first) {
                        first = offset;
                        *ret_raw_name = g_mime_header_get_raw_name(header);
                }
        }
        return first;
}

/* How much of data holds its whole header section: up to the first empty
 * line ("\n" or "\r\n"), past which GMime reads no header field, or all of
 * it. */
static size_t header_section_bound(const char *data, size_t size)
{
        if (size == 0)
                return 0;
        const char *end = data + size;
        if (data[0] == '\n')
                return 1;
        if (size >= 2 && data[0] == '\r' && data[1] == '\n')
                return 2;
        for (const char *p = data; (p = memchr(p, '\n', (size_t) (end - p)));) {
                p++;
                if (p < end && p[0] == '\n')
                        return (size_t) (p + 1 - data);
                if (end - p >= 2 && p[0] == '\r' && p[1] == '\n')
                        return (size_t) (p + 2 - data);
        }
        return size;
}

/* Parses the header section of data. On success *ret_header_end is the offset
 * of the empty line that ends it, or size if the input ends first. */
static int parse_header_section(const void *data, size_t size, GMimeMessage **ret_message,
                                size_t *ret_header_end, char **ret_error)
{
        if (size == 0)
                return fail(ret_error, "the message is empty");

        gmime_init_once();
        /* The stream holds a copy of data; parts of the body reference it
         * rather than being copied again. */
        _cleanup_gobject_ GMimeStream *stream = g_mime_stream_mem_new_with_buffer(data, size);
        _cleanup_gobject_ GMimeParser *parser = g_mime_parser_new_with_stream(stream);
        _cleanup_gobject_ GMimeMessage *message = g_mime_parser_construct_message(parser, NULL);
        /* NULL: the first line is neither a header field nor empty (or the
         * input ends in the middle of a field name). */
        if (!message)
                return fail(ret_error, "the message has no header section");

        gint64 end = g_mime_parser_get_headers_end(parser);
        size_t header_end = end < 0 || (uint64_t) end > size ? size : (size_t) end;

        /* GMime files Content-* fields under the top-level part rather than
         * the message, so the first field may be in either list. */
        const char *raw_name = NULL, *part_raw_name = NULL;
        gint64 first = first_field(g_mime_object_get_header_list(GMIME_OBJECT(message)), &raw_name);
        GMimeObject *part = g_mime_message_get_mime_part(message);
        if (part) {
                gint64 part_first =
                    first_field(g_mime_object_get_header_list(part), &part_raw_name);
                if (part_first < first) {
                        first = part_first;
                        raw_name = part_raw_name;
                }
        }
        if (!raw_name)
                return fail(ret_error, "the message has no header section");
        /* GMime skips an mbox "From " line before the headers, which we would
         * pass on, so refuse it. GMime 3.2 reports the next field at offset 0,
         * which the name check catches; a GMime that reports its true offset
         * is caught by the offset check. */
        if (first != 0 || !field_starts_at(data, header_end, first, raw_name))
                return fail(ret_error,
                            "the message has no header section: its first line is not a header "
                            "field");

        *ret_message = TAKE_PTR(message);
        *ret_header_end = header_end;
        return 0;
}

/* Where the header field starting at start ends: after its line and every
 * continuation line (one that starts with a space or tab, RFC 5322 2.2.3),
 * never past the header section. GMime splits fields by the same rule. */
static size_t field_end(const char *data, size_t start, size_t header_end)
{
        size_t pos = start;
        for (;;) {
                const char *newline = memchr(data + pos, '\n', header_end - pos);
                if (!newline)
                        return header_end;
                pos = (size_t) (newline - data) + 1;
                if (pos >= header_end || (data[pos] != ' ' && data[pos] != '\t'))
                        return pos;
        }
}

/* A copy of data without its Bcc header fields; every other byte is kept,
 * line endings included. */
static int copy_without_bcc(const char *data, size_t size, size_t header_end,
                            GMimeHeaderList *headers, void **ret_data, size_t *ret_size,
                            char **ret_error)
{
        /* One byte at least: malloc(0) may return NULL, which is not a
         * failure here (a message of only a Bcc field leaves nothing). */
        _cleanup_free_ char *copy = malloc(size > 0 ? size : 1);
        if (!copy)
                return -ENOMEM;

        size_t copied = 0, next_to_copy = 0;
        int n = g_mime_header_list_get_count(headers);
        for (int i = 0; i < n; i++) {
                GMimeHeader *header = g_mime_header_list_get_header_at(headers, i);
                if (g_ascii_strcasecmp(g_mime_header_get_name(header), "Bcc") != 0)
                        continue;
                gint64 offset = g_mime_header_get_offset(header);
                /* Fields come in the order they are written; if the offset does
                 * not point at this Bcc field, refuse rather than send a copy
                 * that still names the blind recipients. */
                if (offset < (gint64) next_to_copy ||
                    !field_starts_at(data, header_end, offset, g_mime_header_get_raw_name(header)))
                        return fail(ret_error,
                                    "the Bcc header field could not be located to remove it");
                size_t start = (size_t) offset;
                memcpy(copy + copied, data + next_to_copy, start - next_to_copy);
                copied += start - next_to_copy;
                next_to_copy = field_end(data, start, header_end);
        }
        memcpy(copy + copied, data + next_to_copy, size - next_to_copy);
        copied += size - next_to_copy;

        *ret_data = TAKE_PTR(copy);
        *ret_size = copied;
        return 0;
}

/* From, Subject and Message-ID, for both directions. */
static int read_display_headers(GMimeMessage *message, struct parsed_mail *m)
{
        _cleanup_strv_free_ char **from = calloc(1, sizeof(char *));
        if (!from)
                return -ENOMEM;
        int r = collect_mailboxes(g_mime_message_get_from(message), &from);
        if (r < 0)
                return r;
        m->from = strdup_utf8(strempty(from[0]));
        m->subject = strdup_utf8(strempty(g_mime_message_get_subject(message)));
        m->message_id = strdup_utf8(strempty(g_mime_message_get_message_id(message)));
        if (!m->from || !m->subject || !m->message_id)
                return -ENOMEM;
        return 0;
}

int mail_parse(const void *data, size_t size, const char *envelope_sender,
               char *const *envelope_recipients, struct parsed_mail *ret, char **ret_error)
{
        _cleanup_(parsed_mail_clear) struct parsed_mail m = {};
        _cleanup_gobject_ GMimeMessage *message = NULL;
        size_t header_end;
        /* Only the header section is read: all of this comes from its
         * fields, and GMime building the body's MIME tree too was most of
         * the parse. */
        int r = parse_header_section(data, header_section_bound(data, size), &message, &header_end,
                                     ret_error);
        if (r < 0)
                return r;
        /* GMime reads header values as C strings: a NUL would silently cut a
         * value (an address, say) short. */
        if (memchr(data, '\0', header_end))
                return fail(ret_error, "the message has a NUL byte in its header section");

        r = read_display_headers(message, &m);
        if (r < 0)
                return r;

        if (envelope_sender) {
                if (!mail_address_is_valid(envelope_sender))
                        return fail_address(ret_error, "the Sender option ", envelope_sender,
                                            " is not a valid address");
                m.sender = strdup(envelope_sender);
        } else {
                if (m.from[0] == '\0')
                        return fail(ret_error, "no sender: the message has no From header and "
                                               "no Sender option was given");
                if (!mail_address_is_valid(m.from))
                        return fail_address(ret_error, "sender ", m.from,
                                            " (the From header) is not a valid address");
                m.sender = strdup(m.from);
        }
        if (!m.sender)
                return -ENOMEM;

        _cleanup_strv_free_ char **header_recipients = NULL;
        char *const *candidates = envelope_recipients;
        if (strv_length(envelope_recipients) == 0) {
                r = collect_header_recipients(message, false, &header_recipients);
                if (r == -E2BIG)
                        return fail(ret_error, "too many recipients in To, Cc and Bcc (at most %d)",
                                    MAIL_MAX_RECIPIENTS);
                if (r < 0)
                        return r;
                candidates = header_recipients;
        } else if (strv_length(envelope_recipients) > MAIL_MAX_RECIPIENTS)
                return fail(ret_error, "too many recipients: %zu (at most %d)",
                            strv_length(envelope_recipients), MAIL_MAX_RECIPIENTS);
        m.recipients = calloc(1, sizeof(char *));
        if (!m.recipients)
                return -ENOMEM;
        for (size_t i = 0; candidates[i]; i++) {
                if (!mail_address_is_valid(candidates[i]))
                        return fail_address(ret_error, "recipient ", candidates[i],
                                            " is not a valid address");
                r = push_unique(&m.recipients, candidates[i]);
                if (r < 0)
                        return r;
        }
        if (!m.recipients[0])
                return fail(ret_error, "no recipient: the message has no To, Cc or Bcc and no "
                                       "Recipients option was given");

        /* Bcc goes even when the Recipients option replaces the headers'
         * recipients: the field is still in the message. */
        r = copy_without_bcc(data, size, header_end,
                             g_mime_object_get_header_list(GMIME_OBJECT(message)), &m.data, &m.size,
                             ret_error);
        if (r < 0)
                return r;

        *ret = m;
        m = (struct parsed_mail){};
        return 0;
}

int mail_parse_inbound(const void *data, size_t size, struct parsed_mail *ret, char **ret_error)
{
        _cleanup_(parsed_mail_clear) struct parsed_mail m = {};
        _cleanup_gobject_ GMimeMessage *message = NULL;
        size_t header_end;
        /* Only the header section is read: what is recorded of a message
         * that came in is in its header fields, and GMime building the
         * body's MIME tree as well cost half the time of keeping a
         * downloaded message. */
        int r = parse_header_section(data, header_section_bound(data, size), &message, &header_end,
                                     ret_error);
        if (r < 0)
                return r;

        r = read_display_headers(message, &m);
        if (r < 0)
                return r;
        /* What arrived is recorded as it is: no address is checked, and a
         * message without any recipient header (a Bcc copy) is fine. */
        m.sender = strdup(m.from);
        if (!m.sender)
                return -ENOMEM;

        _cleanup_strv_free_ char **header_recipients = NULL;
        /* The first MAIL_MAX_RECIPIENTS are enough to show. */
        r = collect_header_recipients(message, true, &header_recipients);
        if (r < 0)
                return r;
        m.recipients = calloc(1, sizeof(char *));
        if (!m.recipients)
                return -ENOMEM;
        STRV_FOREACH (address, header_recipients) {
                if ((*address)[0] == '\0')
                        continue;
                r = push_unique(&m.recipients, *address);
                if (r < 0)
                        return r;
        }

        *ret = m;
        m = (struct parsed_mail){};
        return 0;
}

/* ---- completing a local submission ---- */

int mail_missing_fields(const void *data, size_t size, unsigned *ret)
{
        _cleanup_gobject_ GMimeMessage *message = NULL;
        size_t header_end;
        int r = parse_header_section(data, header_section_bound(data, size), &message, &header_end,
                                     NULL);
        if (r < 0)
                return r;
        GMimeHeaderList *h = g_mime_object_get_header_list(GMIME_OBJECT(message));
        *ret = (g_mime_header_list_contains(h, "From") ? 0 : MAIL_MISSING_FROM) |
               (g_mime_header_list_contains(h, "Date") ? 0 : MAIL_MISSING_DATE) |
               (g_mime_header_list_contains(h, "Message-ID") ? 0 : MAIL_MISSING_MESSAGE_ID);
        return 0;
}

int mail_prepend_fields(const void *data, size_t size, unsigned missing, const char *from,
                        const char *domain, uint64_t now_usec, void **ret, size_t *ret_size)
{
        _cleanup_free_ char *fields = NULL;
        size_t n = 0;
        FILE *f = open_memstream(&fields, &n);
        if (!f)
                return -ENOMEM;
        if ((missing & MAIL_MISSING_FROM) && from)
                fprintf(f, "From: <%s>\n", from);
        if (missing & MAIL_MISSING_DATE) {
                /* RFC 5322 3.3, in the C locale the daemon keeps. */
                char date[64];
                time_t t = (time_t) (now_usec / USEC_PER_SEC);
                struct tm tm;
                if (localtime_r(&t, &tm) &&
                    strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S %z", &tm) > 0)
                        fprintf(f, "Date: %s\n", date);
        }
        if (missing & MAIL_MISSING_MESSAGE_ID) {
                uint64_t salt = 0;
                if (getrandom(&salt, sizeof(salt), 0) != (ssize_t) sizeof(salt))
                        salt = now_usec ^ (uint64_t) getpid();
                fprintf(f, "Message-ID: <%" PRIx64 ".%016" PRIx64 "@%s>\n", now_usec, salt, domain);
        }
        if (fclose(f) != 0)
                return -ENOMEM;
        char *out = malloc(n + size);
        if (!out)
                return -ENOMEM;
        memcpy(out, fields, n);
        memcpy(out + n, data, size);
        *ret = out;
        *ret_size = n + size;
        return 0;
}
