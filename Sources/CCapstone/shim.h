/* What rewind's compare stub needs from Capstone (libcapstone-dev), flattened into one plain
   struct: Swift imports Capstone's nested unions and operand tuples awkwardly. */
#include <capstone/capstone.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* How an instruction may be moved to another address. */
enum {
  /* Runs the same anywhere once a RIP-relative operand (if any) is re-aimed. */
  REWIND_INSTRUCTION_PLAIN = 0,
  /* jmp rel8/rel32: re-encoded as jmp rel32 to the same target. */
  REWIND_INSTRUCTION_JUMP = 1,
  /* jcc rel8/rel32: re-encoded as jcc rel32; `condition` is its condition code. */
  REWIND_INSTRUCTION_CONDITIONAL_JUMP = 2,
  /* call rel32: emulated (push the original return address, jmp). */
  REWIND_INSTRUCTION_CALL = 3,
  /* ret, or an indirect jmp: position-independent, and nothing after it runs. */
  REWIND_INSTRUCTION_END = 4,
  /* loop/jrcxz (rel8 only), an indirect call, int/syscall, a 16-bit branch: not moved. */
  REWIND_INSTRUCTION_UNMOVABLE = 5,
  /* Capstone could not decode it. */
  REWIND_INSTRUCTION_INVALID = 6,
};

typedef struct {
  uint16_t size;
  int32_t kind;
  /* jcc: the condition code (low nibble of 0x70+cc or 0x0f 0x80+cc). */
  uint8_t condition;
  /* jmp/jcc/call: the absolute target. */
  uint64_t target;
  /* A RIP-relative memory operand: where its disp32 sits in the bytes, and the absolute
     address it refers to. */
  uint8_t has_rip_operand;
  uint8_t displacement_offset;
  uint64_t rip_target;
  /* A nop or int3: what compilers pad between functions with. */
  uint8_t is_padding;
  /* Reads or writes rcx (or ecx, cx, cl, ch), explicitly or implicitly; 1 when unknown. */
  uint8_t touches_rcx;
  /* The arithmetic flags it reads and those it sets (in any way, undefined included), as
     REWIND_FLAG_* bits; `flags_known` is 0 when Capstone says nothing of flags for an
     instruction not known to leave them alone (then assume it reads them all). */
  uint8_t flags_read;
  uint8_t flags_written;
  uint8_t flags_known;
  /* Of `flags_written`, those it sets to a defined value (not left undefined). */
  uint8_t flags_defined;
  /* The general registers it writes, explicitly or implicitly, one bit per x86 encoding
     (rax 0 ... r15 15, any width); all bits when unknown. */
  uint16_t registers_written;
  /* Adds a constant to a general register at 32 or 64 bits and writes nothing else but the
     flags (add/sub $imm, inc, dec, lea disp(r),r): `adds_constant` is 1, `added_register` its
     encoding, `added_width` 4 or 8 bytes, `added_constant` the constant (negative for a
     decrease). A loop's induction register, when it is the only write to it on the path. */
  uint8_t adds_constant;
  uint8_t added_register;
  uint8_t added_width;
  int64_t added_constant;
  /* Enters the kernel on purpose or traps under rewind (syscall, sysenter, int, int3, int1,
     into, ud2, hlt, and rdtsc/rdtscp, which recorded tasks trap): single-stepping it would
     run a call untraced or raise a signal. */
  uint8_t enters_kernel;
} rewind_instruction;

/* The x86 encoding (0-15) of the general register `reg` names at any width, or -1. */
static inline int rewind_general_register(uint16_t reg) {
  switch (reg) {
  case X86_REG_RAX: case X86_REG_EAX: case X86_REG_AX: case X86_REG_AL: case X86_REG_AH: return 0;
  case X86_REG_RCX: case X86_REG_ECX: case X86_REG_CX: case X86_REG_CL: case X86_REG_CH: return 1;
  case X86_REG_RDX: case X86_REG_EDX: case X86_REG_DX: case X86_REG_DL: case X86_REG_DH: return 2;
  case X86_REG_RBX: case X86_REG_EBX: case X86_REG_BX: case X86_REG_BL: case X86_REG_BH: return 3;
  case X86_REG_RSP: case X86_REG_ESP: case X86_REG_SP: case X86_REG_SPL: return 4;
  case X86_REG_RBP: case X86_REG_EBP: case X86_REG_BP: case X86_REG_BPL: return 5;
  case X86_REG_RSI: case X86_REG_ESI: case X86_REG_SI: case X86_REG_SIL: return 6;
  case X86_REG_RDI: case X86_REG_EDI: case X86_REG_DI: case X86_REG_DIL: return 7;
  case X86_REG_R8: case X86_REG_R8D: case X86_REG_R8W: case X86_REG_R8B: return 8;
  case X86_REG_R9: case X86_REG_R9D: case X86_REG_R9W: case X86_REG_R9B: return 9;
  case X86_REG_R10: case X86_REG_R10D: case X86_REG_R10W: case X86_REG_R10B: return 10;
  case X86_REG_R11: case X86_REG_R11D: case X86_REG_R11W: case X86_REG_R11B: return 11;
  case X86_REG_R12: case X86_REG_R12D: case X86_REG_R12W: case X86_REG_R12B: return 12;
  case X86_REG_R13: case X86_REG_R13D: case X86_REG_R13W: case X86_REG_R13B: return 13;
  case X86_REG_R14: case X86_REG_R14D: case X86_REG_R14W: case X86_REG_R14B: return 14;
  case X86_REG_R15: case X86_REG_R15D: case X86_REG_R15W: case X86_REG_R15B: return 15;
  default: return -1;
  }
}

enum {
  REWIND_FLAG_CF = 1, REWIND_FLAG_PF = 2, REWIND_FLAG_AF = 4,
  REWIND_FLAG_ZF = 8, REWIND_FLAG_SF = 16, REWIND_FLAG_OF = 32,
  REWIND_FLAGS_ALL = 63,
};

/* Capstone's eflags bits for one flag, folded into a REWIND_FLAG_* bit. */
static inline uint8_t rewind_fold_flags(uint64_t eflags, uint64_t cf, uint64_t pf, uint64_t af, uint64_t zf,
                                        uint64_t sf, uint64_t of) {
  return (uint8_t)(((eflags & cf) ? REWIND_FLAG_CF : 0) | ((eflags & pf) ? REWIND_FLAG_PF : 0) |
                   ((eflags & af) ? REWIND_FLAG_AF : 0) | ((eflags & zf) ? REWIND_FLAG_ZF : 0) |
                   ((eflags & sf) ? REWIND_FLAG_SF : 0) | ((eflags & of) ? REWIND_FLAG_OF : 0));
}

/* Fills the `adds_constant` fields of `out` for `id` with `x86`'s operands. */
static inline void rewind_find_added_constant(unsigned int id, const cs_x86 *x86, rewind_instruction *out) {
  if (x86->op_count < 1 || x86->operands[0].type != X86_OP_REG) return;
  const cs_x86_op *destination = &x86->operands[0];
  if (destination->size != 4 && destination->size != 8) return;
  int encoding = rewind_general_register(destination->reg);
  if (encoding < 0) return;
  int64_t constant = 0;
  switch (id) {
  case X86_INS_INC: if (x86->op_count != 1) return; constant = 1; break;
  case X86_INS_DEC: if (x86->op_count != 1) return; constant = -1; break;
  case X86_INS_ADD: case X86_INS_SUB:
    if (x86->op_count != 2 || x86->operands[1].type != X86_OP_IMM) return;
    constant = id == X86_INS_ADD ? x86->operands[1].imm : -x86->operands[1].imm;
    break;
  case X86_INS_LEA: {
    if (x86->op_count != 2 || x86->operands[1].type != X86_OP_MEM) return;
    const x86_op_mem *m = &x86->operands[1].mem;
    if (m->index != X86_REG_INVALID || m->segment != X86_REG_INVALID || rewind_general_register(m->base) != encoding) return;
    /* A 32-bit result depends only on the base's low 32 bits, a 64-bit one on all 64. */
    if (destination->size == 8 && m->base != destination->reg) return;
    constant = m->disp;
    break;
  }
  default: return;
  }
  if (destination->size == 4) constant = (int64_t)(int32_t)constant;
  if (constant == 0) return;
  out->adds_constant = 1;
  out->added_register = (uint8_t)encoding;
  out->added_width = destination->size;
  out->added_constant = constant;
}

/* Decodes the instruction at the start of `code` (which sits at `address`). Returns 0 when
   Capstone cannot open or decode; `out->kind` says so too. */
static inline int rewind_decode_instruction(const uint8_t *code, size_t size, uint64_t address,
                                            rewind_instruction *out) {
  static __thread csh handle;
  static __thread int opened;
  memset(out, 0, sizeof *out);
  out->kind = REWIND_INSTRUCTION_INVALID;
  if (!opened) {
    if (cs_open(CS_ARCH_X86, CS_MODE_64, &handle) != CS_ERR_OK) return 0;
    cs_option(handle, CS_OPT_DETAIL, CS_OPT_ON);
    opened = 1;
  }
  cs_insn *insn = NULL;
  if (cs_disasm(handle, code, size, address, 1, &insn) != 1) return 0;
  out->size = insn->size;
  out->kind = REWIND_INSTRUCTION_PLAIN;
  out->is_padding = insn->id == X86_INS_NOP || insn->id == X86_INS_INT3;
  switch (insn->id) {
  case X86_INS_SYSCALL: case X86_INS_SYSENTER: case X86_INS_INT: case X86_INS_INT3: case X86_INS_INT1:
  case X86_INS_INTO: case X86_INS_UD2: case X86_INS_HLT: case X86_INS_RDTSC: case X86_INS_RDTSCP:
    out->enters_kernel = 1;
    break;
  default:
    break;
  }
  uint64_t eflags = insn->detail->x86.eflags;
  out->flags_read = rewind_fold_flags(
      eflags, X86_EFLAGS_TEST_CF | X86_EFLAGS_PRIOR_CF, X86_EFLAGS_TEST_PF | X86_EFLAGS_PRIOR_PF,
      X86_EFLAGS_TEST_AF | X86_EFLAGS_PRIOR_AF, X86_EFLAGS_TEST_ZF | X86_EFLAGS_PRIOR_ZF,
      X86_EFLAGS_TEST_SF | X86_EFLAGS_PRIOR_SF, X86_EFLAGS_TEST_OF | X86_EFLAGS_PRIOR_OF);
  out->flags_defined = rewind_fold_flags(
      eflags, X86_EFLAGS_MODIFY_CF | X86_EFLAGS_RESET_CF | X86_EFLAGS_SET_CF,
      X86_EFLAGS_MODIFY_PF | X86_EFLAGS_RESET_PF | X86_EFLAGS_SET_PF,
      X86_EFLAGS_MODIFY_AF | X86_EFLAGS_RESET_AF | X86_EFLAGS_SET_AF,
      X86_EFLAGS_MODIFY_ZF | X86_EFLAGS_RESET_ZF | X86_EFLAGS_SET_ZF,
      X86_EFLAGS_MODIFY_SF | X86_EFLAGS_RESET_SF | X86_EFLAGS_SET_SF,
      X86_EFLAGS_MODIFY_OF | X86_EFLAGS_RESET_OF | X86_EFLAGS_SET_OF);
  out->flags_written = out->flags_defined |
                       rewind_fold_flags(eflags, X86_EFLAGS_UNDEFINED_CF, X86_EFLAGS_UNDEFINED_PF, X86_EFLAGS_UNDEFINED_AF,
                                         X86_EFLAGS_UNDEFINED_ZF, X86_EFLAGS_UNDEFINED_SF, X86_EFLAGS_UNDEFINED_OF);
  /* Capstone 4 leaves eflags empty for some instructions that do use flags (cmovcc,
     setcc, pushf...); only plain moves, lea, nop and vector instructions are taken at their
     word. No SSE or AVX instruction reads the flags; the few that set them (ptest,
     comiss...) only make the flags look live longer when Capstone does not say so. */
  int leaves_flags = insn->id == X86_INS_MOV || insn->id == X86_INS_MOVABS || insn->id == X86_INS_MOVZX ||
                     insn->id == X86_INS_MOVSX || insn->id == X86_INS_MOVSXD || insn->id == X86_INS_LEA ||
                     insn->id == X86_INS_NOP ||
                     (eflags == 0 && (cs_insn_group(handle, insn, X86_GRP_SSE1) || cs_insn_group(handle, insn, X86_GRP_SSE2) ||
                                      cs_insn_group(handle, insn, X86_GRP_SSE3) || cs_insn_group(handle, insn, X86_GRP_SSSE3) ||
                                      cs_insn_group(handle, insn, X86_GRP_SSE41) || cs_insn_group(handle, insn, X86_GRP_SSE42) ||
                                      cs_insn_group(handle, insn, X86_GRP_AVX) || cs_insn_group(handle, insn, X86_GRP_AVX2) ||
                                      cs_insn_group(handle, insn, X86_GRP_AVX512)));
  out->flags_known = eflags != 0 || leaves_flags;
  if (leaves_flags) out->flags_read = out->flags_written = out->flags_defined = 0;
  /* Capstone 4 does not say that these read the carry (or overflow) flag they add in. */
  switch (insn->id) {
  case X86_INS_ADC: case X86_INS_SBB: case X86_INS_RCL: case X86_INS_RCR: case X86_INS_CMC: case X86_INS_ADCX:
    out->flags_read |= REWIND_FLAG_CF;
    break;
  case X86_INS_ADOX:
    out->flags_read |= REWIND_FLAG_OF;
    break;
  default:
    break;
  }
  /* A shift or rotate by zero, and a rep-prefixed string instruction run zero times, leave
     the flags as they were: such an instruction sets none for certain. */
  switch (insn->id) {
  case X86_INS_SHL: case X86_INS_SHR: case X86_INS_SAR: case X86_INS_SAL: case X86_INS_ROL: case X86_INS_ROR:
  case X86_INS_RCL: case X86_INS_RCR: case X86_INS_SHLD: case X86_INS_SHRD:
    out->flags_written = out->flags_defined = 0;
    break;
  default:
    break;
  }
  for (int i = 0; i < 4; i++) {
    uint8_t prefix = insn->detail->x86.prefix[i];
    if (prefix == X86_PREFIX_REP || prefix == X86_PREFIX_REPNE) out->flags_written = out->flags_defined = 0;
  }
  out->touches_rcx = 1;
  out->registers_written = 0xffff;
  cs_regs read, written;
  uint8_t read_count = 0, written_count = 0;
  if (cs_regs_access(handle, insn, read, &read_count, written, &written_count) == CS_ERR_OK) {
    out->touches_rcx = 0;
    out->registers_written = 0;
    for (int i = 0; i < written_count; i++) {
      int encoding = rewind_general_register(written[i]);
      if (encoding >= 0) out->registers_written |= (uint16_t)(1u << encoding);
    }
    for (int i = 0; i < read_count + written_count; i++) {
      uint16_t r = i < read_count ? read[i] : written[i - read_count];
      if (r == X86_REG_RCX || r == X86_REG_ECX || r == X86_REG_CX || r == X86_REG_CL || r == X86_REG_CH)
        out->touches_rcx = 1;
    }
  }
  /* Implicit writes Capstone 4 leaves out: a failed cmpxchg loads rax (rdx:rax for the
     8b/16b forms), xlatb loads al. */
  switch (insn->id) {
  case X86_INS_CMPXCHG: case X86_INS_XLATB:
    out->registers_written |= 1u;
    break;
  case X86_INS_CMPXCHG8B: case X86_INS_CMPXCHG16B:
    out->registers_written |= 1u | 4u;
    break;
  default:
    break;
  }
  const cs_x86 *x86 = &insn->detail->x86;
  rewind_find_added_constant(insn->id, x86, out);
  for (int i = 0; i < x86->op_count; i++) {
    const cs_x86_op *op = &x86->operands[i];
    if (op->type == X86_OP_MEM && op->mem.base == X86_REG_RIP) {
      out->has_rip_operand = 1;
      out->displacement_offset = x86->encoding.disp_offset;
      out->rip_target = address + insn->size + (uint64_t)op->mem.disp;
      if (x86->encoding.disp_offset == 0 || x86->encoding.disp_size != 4)
        out->kind = REWIND_INSTRUCTION_UNMOVABLE;
    }
  }
  /* Legacy prefixes a branch may carry (bnd, branch hints); 0x66 would make it a 16-bit
     branch, which we refuse. */
  size_t p = 0;
  int operand_size_prefix = 0;
  while (p < insn->size && (code[p] == 0xf2 || code[p] == 0xf3 || code[p] == 0x2e ||
                            code[p] == 0x3e || code[p] == 0x66)) {
    if (code[p] == 0x66) operand_size_prefix = 1;
    p++;
  }
  uint8_t op0 = p < insn->size ? code[p] : 0;
  uint8_t op1 = p + 1 < insn->size ? code[p + 1] : 0;
  int is_relative_branch = 0;
  if (op0 >= 0x70 && op0 <= 0x7f) {
    out->kind = REWIND_INSTRUCTION_CONDITIONAL_JUMP;
    out->condition = op0 & 0x0f;
    out->target = address + insn->size + (int64_t)(int8_t)code[p + 1];
    is_relative_branch = 1;
  } else if (op0 == 0x0f && op1 >= 0x80 && op1 <= 0x8f && insn->size >= p + 6) {
    int32_t rel;
    memcpy(&rel, code + p + 2, 4);
    out->kind = REWIND_INSTRUCTION_CONDITIONAL_JUMP;
    out->condition = op1 & 0x0f;
    out->target = address + insn->size + (int64_t)rel;
    is_relative_branch = 1;
  } else if (op0 == 0xeb) {
    out->kind = REWIND_INSTRUCTION_JUMP;
    out->target = address + insn->size + (int64_t)(int8_t)code[p + 1];
    is_relative_branch = 1;
  } else if (op0 == 0xe9 && insn->size >= p + 5) {
    int32_t rel;
    memcpy(&rel, code + p + 1, 4);
    out->kind = REWIND_INSTRUCTION_JUMP;
    out->target = address + insn->size + (int64_t)rel;
    is_relative_branch = 1;
  } else if (op0 == 0xe8 && insn->size >= p + 5) {
    int32_t rel;
    memcpy(&rel, code + p + 1, 4);
    out->kind = REWIND_INSTRUCTION_CALL;
    out->target = address + insn->size + (int64_t)rel;
    is_relative_branch = 1;
  } else if (op0 >= 0xe0 && op0 <= 0xe3) {
    out->kind = REWIND_INSTRUCTION_UNMOVABLE; /* loopne, loope, loop, jrcxz */
  } else if (cs_insn_group(handle, insn, CS_GRP_CALL) || cs_insn_group(handle, insn, CS_GRP_INT) ||
             cs_insn_group(handle, insn, CS_GRP_IRET)) {
    out->kind = REWIND_INSTRUCTION_UNMOVABLE;
  } else if (cs_insn_group(handle, insn, CS_GRP_RET) || cs_insn_group(handle, insn, CS_GRP_JUMP)) {
    if (out->kind == REWIND_INSTRUCTION_PLAIN) out->kind = REWIND_INSTRUCTION_END;
  }
  if (is_relative_branch && operand_size_prefix) out->kind = REWIND_INSTRUCTION_UNMOVABLE;
  cs_free(insn, 1);
  return 1;
}

/* Decodes `code` (at `address`) linearly and lists every direct jmp, jcc, call, loop or
   jrcxz that starts before `from_limit`: its address in `from`, its target in `target`, at
   most `capacity` of them. Returns how many, or -1 when Capstone cannot open or the list is
   full (the caller then assumes the worst). Undecodable bytes are stepped over one at a time. */
static inline long rewind_list_branches(const uint8_t *code, size_t size, uint64_t address, uint64_t from_limit,
                                        uint64_t *from, uint64_t *target, size_t capacity) {
  static __thread csh handle;
  static __thread int opened;
  if (!opened) {
    if (cs_open(CS_ARCH_X86, CS_MODE_64, &handle) != CS_ERR_OK) return -1;
    opened = 1;
  }
  cs_insn *insn = cs_malloc(handle);
  const uint8_t *cursor = code;
  size_t left = size;
  uint64_t at = address;
  long count = 0;
  while (left > 0 && at < from_limit) {
    const uint8_t *start = cursor;
    uint64_t start_address = at;
    if (!cs_disasm_iter(handle, &cursor, &left, &at, insn)) {
      cursor = start + 1;
      left -= 1;
      at = start_address + 1;
      continue;
    }
    size_t p = 0, n = insn->size;
    while (p < n && (start[p] == 0xf2 || start[p] == 0xf3 || start[p] == 0x2e || start[p] == 0x3e ||
                     start[p] == 0x66))
      p++;
    int64_t rel = 0;
    int is_branch = 0;
    if (p + 2 == n && ((start[p] >= 0x70 && start[p] <= 0x7f) || start[p] == 0xeb ||
                       (start[p] >= 0xe0 && start[p] <= 0xe3))) {
      rel = (int8_t)start[p + 1];
      is_branch = 1;
    } else if (p + 5 == n && (start[p] == 0xe8 || start[p] == 0xe9)) {
      int32_t r;
      memcpy(&r, start + p + 1, 4);
      rel = r;
      is_branch = 1;
    } else if (p + 6 == n && start[p] == 0x0f && start[p + 1] >= 0x80 && start[p + 1] <= 0x8f) {
      int32_t r;
      memcpy(&r, start + p + 2, 4);
      rel = r;
      is_branch = 1;
    }
    if (is_branch) {
      if ((size_t)count == capacity) {
        count = -1;
        break;
      }
      from[count] = start_address;
      target[count] = start_address + n + (uint64_t)rel;
      count++;
    }
  }
  cs_free(insn, 1);
  return count;
}

/* The memory operands near a code point, as candidates for its memory signature: the
   instructions reached from `point` within `code` (which starts at `address`) along plain
   fall-through, both sides of a jcc and direct jmps, at most `max_instructions` of them.
   Each operand's address is computed from `regs` (user_regs_struct order), as the registers
   are at the point: for an instruction further on it may not be the address that
   instruction will use, but it is still memory whose value tells passes apart. lea, operands
   with a segment prefix (TLS) and sizes other than 1, 2, 4 and 8 are left out. Returns how
   many went into `addresses`/`sizes` (at most `capacity`). */
static inline int rewind_code_point_operands(const uint8_t *code, size_t size, uint64_t address, uint64_t point,
                                             const uint64_t *regs, int max_instructions, uint64_t *addresses,
                                             uint8_t *sizes, int capacity) {
  static __thread csh handle;
  static __thread int opened;
  if (!opened) {
    if (cs_open(CS_ARCH_X86, CS_MODE_64, &handle) != CS_ERR_OK) return 0;
    cs_option(handle, CS_OPT_DETAIL, CS_OPT_ON);
    opened = 1;
  }
  /* user_regs_struct word of each x86 register id used as a base or index. */
  static const struct { uint16_t reg; int word; } words[] = {
      {X86_REG_RAX, 10}, {X86_REG_RCX, 11}, {X86_REG_RDX, 12}, {X86_REG_RBX, 5}, {X86_REG_RSP, 19},
      {X86_REG_RBP, 4},  {X86_REG_RSI, 13}, {X86_REG_RDI, 14}, {X86_REG_R8, 9},   {X86_REG_R9, 8},
      {X86_REG_R10, 7},  {X86_REG_R11, 6},  {X86_REG_R12, 3},  {X86_REG_R13, 2},  {X86_REG_R14, 1},
      {X86_REG_R15, 0},
  };
  uint64_t queue[64];
  int head = 0, tail = 0, seen = 0, found = 0;
  queue[tail++] = point;
  cs_insn *insn = cs_malloc(handle);
  while (head < tail && seen < max_instructions && found < capacity) {
    uint64_t at = queue[head++];
    if (at < address || at >= address + size) continue;
    int repeated = 0;
    for (int i = 0; i < head - 1; i++) repeated |= queue[i] == at;
    if (repeated) continue;
    const uint8_t *cursor = code + (at - address);
    size_t left = size - (at - address);
    uint64_t pc = at;
    if (!cs_disasm_iter(handle, &cursor, &left, &pc, insn)) continue;
    seen++;
    const cs_x86 *x86 = &insn->detail->x86;
    for (int i = 0; i < x86->op_count && found < capacity; i++) {
      const cs_x86_op *op = &x86->operands[i];
      if (op->type != X86_OP_MEM || insn->id == X86_INS_LEA || op->mem.segment != X86_REG_INVALID) continue;
      if (op->size != 1 && op->size != 2 && op->size != 4 && op->size != 8) continue;
      uint64_t ea = (uint64_t)op->mem.disp;
      int known = 1;
      for (int part = 0; part < 2; part++) {
        uint16_t reg = part == 0 ? op->mem.base : op->mem.index;
        uint64_t scale = part == 0 ? 1 : (uint64_t)op->mem.scale;
        if (reg == X86_REG_INVALID) continue;
        if (reg == X86_REG_RIP) {
          ea += pc; /* pc is past the instruction now */
          continue;
        }
        int word = -1;
        for (size_t w = 0; w < sizeof words / sizeof words[0]; w++)
          if (words[w].reg == reg) word = words[w].word;
        if (word < 0) known = 0;
        else ea += regs[word] * scale;
      }
      if (!known) continue;
      int duplicate = 0;
      for (int k = 0; k < found; k++) duplicate |= addresses[k] == ea;
      if (duplicate) continue;
      addresses[found] = ea;
      sizes[found] = op->size;
      found++;
    }
    /* Where control goes next. */
    int is_jump = cs_insn_group(handle, insn, CS_GRP_JUMP);
    int is_end = cs_insn_group(handle, insn, CS_GRP_RET) || cs_insn_group(handle, insn, CS_GRP_CALL) ||
                 cs_insn_group(handle, insn, CS_GRP_INT) || cs_insn_group(handle, insn, CS_GRP_IRET);
    uint64_t target = 0;
    if (is_jump && x86->op_count == 1 && x86->operands[0].type == X86_OP_IMM) target = (uint64_t)x86->operands[0].imm;
    if (is_end || tail + 2 > 64) continue;
    if (is_jump) {
      if (target) queue[tail++] = target;
      if (insn->id != X86_INS_JMP) queue[tail++] = pc; /* a jcc falls through too */
    } else {
      queue[tail++] = pc;
    }
  }
  cs_free(insn, 1);
  return found;
}

/* The instruction at the start of `code` (at `address`) as text, "mnemonic operands", in
   `text` (NUL-terminated, cut to `capacity`). Returns its length in bytes, 0 when it cannot
   be decoded. For instruction logs. */
static inline size_t rewind_instruction_text(const uint8_t *code, size_t size, uint64_t address, char *text,
                                             size_t capacity) {
  static __thread csh handle;
  static __thread int opened;
  if (capacity > 0) text[0] = 0;
  if (!opened) {
    if (cs_open(CS_ARCH_X86, CS_MODE_64, &handle) != CS_ERR_OK) return 0;
    opened = 1;
  }
  cs_insn *insn = NULL;
  if (cs_disasm(handle, code, size, address, 1, &insn) != 1) return 0;
  snprintf(text, capacity, "%s%s%s", insn->mnemonic, insn->op_str[0] ? " " : "", insn->op_str);
  size_t length = insn->size;
  cs_free(insn, 1);
  return length;
}
