/* How mailspoolctl prints: aligned tables for people, JSON for programs,
 * and the flush progress (a bar on a terminal, lines elsewhere). */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/* Text from the daemon (a Subject, a server's reply) as a terminal may show
 * it: control characters (C0, DEL and C1) written as \xHH, so that data can
 * neither move the cursor nor start a line of its own. Writes s to out. */
void print_text(FILE *out, const char *s);
/* The same into a new string; NULL only without memory. */
char *text_for_terminal(const char *s);

/* A table of strings (each cell passed through text_for_terminal()), printed with each column as
 * wide as its widest cell. */
struct table;
struct table *table_new(unsigned n_columns, const char *const *headers);
int table_add_row(struct table *t, const char *const *cells);
void table_print(const struct table *t, FILE *out);
void table_free(struct table *t);

/* s as a JSON string literal, quotes included. */
void json_print_string(FILE *out, const char *s);
/* ,"key":"s" — a string member after an object's first; key is printed as
 * it is, so it must need no escaping. */
void json_print_member(FILE *out, const char *key, const char *s);

/* The StatusCode bits as words: "available,outbound-flush,outbound-active". */
void status_code_words(uint32_t code, char *buf, size_t size);

/* Flush progress. On a terminal a bar redrawn in place (at most every 50 ms);
 * elsewhere one line per report. */
struct progress {
        FILE *out;
        bool tty;
        unsigned columns;
        uint64_t last_draw_usec;
        bool drawn;
};
void progress_init(struct progress *p, FILE *out);
void progress_report(struct progress *p, const char *transport, uint32_t done, uint32_t total,
                     const char *text);
/* Leaves the line of the bar, if one was drawn. */
void progress_end(struct progress *p);
