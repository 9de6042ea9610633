/*
 * action.c - see action.h.
 */
#include "action.h"

#include <curses.h>
#include <stdio.h>
#include <string.h>

#define HINT_GAP 2 /* columns between two hint items */

bool actions_enabled(const action *a, const action_filter *f)
{
    if (f && f->readonly && a->dangerous)
        return false;
    if (a->scope == ACTION_SCREEN) {
        unsigned long bit =
            a->verb >= 0 && a->verb < (int)(8 * sizeof(unsigned long)) ? 1ul << a->verb : 0;
        if (!f || !(f->screen_verbs & bit))
            return false;
    }
    return true;
}

static bool bound(const action *a, int key)
{
    for (int i = 0; i < ACTION_MAX_KEYS && a->keys[i]; i++)
        if (a->keys[i] == key)
            return true;
    return false;
}

const action *actions_find(const action *table, size_t n, int key, const action_filter *f)
{
    for (size_t i = 0; i < n; i++)
        if (bound(&table[i], key) && actions_enabled(&table[i], f))
            return &table[i];
    return NULL;
}

unsigned actions_dispatch(const action *table, size_t n, int key, const action_filter *f, void *ctx)
{
    for (size_t i = 0; i < n; i++) {
        const action *a = &table[i];
        if (!bound(a, key) || !actions_enabled(a, f) || !a->fn)
            continue;
        unsigned r = a->fn(ctx, a, key);
        if (!(r & REACT_PASS))
            return r;
    }
    return REACT_UNBOUND;
}

/* True when every key of table[i] is taken by an earlier enabled action,
 * so a hint for it would promise something the key does not do. */
static bool shadowed(const action *table, size_t i, const action_filter *f)
{
    const action *a = &table[i];
    for (int k = 0; k < ACTION_MAX_KEYS && a->keys[k]; k++) {
        bool taken = false;
        for (size_t j = 0; j < i && !taken; j++)
            taken = bound(&table[j], a->keys[k]) && actions_enabled(&table[j], f);
        if (!taken)
            return false;
    }
    return true;
}

size_t actions_hint(const action *table, size_t n, const action_filter *f, int width, char *buf,
                    size_t cap, size_t *idx, size_t idx_cap)
{
    size_t count = 0, len = 0;
    if (cap)
        buf[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        const action *a = &table[i];
        if (!a->hint || !actions_enabled(a, f) || shadowed(table, i, f))
            continue;
        char item[96];
        int il =
            snprintf(item, sizeof item, "%*s%s %s", len ? HINT_GAP : 0, "", a->keys_label, a->name);
        if (il < 0 || (size_t)il >= sizeof item)
            continue;
        /* Labels are ASCII by contract, so bytes are columns here. */
        if ((int)(len + (size_t)il) > width || len + (size_t)il + 1 > cap)
            break;
        memcpy(buf + len, item, (size_t)il + 1);
        len += (size_t)il;
        if (idx && count < idx_cap)
            idx[count] = i;
        count++;
    }
    return count;
}

size_t actions_help_list(const action *table, size_t n, const action_filter *f, size_t *idx,
                         size_t idx_cap)
{
    size_t count = 0;
    for (size_t i = 0; i < n; i++) {
        if (!actions_enabled(&table[i], f))
            continue;
        if (idx && count < idx_cap)
            idx[count] = i;
        count++;
    }
    return count;
}

const char *actions_key_name(int key, char *buf, size_t cap)
{
    static const struct {
        int key;
        const char *name;
    } names[] = {
        {'\t', "Tab"},      {KEY_BTAB, "S-Tab"},  {'\n', "Enter"},         {KEY_ENTER, "Enter"},
        {' ', "Space"},     {27, "Esc"},          {KEY_UP, "Up"},          {KEY_DOWN, "Down"},
        {KEY_LEFT, "Left"}, {KEY_RIGHT, "Right"}, {KEY_PPAGE, "PgUp"},     {KEY_NPAGE, "PgDn"},
        {KEY_HOME, "Home"}, {KEY_END, "End"},     {KEY_BACKSPACE, "Bksp"},
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (names[i].key == key) {
            snprintf(buf, cap, "%s", names[i].name);
            return buf;
        }
    if (key > 0 && key < 32)
        snprintf(buf, cap, "^%c", key + '@');
    else if (key >= 32 && key < 127)
        snprintf(buf, cap, "%c", key);
    else
        snprintf(buf, cap, "#%d", key);
    return buf;
}
