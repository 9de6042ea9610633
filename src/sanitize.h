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
#include <stdio.h>
#include <stdint.h>

/* Writes at most outlen-1 bytes plus NUL; never splits a UTF-8 sequence.
 * Controls become '?'; returns the number of bytes written (without NUL). */
size_t sanitize_text(const char *in, char *out, size_t outlen, bool utf8);

/* Writes s as one CSV field (RFC 4180): sanitised (UTF-8 mode, at most
 * 4095 bytes), quoted when it holds a comma, quote or line break, and with
 * a leading = + - @ defused by a quote mark so a spreadsheet does not run
 * it as a formula (a lone "-" or a negative number stays as it is). */
void sanitize_write_csv(FILE *out, const char *s);

/* True when s has no byte sanitize_text would change (in UTF-8 mode). */
bool sanitize_is_clean(const char *s);

/* The length of the valid UTF-8 sequence at s (n bytes left) with its code
 * point in *cp, or 0. Strict: no overlongs, surrogates or values past
 * U+10FFFF (a lenient decoder is how C1 controls slip through). */
size_t sanitize_utf8_decode(const unsigned char *s, size_t n, uint32_t *cp);
/* C0, DEL, C1, and the bidi overrides and isolates. */
bool sanitize_is_control(uint32_t cp);

#endif
