#define _GNU_SOURCE
#include "CDwarf.h"

#include <dwarf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct rewind_dw {
  Dwfl *dwfl;
  Dwfl_Callbacks callbacks;
  pid_t pid;
  int memory_fd;
  rewind_dw_locate_fn locate;
  rewind_dw_read_fn read;
  void *context;
  int attached;
  /* The registers of the thread being unwound (set just before dwfl_getthread_frames). */
  const uint64_t *registers;
  /* Pages read during one unwind: libdwfl reads the stack a word at a time, and a read
     is a system call. */
  struct {
    uint64_t address;
    int valid;
    unsigned char bytes[4096];
  } pages[8];
  int next_page;
};

static int read_memory(rewind_dw *dw, uint64_t address, void *buffer, size_t length) {
  if (dw->read) return dw->read(dw->context, address, buffer, length);
  if (dw->memory_fd < 0) {
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/mem", dw->pid);
    dw->memory_fd = open(path, O_RDONLY | O_CLOEXEC);
    if (dw->memory_fd < 0) return -1;
  }
  return pread(dw->memory_fd, buffer, length, (off_t)address) == (ssize_t)length ? 0 : -1;
}

/* The symbolizer a libdwfl callback works for: callbacks get no context of ours, and libdwfl
   calls them lazily from within the functions below, which set it. */
static __thread rewind_dw *current;

/* libdwfl finds a module's file: through `locate` when given (a recording keeps copies
   under other names), else as for a live process. */
static int find_elf(Dwfl_Module *module, void **userdata, const char *name, Dwarf_Addr base, char **file_name,
                    Elf **elf) {
  rewind_dw *dw = current;
  if (dw == NULL || dw->locate == NULL || name == NULL || name[0] != '/')
    return dwfl_linux_proc_find_elf(module, userdata, name, base, file_name, elf);
  char path[4096];
  if (dw->locate(dw->context, name, path, sizeof path) != 0) return -1;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  *file_name = strdup(path);
  *elf = NULL;
  return fd;
}

static int report(rewind_dw *dw, const char *maps) {
  dwfl_report_begin(dw->dwfl);
  int r;
  if (maps) {
    FILE *file = fmemopen((void *)maps, strlen(maps), "r");
    if (file == NULL) return -1;
    r = dwfl_linux_proc_maps_report(dw->dwfl, file);
    fclose(file);
  } else {
    r = dwfl_linux_proc_report(dw->dwfl, dw->pid);
  }
  if (dwfl_report_end(dw->dwfl, NULL, NULL) != 0) return -1;
  return r == 0 ? 0 : -1;
}

/* Unwinding runs from registers we already hold and reads memory our way: one thread at a
   time, the one `rewind_dw_backtrace` names. */
static pid_t next_thread(Dwfl *dwfl, void *arg, void **thread_arg) {
  (void)dwfl; (void)arg; (void)thread_arg;
  return 0;
}

static bool get_thread(Dwfl *dwfl, pid_t tid, void *arg, void **thread_arg) {
  (void)dwfl; (void)tid;
  *thread_arg = arg;
  return true;
}

static bool memory_read(Dwfl *dwfl, Dwarf_Addr address, Dwarf_Word *result, void *arg) {
  (void)dwfl;
  rewind_dw *dw = arg;
  uint64_t page = address & ~(uint64_t)4095;
  if ((address & 4095) <= 4096 - sizeof *result) {
    for (int i = 0; i < 8; i++) {
      if (dw->pages[i].valid && dw->pages[i].address == page) {
        memcpy(result, dw->pages[i].bytes + (address - page), sizeof *result);
        return true;
      }
    }
    int slot = dw->next_page;
    if (read_memory(dw, page, dw->pages[slot].bytes, 4096) == 0) {
      dw->pages[slot].address = page;
      dw->pages[slot].valid = 1;
      dw->next_page = (slot + 1) % 8;
      memcpy(result, dw->pages[slot].bytes + (address - page), sizeof *result);
      return true;
    }
  }
  return read_memory(dw, address, result, sizeof *result) == 0;
}

static bool set_initial_registers(Dwfl_Thread *thread, void *arg) {
  rewind_dw *dw = arg;
  const uint64_t *r = dw->registers;
  /* DWARF's x86-64 numbering (rax rdx rcx rbx rsi rdi rbp rsp r8-r15 rip) from
     user_regs_struct's order (r15 r14 r13 r12 rbp rbx r11 r10 r9 r8 rax rcx rdx rsi rdi
     orig_rax rip cs eflags rsp). */
  Dwarf_Word dwarf[17] = {r[10], r[12], r[11], r[5], r[13], r[14], r[4], r[19], r[9],
                          r[8],  r[7],  r[6],  r[3], r[2],  r[1],  r[0], r[16]};
  return dwfl_thread_state_registers(thread, 0, 17, dwarf);
}

static const Dwfl_Thread_Callbacks thread_callbacks = {
    .next_thread = next_thread,
    .get_thread = get_thread,
    .memory_read = memory_read,
    .set_initial_registers = set_initial_registers,
};

rewind_dw *rewind_dw_open(pid_t pid, const char *maps, rewind_dw_locate_fn locate, rewind_dw_read_fn read,
                          void *context, char *error, size_t error_capacity) {
  rewind_dw *dw = calloc(1, sizeof *dw);
  if (dw == NULL) return NULL;
  static char *debuginfo_path = NULL;
  dw->callbacks.find_elf = find_elf;
  dw->callbacks.find_debuginfo = dwfl_standard_find_debuginfo;
  dw->callbacks.debuginfo_path = &debuginfo_path;
  dw->pid = pid;
  dw->memory_fd = -1;
  dw->locate = locate;
  dw->read = read;
  dw->context = context;
  current = dw;
  dw->dwfl = dwfl_begin(&dw->callbacks);
  if (dw->dwfl == NULL || report(dw, maps) != 0) {
    snprintf(error, error_capacity, "%s", dwfl_errmsg(-1) ? dwfl_errmsg(-1) : "cannot read the process's modules");
    rewind_dw_close(dw);
    return NULL;
  }
  return dw;
}

void rewind_dw_close(rewind_dw *dw) {
  if (dw == NULL) return;
  if (dw->dwfl) dwfl_end(dw->dwfl);
  if (dw->memory_fd >= 0) close(dw->memory_fd);
  if (current == dw) current = NULL;
  free(dw);
}

int rewind_dw_refresh(rewind_dw *dw, const char *maps) {
  current = dw;
  return report(dw, maps);
}

struct symbol_search {
  const char *name;
  uint64_t address, size;
  int kind, found;
};

static int search_module(Dwfl_Module *module, void **userdata, const char *name, Dwarf_Addr start, void *arg) {
  (void)userdata; (void)name; (void)start;
  struct symbol_search *search = arg;
  int count = dwfl_module_getsymtab(module);
  for (int i = 1; i < count; i++) {
    GElf_Sym symbol;
    GElf_Addr address;
    const char *symbol_name = dwfl_module_getsym_info(module, i, &symbol, &address, NULL, NULL, NULL);
    if (symbol_name == NULL || strcmp(symbol_name, search->name) != 0 || symbol.st_shndx == SHN_UNDEF) continue;
    int type = GELF_ST_TYPE(symbol.st_info);
    int kind = type == STT_FUNC || type == STT_GNU_IFUNC ? 0 : type == STT_TLS ? 2 : 1;
    /* Prefer data (a function of the same name elsewhere does not hide it). */
    if (search->found && (search->kind == 1 || kind != 1)) continue;
    search->address = address;
    search->size = symbol.st_size;
    search->kind = kind;
    search->found = 1;
  }
  return DWARF_CB_OK;
}

int rewind_dw_symbol(rewind_dw *dw, const char *name, uint64_t *address, uint64_t *size, int *kind) {
  current = dw;
  struct symbol_search search = {.name = name};
  dwfl_getmodules(dw->dwfl, search_module, &search, 0);
  if (!search.found) return -1;
  *address = search.address;
  *size = search.size;
  *kind = search.kind;
  return 0;
}

/* ---- C expressions over DWARF ---- */

static const char *die_name(Dwarf_Die *die) {
  Dwarf_Attribute attribute;
  if (dwarf_attr_integrate(die, DW_AT_name, &attribute) == NULL) return NULL;
  return dwarf_formstring(&attribute);
}

static int die_type(Dwarf_Die *die, Dwarf_Die *type) {
  Dwarf_Attribute attribute;
  if (dwarf_attr_integrate(die, DW_AT_type, &attribute) == NULL) return -1;
  if (dwarf_formref_die(&attribute, type) == NULL) return -1;
  return dwarf_peel_type(type, type);
}

struct variable_search {
  const char *name;
  Dwarf_Die die;
  Dwarf_Addr bias;
  uint64_t address;
  int found;
};

/* A variable with a fixed address (DW_OP_addr): globals, and statics at file or function
   scope. */
static int variable_address(Dwarf_Die *die, Dwarf_Addr bias, uint64_t *address) {
  Dwarf_Attribute attribute;
  if (dwarf_attr(die, DW_AT_location, &attribute) == NULL) return -1;
  Dwarf_Op *expression;
  size_t length;
  if (dwarf_getlocation(&attribute, &expression, &length) != 0 || length != 1 || expression[0].atom != DW_OP_addr)
    return -1;
  *address = expression[0].number + bias;
  return 0;
}

static void search_scope(Dwarf_Die *scope, Dwarf_Addr bias, struct variable_search *search, int depth) {
  Dwarf_Die child;
  if (dwarf_child(scope, &child) != 0) return;
  do {
    int tag = dwarf_tag(&child);
    if (tag == DW_TAG_variable) {
      const char *name = die_name(&child);
      uint64_t address;
      if (name && strcmp(name, search->name) == 0 && variable_address(&child, bias, &address) == 0) {
        search->die = child;
        search->address = address;
        search->bias = bias;
        search->found = 1;
        return;
      }
    } else if (depth < 3 && (tag == DW_TAG_subprogram || tag == DW_TAG_lexical_block || tag == DW_TAG_namespace)) {
      search_scope(&child, bias, search, depth + 1);
      if (search->found) return;
    }
  } while (dwarf_siblingof(&child, &child) == 0);
}

static int search_variables(Dwfl_Module *module, void **userdata, const char *name, Dwarf_Addr start, void *arg) {
  (void)userdata; (void)name; (void)start;
  struct variable_search *search = arg;
  Dwarf_Addr bias;
  Dwarf *dwarf = dwfl_module_getdwarf(module, &bias);
  if (dwarf == NULL) return DWARF_CB_OK;
  Dwarf_Off offset = 0, next;
  size_t header_size;
  while (dwarf_nextcu(dwarf, offset, &next, &header_size, NULL, NULL, NULL) == 0) {
    Dwarf_Die unit;
    if (dwarf_offdie(dwarf, offset + header_size, &unit) != NULL) {
      search_scope(&unit, bias, search, 0);
      if (search->found) return DWARF_CB_ABORT;
    }
    offset = next;
  }
  return DWARF_CB_OK;
}

static int find_member(Dwarf_Die *aggregate, const char *name, Dwarf_Die *member, uint64_t *offset) {
  Dwarf_Die child;
  if (dwarf_child(aggregate, &child) != 0) return -1;
  do {
    if (dwarf_tag(&child) != DW_TAG_member) continue;
    Dwarf_Word here = 0;
    Dwarf_Attribute attribute;
    if (dwarf_attr_integrate(&child, DW_AT_data_member_location, &attribute)) dwarf_formudata(&attribute, &here);
    const char *child_name = die_name(&child);
    if (child_name && strcmp(child_name, name) == 0) {
      *member = child;
      *offset = here;
      return 0;
    }
    if (child_name == NULL) { /* an anonymous struct or union: its members are ours */
      Dwarf_Die inner;
      uint64_t inner_offset;
      if (die_type(&child, &inner) == 0 && find_member(&inner, name, member, &inner_offset) == 0) {
        *offset = here + inner_offset;
        return 0;
      }
    }
  } while (dwarf_siblingof(&child, &child) == 0);
  return -1;
}

#define FAIL(...) do { snprintf(error, error_capacity, __VA_ARGS__); return -1; } while (0)

int rewind_dw_expression(rewind_dw *dw, const char *expression, uint64_t *address_out, uint64_t *size_out,
                         char *error, size_t error_capacity) {
  current = dw;
  const char *p = expression;
  while (*p == ' ') p++;
  int dereference = 0;
  if (*p == '*') { dereference = 1; p++; while (*p == ' ') p++; }
  char name[256];
  size_t n = 0;
  while ((*p == '_' || (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (n > 0 && *p >= '0' && *p <= '9')) &&
         n + 1 < sizeof name)
    name[n++] = *p++;
  name[n] = 0;
  if (n == 0) FAIL("'%s' does not start with a variable's name", expression);
  struct variable_search search = {.name = name};
  dwfl_getmodules(dw->dwfl, search_variables, &search, 0);
  if (!search.found)
    FAIL("no global or static variable '%s' in the debugging information (is the program built with -g?)", name);
  uint64_t address = search.address;
  Dwarf_Die type;
  if (die_type(&search.die, &type) != 0) FAIL("'%s' has no type in the debugging information", name);
  while (*p) {
    while (*p == ' ') p++;
    if (*p == 0) break;
    int arrow = p[0] == '-' && p[1] == '>';
    if (*p == '.' || arrow) {
      p += arrow ? 2 : 1;
      while (*p == ' ') p++;
      n = 0;
      while ((*p == '_' || (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9')) &&
             n + 1 < sizeof name)
        name[n++] = *p++;
      name[n] = 0;
      if (n == 0) FAIL("a member name must follow '%s' in '%s'", arrow ? "->" : ".", expression);
      if (arrow) {
        if (dwarf_tag(&type) != DW_TAG_pointer_type) FAIL("'->%s': the left side is not a pointer", name);
        uint64_t pointer;
        if (read_memory(dw, address, &pointer, 8) != 0) FAIL("cannot read the pointer before '->%s'", name);
        if (pointer == 0) FAIL("the pointer before '->%s' is NULL", name);
        address = pointer;
        if (die_type(&type, &type) != 0) FAIL("'->%s': the pointer's target type is unknown", name);
      }
      int tag = dwarf_tag(&type);
      if (tag != DW_TAG_structure_type && tag != DW_TAG_union_type && tag != DW_TAG_class_type)
        FAIL("'%s%s': the left side is not a struct or union", arrow ? "->" : ".", name);
      Dwarf_Die member;
      uint64_t offset;
      if (find_member(&type, name, &member, &offset) != 0) FAIL("no member '%s' there", name);
      Dwarf_Attribute bits;
      if (dwarf_attr_integrate(&member, DW_AT_bit_size, &bits)) FAIL("'%s' is a bit-field: watch the struct around it", name);
      address += offset;
      if (die_type(&member, &type) != 0) FAIL("member '%s' has no type", name);
    } else if (*p == '[') {
      char *end;
      long long index = strtoll(p + 1, &end, 0);
      if (end == p + 1 || *end != ']') FAIL("'[' must be followed by a number and ']' in '%s'", expression);
      p = end + 1;
      int tag = dwarf_tag(&type);
      if (tag == DW_TAG_pointer_type) {
        uint64_t pointer;
        if (read_memory(dw, address, &pointer, 8) != 0 || pointer == 0) FAIL("the pointer before '[%lld]' is NULL or unreadable", index);
        address = pointer;
      } else if (tag != DW_TAG_array_type) {
        FAIL("'[%lld]': the left side is not an array or pointer", index);
      }
      if (die_type(&type, &type) != 0) FAIL("'[%lld]': the element type is unknown", index);
      Dwarf_Word element;
      if (dwarf_aggregate_size(&type, &element) != 0) FAIL("'[%lld]': the element size is unknown", index);
      address += (uint64_t)index * element;
    } else {
      FAIL("cannot read '%s' in '%s' (NAME, .MEMBER, ->MEMBER, [INDEX] and a leading * are understood)", p, expression);
    }
  }
  if (dereference) {
    if (dwarf_tag(&type) != DW_TAG_pointer_type) FAIL("'*': '%s' is not a pointer", expression + 1);
    uint64_t pointer;
    if (read_memory(dw, address, &pointer, 8) != 0 || pointer == 0) FAIL("the pointer '*' follows is NULL or unreadable");
    address = pointer;
    if (die_type(&type, &type) != 0) FAIL("the pointer's target type is unknown");
  }
  Dwarf_Word size;
  if (dwarf_aggregate_size(&type, &size) != 0) FAIL("the size of '%s' is unknown", expression);
  *address_out = address;
  *size_out = size;
  return 0;
}

int rewind_dw_symbol_at(rewind_dw *dw, uint64_t address, char *name, size_t capacity, uint64_t *offset) {
  current = dw;
  Dwfl_Module *module = dwfl_addrmodule(dw->dwfl, address);
  if (module == NULL) return -1;
  GElf_Off into;
  GElf_Sym symbol;
  const char *found = dwfl_module_addrinfo(module, address, &into, &symbol, NULL, NULL, NULL);
  if (found == NULL || (symbol.st_size > 0 && into >= symbol.st_size)) return -1;
  snprintf(name, capacity, "%s", found);
  *offset = into;
  return 0;
}

uint64_t rewind_dw_function_start(rewind_dw *dw, uint64_t pc) {
  current = dw;
  Dwfl_Module *module = dwfl_addrmodule(dw->dwfl, pc);
  if (module == NULL) return 0;
  GElf_Off offset;
  GElf_Sym symbol;
  if (dwfl_module_addrinfo(module, pc, &offset, &symbol, NULL, NULL, NULL) == NULL) return 0;
  return pc - offset;
}

/* ---- Backtraces ---- */

struct frames {
  uint64_t *pcs;
  int capacity, count;
};

static int take_frame(Dwfl_Frame *frame, void *arg) {
  struct frames *frames = arg;
  Dwarf_Addr pc;
  if (!dwfl_frame_pc(frame, &pc, NULL)) return DWARF_CB_ABORT;
  frames->pcs[frames->count++] = pc;
  return frames->count < frames->capacity ? DWARF_CB_OK : DWARF_CB_ABORT;
}

int rewind_dw_backtrace(rewind_dw *dw, pid_t tid, const uint64_t *registers, uint64_t *pcs, int capacity) {
  current = dw;
  if (capacity <= 0) return 0;
  if (!dw->attached) {
    if (!dwfl_attach_state(dw->dwfl, NULL, dw->pid, &thread_callbacks, dw)) {
      pcs[0] = registers[16];
      return 1;
    }
    dw->attached = 1;
  }
  dw->registers = registers;
  for (int i = 0; i < 8; i++) dw->pages[i].valid = 0; /* the stack has changed since */
  struct frames frames = {.pcs = pcs, .capacity = capacity};
  dwfl_getthread_frames(dw->dwfl, tid, take_frame, &frames);
  if (frames.count == 0) pcs[frames.count++] = registers[16];
  return frames.count;
}

static size_t append(char *text, size_t capacity, size_t used, const char *function, const char *file, int line,
                     int inlined, const char *module) {
  if (used >= capacity) return used;
  int n = snprintf(text + used, capacity - used, "%s\t%s\t%d\t%d\t%s\n", function ? function : "", file ? file : "",
                   line, inlined, module ? module : "");
  if (n < 0) return used;
  return used + (size_t)n >= capacity ? capacity - 1 : used + (size_t)n;
}

size_t rewind_dw_describe(rewind_dw *dw, uint64_t pc, int is_return, char *text, size_t capacity) {
  current = dw;
  if (capacity == 0) return 0;
  text[0] = 0;
  /* A return address is the instruction after the call; the call is one byte back. */
  Dwarf_Addr lookup = is_return && pc > 0 ? pc - 1 : pc;
  Dwfl_Module *module = dwfl_addrmodule(dw->dwfl, lookup);
  if (module == NULL) return append(text, capacity, 0, NULL, NULL, 0, 0, NULL);
  const char *module_name = dwfl_module_info(module, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
  const char *symbol = dwfl_module_addrname(module, lookup);
  const char *file = NULL;
  int line = 0;
  Dwfl_Line *source = dwfl_module_getsrc(module, lookup);
  if (source) file = dwfl_lineinfo(source, NULL, &line, NULL, NULL, NULL);
  size_t used = 0;
  Dwarf_Addr bias;
  Dwarf_Die *unit = dwfl_module_addrdie(module, lookup, &bias);
  Dwarf_Die *scopes = NULL;
  int count = unit ? dwarf_getscopes(unit, lookup - bias, &scopes) : 0;
  if (count > 0) {
    Dwarf_Files *files = NULL;
    size_t file_count = 0;
    dwarf_getsrcfiles(unit, &files, &file_count);
    /* Innermost scope outwards: each inlined subroutine is a frame of its own, located where
       the next one in was called from. Past an inlined subroutine, dwarf_getscopes goes on
       through its abstract origin's scopes; the concrete ones (the function it was inlined
       into) come from dwarf_getscopes_die on the instance itself. */
    const char *here_file = file;
    int here_line = line;
    int emitted = 0;
    for (int i = 0; i < count; i++) {
      int tag = dwarf_tag(&scopes[i]);
      if (tag != DW_TAG_inlined_subroutine && tag != DW_TAG_subprogram) continue;
      const char *name = die_name(&scopes[i]);
      if (tag == DW_TAG_subprogram && name == NULL) name = symbol;
      used = append(text, capacity, used, name, here_file, here_line, tag == DW_TAG_inlined_subroutine, module_name);
      emitted = 1;
      if (tag == DW_TAG_subprogram) break;
      Dwarf_Attribute attribute;
      Dwarf_Word value = 0;
      here_file = NULL;
      here_line = 0;
      if (dwarf_attr(&scopes[i], DW_AT_call_file, &attribute) && dwarf_formudata(&attribute, &value) == 0 && files)
        here_file = dwarf_filesrc(files, value, NULL, NULL);
      if (dwarf_attr(&scopes[i], DW_AT_call_line, &attribute) && dwarf_formudata(&attribute, &value) == 0)
        here_line = (int)value;
      Dwarf_Die *outer = NULL;
      int outer_count = dwarf_getscopes_die(&scopes[i], &outer);
      if (outer_count <= 0) break;
      free(scopes);
      scopes = outer;
      count = outer_count;
      i = 0; /* outer[0] is this instance; the loop goes on from outer[1] */
    }
    free(scopes);
    if (emitted) return used;
  }
  return append(text, capacity, used, symbol, file, line, 0, module_name);
}
