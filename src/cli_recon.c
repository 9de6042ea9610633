/* cli_recon.c - placeholder while `tradeops recon` is being written. */
#include <stdio.h>

#include "cli.h"

int cli_recon(config *cfg, int argc, char **argv)
{
    (void)cfg;
    (void)argc;
    (void)argv;
    fprintf(stderr, "tradeops: recon is not built yet\n");
    return EXIT_FAIL;
}
