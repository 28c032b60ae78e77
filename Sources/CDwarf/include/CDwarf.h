/* What rewind's symbolizer needs from elfutils (libdw/libdwfl, Debian libdw-dev): the modules
   of one process, symbols, source lines with inlined frames, C expressions over global data
   resolved through DWARF, and unwinding from registers rewind already holds. The callbacks
   libdwfl wants live here, in C; Swift sees plain functions. */
#ifndef REWIND_CDWARF_H
#define REWIND_CDWARF_H
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

typedef struct rewind_dw rewind_dw;

/* Reads `length` bytes of the process's memory at `address`; returns 0 when all were read. */
typedef int (*rewind_dw_read_fn)(void *context, uint64_t address, void *buffer, size_t length);
/* The file on this machine that holds module `name` (a path in the process's maps), written
   NUL-terminated into `path` (at most `capacity` bytes); 0 when there is one. */
typedef int (*rewind_dw_locate_fn)(void *context, const char *name, char *path, size_t capacity);

/* A symbolizer for process `pid`. `maps` is the text of its /proc/PID/maps (NULL: read it
   from /proc). `locate` (NULL: the names as they are, under /proc/PID/root) finds the files,
   `read` (NULL: /proc/PID/mem) its memory. NULL when libdwfl cannot start; `error` says why. */
rewind_dw *rewind_dw_open(pid_t pid, const char *maps, rewind_dw_locate_fn locate, rewind_dw_read_fn read,
                          void *context, char *error, size_t error_capacity);
void rewind_dw_close(rewind_dw *dw);
/* Reports the modules again (after dlopen, say), from `maps` or /proc. 0 on success. */
int rewind_dw_refresh(rewind_dw *dw, const char *maps);

/* Symbol `name` of any module: its address and size, and whether it is data (object or
   common, 1), a function (0) or thread-local (2). 0 when found, -1 when not. */
int rewind_dw_symbol(rewind_dw *dw, const char *name, uint64_t *address, uint64_t *size, int *kind);

/* A C expression over global or static data: NAME, then any of .MEMBER, ->MEMBER, [INDEX],
   with an optional leading '*'. Its address and size; 0 on success, else -1 with `error`. */
int rewind_dw_expression(rewind_dw *dw, const char *expression, uint64_t *address, uint64_t *size, char *error,
                         size_t error_capacity);

/* The symbol holding address `address` (data or code) into `name`, and how far into it;
   0 when there is one. */
int rewind_dw_symbol_at(rewind_dw *dw, uint64_t address, char *name, size_t capacity, uint64_t *offset);

/* Where the function (symbol) holding code address `pc` starts; 0 when unknown. */
uint64_t rewind_dw_function_start(rewind_dw *dw, uint64_t pc);

/* The return addresses (and first pc) of thread `tid` from its 27 user_regs_struct words,
   at most `capacity`; how many. `pcs[0]` is the pc itself. */
int rewind_dw_backtrace(rewind_dw *dw, pid_t tid, const uint64_t *registers, uint64_t *pcs, int capacity);

/* Describes code address `pc` (`is_return` when it is a return address: the call before it
   is looked up) as lines "function\tfile\tline\tinlined\tmodule\n", innermost first: a
   function inlined at pc comes before the one it was inlined into. Unknown parts are empty.
   Returns the length written into `text` (NUL-terminated, cut to `capacity`). */
size_t rewind_dw_describe(rewind_dw *dw, uint64_t pc, int is_return, char *text, size_t capacity);

#endif
