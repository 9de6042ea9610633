/*
 * test_ui_action.c - the action table: dispatch, read-only mode, screen
 * scope, hint line fitting, help listing; and the console's real table.
 */
#include <criterion/criterion.h>
#include <curses.h>
#include <string.h>

#include "action.h"
#include "console_int.h"

typedef struct calls {
    int last;
    int count;
} calls;

static unsigned record(void *ctx, const action *a, int key)
{
    calls *c = ctx;
    c->last = a->verb * 1000 + key;
    c->count++;
    return REACT_REDRAW;
}

static unsigned decline(void *ctx, const action *a, int key)
{
    (void)ctx;
    (void)a;
    (void)key;
    return REACT_PASS;
}

enum { V_DOWN = 0, V_KILL = 1, V_PANE = 2 };

static const action table[] = {
    {"q", {'q'}, "quit", "Leave", false, true, ACTION_GLOBAL, 7, record},
    {"x", {'x'}, "kill", "Close everything", true, true, ACTION_SCREEN, V_KILL, record},
    {"j/Down", {'j', KEY_DOWN}, "down", "Down one row", false, true, ACTION_SCREEN, V_DOWN, record},
    {"Tab", {'\t'}, "pane", "Next pane", false, true, ACTION_SCREEN, V_PANE, decline},
    {"Tab", {'\t'}, "next", "Next screen", false, false, ACTION_GLOBAL, 9, record},
    {"D", {'D'}, "delete", "Delete for good", true, true, ACTION_GLOBAL, 8, record},
};
static const size_t n = sizeof table / sizeof table[0];
#define ALL_VERBS ((1ul << V_DOWN) | (1ul << V_KILL) | (1ul << V_PANE))

Test(ui_action, dispatch_runs_the_bound_handler)
{
    action_filter f = {.readonly = false, .screen_verbs = ALL_VERBS};
    calls c = {0};
    cr_expect_eq(actions_dispatch(table, n, KEY_DOWN, &f, &c), REACT_REDRAW);
    cr_expect_eq(c.last, V_DOWN * 1000 + KEY_DOWN);
    cr_expect_eq(actions_dispatch(table, n, 'z', &f, &c), REACT_UNBOUND);
    cr_expect_eq(c.count, 1);
}

Test(ui_action, pass_falls_through_to_the_next_binding)
{
    action_filter f = {.screen_verbs = ALL_VERBS};
    calls c = {0};
    cr_expect_eq(actions_dispatch(table, n, '\t', &f, &c), REACT_REDRAW);
    cr_expect_eq(c.last, 9 * 1000 + '\t');
}

Test(ui_action, readonly_removes_dangerous_from_keys_hints_and_help)
{
    action_filter rw = {.readonly = false, .screen_verbs = ALL_VERBS};
    action_filter ro = {.readonly = true, .screen_verbs = ALL_VERBS};
    calls c = {0};
    cr_expect_not_null(actions_find(table, n, 'x', &rw));
    cr_expect_null(actions_find(table, n, 'x', &ro));
    cr_expect_eq(actions_dispatch(table, n, 'D', &ro, &c), REACT_UNBOUND);
    cr_expect_eq(c.count, 0);

    char buf[256];
    actions_hint(table, n, &rw, 200, buf, sizeof buf, NULL, 0);
    cr_expect(strstr(buf, "x kill") != NULL, "hint: %s", buf);
    actions_hint(table, n, &ro, 200, buf, sizeof buf, NULL, 0);
    cr_expect(strstr(buf, "kill") == NULL && strstr(buf, "delete") == NULL, "hint: %s", buf);
    cr_expect(strstr(buf, "q quit") != NULL);

    size_t idx[16];
    size_t k_rw = actions_help_list(table, n, &rw, idx, 16);
    size_t k_ro = actions_help_list(table, n, &ro, idx, 16);
    cr_expect_eq(k_rw, n);
    cr_expect_eq(k_ro, n - 2);
    for (size_t i = 0; i < k_ro; i++)
        cr_expect_not(table[idx[i]].dangerous);
}

Test(ui_action, screen_actions_need_the_screen_to_support_their_verb)
{
    action_filter none = {.screen_verbs = 0};
    action_filter down = {.screen_verbs = 1ul << V_DOWN};
    cr_expect_null(actions_find(table, n, 'j', &none));
    cr_expect_not_null(actions_find(table, n, 'j', &down));
    cr_expect_null(actions_find(table, n, 'x', &down));
    cr_expect_not_null(actions_find(table, n, 'q', &none));
}

Test(ui_action, hint_line_is_trimmed_to_whole_items)
{
    action_filter f = {.screen_verbs = ALL_VERBS};
    char buf[256];
    size_t idx[8];
    size_t k = actions_hint(table, n, &f, 200, buf, sizeof buf, idx, 8);
    cr_expect_str_eq(buf, "q quit  x kill  j/Down down  Tab pane  D delete");
    cr_expect_eq(k, 5);
    cr_expect_eq(idx[1], 1);
    /* "q quit  x kill" is 14 columns: at 14 both fit, at 13 only one. */
    k = actions_hint(table, n, &f, 14, buf, sizeof buf, NULL, 0);
    cr_expect_str_eq(buf, "q quit  x kill");
    cr_expect_eq(k, 2);
    k = actions_hint(table, n, &f, 13, buf, sizeof buf, NULL, 0);
    cr_expect_str_eq(buf, "q quit");
    k = actions_hint(table, n, &f, 3, buf, sizeof buf, NULL, 0);
    cr_expect_eq(k, 0);
    cr_expect_str_eq(buf, "");
    for (int w = 0; w < 60; w++) {
        actions_hint(table, n, &f, w, buf, sizeof buf, NULL, 0);
        cr_expect_leq((int)strlen(buf), w);
    }
}

Test(ui_action, key_names_are_readable)
{
    char b[16];
    cr_expect_str_eq(actions_key_name('\t', b, sizeof b), "Tab");
    cr_expect_str_eq(actions_key_name(12, b, sizeof b), "^L");
    cr_expect_str_eq(actions_key_name(KEY_NPAGE, b, sizeof b), "PgDn");
    cr_expect_str_eq(actions_key_name('q', b, sizeof b), "q");
}

/* The console's own table: every key the brief names is bound, each action
 * has a name and a help sentence, and the hint line fits 80 columns. */
Test(ui_action, console_table_binds_the_documented_keys)
{
    action_filter f = {.readonly = false, .screen_verbs = ~0ul};
    const int keys[] = {'1', '\t', KEY_BTAB, KEY_UP, KEY_DOWN, 'j', 'k', KEY_PPAGE, KEY_NPAGE, 'g',
                        'G', '/',  's',      'S',    '\r',     ' ', 'p', '?',       'q',       12};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        cr_expect_not_null(actions_find(console_actions, console_actions_count, keys[i], &f),
                           "key %d unbound", keys[i]);
    for (size_t i = 0; i < console_actions_count; i++) {
        cr_expect(console_actions[i].name && console_actions[i].name[0]);
        cr_expect(console_actions[i].help && strlen(console_actions[i].help) > 8);
        cr_expect_not_null(console_actions[i].fn);
    }
    char buf[256];
    f.screen_verbs = screens_table[0]->verbs; /* no overlay open */
    actions_hint(console_actions, console_actions_count, &f, 79, buf, sizeof buf, NULL, 0);
    cr_expect(strstr(buf, "? help") && strstr(buf, "q quit"), "hint: %s", buf);
}
