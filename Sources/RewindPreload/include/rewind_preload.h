/* The in-tracee system call buffer: loaded with LD_PRELOAD into recorded programs by
   `rewind record`. It exports libc's names (read, write...) and nothing else of interest. */
#ifndef REWIND_PRELOAD_H
#define REWIND_PRELOAD_H
#endif
