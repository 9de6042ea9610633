/* cli_trades.c - placeholder while `tradeops trades` is being written. */
#include <stdio.h>

#include "cli.h"

int cli_trades(config *cfg, int argc, char **argv)
{
    (void)cfg;
    (void)argc;
    (void)argv;
    fprintf(stderr, "tradeops: trades is not built yet\n");
    return EXIT_FAIL;
}
