/*
 * spec_keys.h - the keys of metrics.md's table, in its order, copied from
 * the spec once for every test that checks them (the report's JSON, the
 * digest template's fields).
 */
#ifndef TRADEOPS_TH_SPEC_KEYS_H
#define TRADEOPS_TH_SPEC_KEYS_H

#define TH_N_SPEC_KEYS 41
extern const char *const TH_SPEC_KEYS[TH_N_SPEC_KEYS];

#endif
