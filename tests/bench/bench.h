/* bench.h - the parts of `make bench`; each prints its figures beside a
 * reference measured in the same run, and returns 0 or -1. */
#ifndef TRADEOPS_BENCH_H
#define TRADEOPS_BENCH_H

int bench_poll(void);
int bench_screen(void);
int bench_recon(void);
int bench_close(void);
int bench_guard(void);
int bench_sync(void); /* bench_sync.c: queue throughput and close-to-synced latency */
int bench_report(void); /* bench_report.c: the offline report over 1,000,000 trades */
int bench_metrics_store(void); /* bench_metrics_store.c: one trade's update on 100,000 */
int bench_share(void); /* bench_share.c: a reading console's cycle beside the poller's */

#endif
