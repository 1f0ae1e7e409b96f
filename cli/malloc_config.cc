// jemalloc's configuration for the `capstan` binary, read by jemalloc when it starts (the
// MALLOC_CONF environment variable still overrides it). Linked only with jemalloc.
//
// Why jemalloc at all: the server's work is short-lived JSON trees and strings on a few threads;
// glibc malloc cost ~10% of a create and grew the heap under churn. Measured (bench/api.sh on
// 2 cores): +16% durable creates/s, +10% GETs/s, and less memory with 10,000 watchers.
//   narenas:2           one arena per core, not four per core: fewer half-empty arenas.
//   dirty_decay_ms:1000 freed pages go back to the kernel within about a second, so RSS follows
//   muzzy_decay_ms:0    the live set after a burst instead of holding its peak for 10 s.
//   background_thread   that purging runs on jemalloc's thread, not on a request's.
extern "C" {
// NOLINTNEXTLINE: the name and type are jemalloc's contract.
const char* malloc_conf = "narenas:2,dirty_decay_ms:1000,muzzy_decay_ms:0,background_thread:true";
}
