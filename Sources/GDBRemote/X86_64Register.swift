/// One register of the x86-64 target description, in gdb's remote numbering.
///
/// The order and numbers are gdbserver's for x86-64 Linux (core 0-39, sse 40-56,
/// orig_rax 57, fs_base 58, gs_base 59), which gdb expects and rr also uses; the
/// `g` packet and `target.xml` are both generated from `all`, so they cannot disagree.
public struct X86_64Register: Hashable, Sendable {
  public let name: String
  public let number: Int
  public let bitSize: Int
  /// The gdb type name used in `target.xml`.
  public let type: String
  /// The target-description feature the register belongs to.
  public let feature: Feature
  /// x87 control registers are grouped as `float` so `info float` shows them.
  public let group: String?

  public enum Feature: String, CaseIterable, Sendable {
    case core = "org.gnu.gdb.i386.core"
    case sse = "org.gnu.gdb.i386.sse"
    case linux = "org.gnu.gdb.i386.linux"
    case segments = "org.gnu.gdb.i386.segments"
    /// The upper halves of ymm0-15; gdb joins them with xmm0-15 into $ymm0-15.
    case avx = "org.gnu.gdb.i386.avx"
  }

  public var byteSize: Int { bitSize / 8 }

  public static let all: [X86_64Register] = {
    var registers: [X86_64Register] = []
    func add(_ name: String, _ bits: Int, _ type: String, _ feature: Feature, group: String? = nil) {
      registers.append(
        X86_64Register(
          name: name, number: registers.count, bitSize: bits, type: type, feature: feature, group: group))
    }
    for name in ["rax", "rbx", "rcx", "rdx", "rsi", "rdi"] { add(name, 64, "int64", .core) }
    add("rbp", 64, "data_ptr", .core)
    add("rsp", 64, "data_ptr", .core)
    for index in 8...15 { add("r\(index)", 64, "int64", .core) }
    add("rip", 64, "code_ptr", .core)
    add("eflags", 32, "i386_eflags", .core)
    for name in ["cs", "ss", "ds", "es", "fs", "gs"] { add(name, 32, "int32", .core) }
    for index in 0...7 { add("st\(index)", 80, "i387_ext", .core) }
    for name in ["fctrl", "fstat", "ftag", "fiseg", "fioff", "foseg", "fooff", "fop"] {
      add(name, 32, "int", .core, group: "float")
    }
    for index in 0...15 { add("xmm\(index)", 128, "vec128", .sse) }
    add("mxcsr", 32, "i386_mxcsr", .sse, group: "vector")
    add("orig_rax", 64, "int", .linux)
    add("fs_base", 64, "int", .segments)
    add("gs_base", 64, "int", .segments)
    for index in 0...15 { add("ymm\(index)h", 128, "uint128", .avx) }
    return registers
  }()

  public static let byName: [String: X86_64Register] = Dictionary(
    uniqueKeysWithValues: all.map { ($0.name, $0) })

  public static let pc = byName["rip"]!
  public static let orig_rax = byName["orig_rax"]!
  public static let fs_base = byName["fs_base"]!
  public static let gs_base = byName["gs_base"]!
}
