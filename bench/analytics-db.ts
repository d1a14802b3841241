/** The database `bench:seed-analytics` fills and `bench:analytics` reads. */
export const BENCH_DB = process.env.BENCH_ANALYTICS_DB ?? 'ms_analytics_bench';
