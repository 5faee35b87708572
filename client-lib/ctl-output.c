/* Tables, JSON strings, status words and the progress bar of mailspoolctl. */
#include "ctl-output.h"

#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "mailspool.h"

/* Bytes of the control character at s (C0, DEL, or C1 as UTF-8), else 0. */
static size_t control_length(const unsigned char *s)
{
        if (*s < 0x20 || *s == 0x7f)
                return 1;
        if (s[0] == 0xc2 && s[1] >= 0x80 && s[1] <= 0x9f)
                return 2;
        return 0;
}

char *text_for_terminal(const char *s)
{
        const unsigned char *p = (const unsigned char *) (s ? s : "");
        /* At most four bytes ("\xHH") for each byte. */
        char *out = malloc(strlen((const char *) p) * 4 + 1);
        if (!out)
                return NULL;
        char *o = out;
        while (*p) {
                size_t n = control_length(p);
                if (n == 0) {
                        *o++ = (char) *p++;
                        continue;
                }
                unsigned c = n == 1 ? p[0] : p[1];
                o += sprintf(o, "\\x%02x", c);
                p += n;
        }
        *o = '\0';
        return out;
}

void print_text(FILE *out, const char *s)
{
        char *t = text_for_terminal(s);
        fputs(t ? t : "?", out);
        free(t);
}

struct table {
        unsigned n_columns;
        size_t n_rows; /* the header is row 0 */
        char **cells;  /* n_rows × n_columns */
};

struct table *table_new(unsigned n_columns, const char *const *headers)
{
        struct table *t = calloc(1, sizeof(*t));
        if (!t)
                return NULL;
        t->n_columns = n_columns;
        if (table_add_row(t, headers) < 0) {
                table_free(t);
                return NULL;
        }
        return t;
}

int table_add_row(struct table *t, const char *const *cells)
{
        char **more = realloc(t->cells, (t->n_rows + 1) * t->n_columns * sizeof(char *));
        if (!more)
                return -1;
        t->cells = more;
        char **row = t->cells + t->n_rows * t->n_columns;
        for (unsigned c = 0; c < t->n_columns; c++)
                row[c] = NULL;
        t->n_rows++;
        for (unsigned c = 0; c < t->n_columns; c++) {
                row[c] = text_for_terminal(cells[c]);
                if (!row[c])
                        return -1;
        }
        return 0;
}

/* Display width: counts UTF-8 lead bytes, close enough for names and text. */
static size_t width_of(const char *s)
{
        size_t w = 0;
        for (; *s; s++)
                if (((unsigned char) *s & 0xC0) != 0x80)
                        w++;
        return w;
}

void table_print(const struct table *t, FILE *out)
{
        size_t *widths = calloc(t->n_columns, sizeof(size_t));
        if (!widths)
                return;
        for (size_t r = 0; r < t->n_rows; r++)
                for (unsigned c = 0; c < t->n_columns; c++) {
                        size_t w = width_of(t->cells[r * t->n_columns + c]);
                        if (w > widths[c])
                                widths[c] = w;
                }
        for (size_t r = 0; r < t->n_rows; r++) {
                for (unsigned c = 0; c < t->n_columns; c++) {
                        const char *cell = t->cells[r * t->n_columns + c];
                        bool last = c + 1 == t->n_columns;
                        fputs(cell, out);
                        if (!last)
                                fprintf(out, "%*s", (int) (widths[c] - width_of(cell) + 2), "");
                }
                fputc('\n', out);
        }
        free(widths);
}

void table_free(struct table *t)
{
        if (!t)
                return;
        for (size_t i = 0; i < t->n_rows * t->n_columns; i++)
                free(t->cells[i]);
        free(t->cells);
        free(t);
}

void json_print_string(FILE *out, const char *s)
{
        fputc('"', out);
        for (const unsigned char *p = (const unsigned char *) (s ? s : ""); *p; p++) {
                if (*p == '"' || *p == '\\')
                        fprintf(out, "\\%c", *p);
                else if (*p == '\n')
                        fputs("\\n", out);
                else if (*p < 0x20)
                        fprintf(out, "\\u%04x", *p);
                else
                        fputc(*p, out);
        }
        fputc('"', out);
}

void json_print_member(FILE *out, const char *key, const char *s)
{
        fprintf(out, ",\"%s\":", key);
        json_print_string(out, s);
}

void status_code_words(uint32_t code, char *buf, size_t size)
{
        static const struct {
                uint32_t bit;
                const char *word;
        } words[] = {
            {MAILSPOOL_STATUS_AVAILABLE, "available"},
            {MAILSPOOL_STATUS_OFFLINE, "offline"},
            {MAILSPOOL_STATUS_FAILURE, "failure"},
            {MAILSPOOL_STATUS_INBOUND_ENABLED, "inbound-enabled"},
            {MAILSPOOL_STATUS_INBOUND_ACTIVE, "inbound-active"},
            {MAILSPOOL_STATUS_INBOUND_FLUSH, "inbound-flush"},
            {MAILSPOOL_STATUS_OUTBOUND_ENABLED, "outbound-enabled"},
            {MAILSPOOL_STATUS_OUTBOUND_ACTIVE, "outbound-active"},
            {MAILSPOOL_STATUS_OUTBOUND_FLUSH, "outbound-flush"},
            {MAILSPOOL_STATUS_REMOTE_ACCESS, "remote-access"},
        };
        size_t used = 0;
        buf[0] = '\0';
        for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
                if (!(code & words[i].bit))
                        continue;
                int n = snprintf(buf + used, size - used, "%s%s", used ? "," : "", words[i].word);
                if (n < 0 || (size_t) n >= size - used)
                        return;
                used += (size_t) n;
        }
        if (!used)
                snprintf(buf, size, "-");
}

static uint64_t now_usec(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000 + (uint64_t) ts.tv_nsec / 1000;
}

void progress_init(struct progress *p, FILE *out)
{
        *p = (struct progress){.out = out, .tty = isatty(fileno(out)), .columns = 80};
        struct winsize ws;
        if (p->tty && ioctl(fileno(out), TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 40)
                p->columns = ws.ws_col;
}

void progress_report(struct progress *p, const char *transport, uint32_t done, uint32_t total,
                     const char *text)
{
        if (!p->tty) {
                print_text(p->out, text);
                fputc('\n', p->out);
                fflush(p->out);
                return;
        }
        uint64_t now = now_usec();
        if (p->drawn && done < total && now - p->last_draw_usec < 50000)
                return;
        p->last_draw_usec = now;
        p->drawn = true;

        /* "[#######.......]  12/40  text", fitted to the terminal. */
        char counts[32];
        snprintf(counts, sizeof(counts), "%u/%u", done, total);
        unsigned bar = p->columns / 3;
        unsigned filled =
            total ? (unsigned) ((uint64_t) bar * (done > total ? total : done) / total) : 0;
        fputs("\r[", p->out);
        for (unsigned i = 0; i < bar; i++)
                fputc(i < filled ? '#' : '.', p->out);
        fprintf(p->out, "] %9s  ", counts);
        int room = (int) p->columns - (int) bar - 15;
        char *shown = text_for_terminal(text);
        fprintf(p->out, "%.*s\033[K", room > 0 ? room : 0, shown ? shown : "");
        free(shown);
        fflush(p->out);
}

void progress_end(struct progress *p)
{
        if (p->tty && p->drawn) {
                fputc('\n', p->out);
                fflush(p->out);
        }
        p->drawn = false;
}
