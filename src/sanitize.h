/*
 * sanitize.h - make strings from outside safe to show on a terminal.
 *
 * Anything a broker, a journal or a user typed may contain ESC, other C0/C1
 * controls, DEL or bytes that are not UTF-8. None of that may reach the
 * operator's terminal: each such byte (or code point) is replaced so the text
 * is shown inert. Valid printable UTF-8 is kept when utf8 is true; otherwise
 * every non-ASCII code point becomes '?'.
 *
 * Pure functions, safe from any thread.
 */
#ifndef TRADEOPS_SANITIZE_H
#define TRADEOPS_SANITIZE_H

#include <stdbool.h>
#include <stddef.h>

/* Writes at most outlen-1 bytes plus NUL; never splits a UTF-8 sequence.
 * Controls become '?'; returns the number of bytes written (without NUL). */
size_t sanitize_text(const char *in, char *out, size_t outlen, bool utf8);

/* True when s has no byte sanitize_text would change (in UTF-8 mode). */
bool sanitize_is_clean(const char *s);

#endif
