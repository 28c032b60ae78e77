import CDwarf
import Glibc

/// One frame of a symbolized backtrace: a function (inlined or not) and where in it.
public struct SourceFrame: Sendable, Equatable {
  public var pc: UInt64
  public var function: String?
  public var file: String?
  public var line: Int
  /// Inlined into the next frame (same pc).
  public var inlined: Bool
  public var module: String?

  /// `main (watch_stray.c:42)`, `?? (/usr/bin/x)`; made once, when the frame is
  /// described (reports print the same frames again and again).
  public let description: String

  public init(pc: UInt64, function: String?, file: String?, line: Int, inlined: Bool, module: String?) {
    (self.pc, self.function, self.file, self.line, self.inlined, self.module) = (pc, function, file, line, inlined, module)
    let place: String
    if let file, line > 0 {
      place = "\(file.split(separator: "/").last.map(String.init) ?? file):\(line)"
    } else {
      place = module ?? "?"
    }
    description = "\(function ?? "??") (\(place))\(inlined ? " [inlined]" : "")"
  }
}

/// What the symbolizer knows a symbol's address as.
public struct SymbolAddress: Sendable, Equatable {
  public enum Kind: Sendable { case data, function, threadLocal }
  public var address: UInt64
  public var size: UInt64
  public var kind: Kind
}

public struct SymbolizerError: Error, CustomStringConvertible {
  public var description: String
  public init(_ description: String) { self.description = description }
}

/// Symbols, source lines and backtraces of one process, through elfutils' libdwfl: its
/// modules from /proc/PID/maps (or a recording's maps text, files found by `locate`),
/// memory read from /proc/PID/mem (or by `read`). Not thread-safe: one user at a time.
public final class Symbolizer {
  private let handle: OpaquePointer
  private let context: Context

  final class Context {
    let locate: ((String) -> String?)?
    let read: ((UInt64, Int) -> [UInt8]?)?
    init(locate: ((String) -> String?)?, read: ((UInt64, Int) -> [UInt8]?)?) {
      self.locate = locate
      self.read = read
    }
  }

  /// A symbolizer of live process `pid`, or of a recorded one when `maps` (its maps text),
  /// `locate` (recorded path to a file here) and `read` (its memory) are given.
  public init(
    pid: Int32, maps: String? = nil, locate: ((String) -> String?)? = nil, read: ((UInt64, Int) -> [UInt8]?)? = nil
  ) throws(SymbolizerError) {
    context = Context(locate: locate, read: read)
    let opaque = Unmanaged.passUnretained(context).toOpaque()
    var error = [CChar](repeating: 0, count: 256)
    let locateFunction: rewind_dw_locate_fn? = locate == nil ? nil : { raw, name, path, capacity in
      let context = Unmanaged<Context>.fromOpaque(raw!).takeUnretainedValue()
      guard let found = context.locate?(String(cString: name!)) else { return -1 }
      let bytes = Array(found.utf8)
      guard bytes.count < capacity else { return -1 }
      for (i, byte) in bytes.enumerated() { path![i] = CChar(bitPattern: byte) }
      path![bytes.count] = 0
      return 0
    }
    let readFunction: rewind_dw_read_fn? = read == nil ? nil : { raw, address, buffer, length in
      let context = Unmanaged<Context>.fromOpaque(raw!).takeUnretainedValue()
      guard let bytes = context.read?(address, length), bytes.count == length else { return -1 }
      bytes.withUnsafeBytes { buffer!.copyMemory(from: $0.baseAddress!, byteCount: length) }
      return 0
    }
    let opened: OpaquePointer? = maps.withOptionalCString { mapsText in
      rewind_dw_open(pid, mapsText, locateFunction, readFunction, opaque, &error, error.count)
    }
    guard let opened else {
      throw SymbolizerError("cannot read the modules of process \(pid): \(text(error))")
    }
    handle = opened
  }

  deinit { rewind_dw_close(handle) }

  /// `frames(at:isReturnAddress:)` of pcs seen before: a watched loop hits the same code
  /// again and again, and DWARF scopes are slow to walk.
  private var describedFrames: [UInt64: [SourceFrame]] = [:]

  /// Results of the caller's own per-pc work (the accessing instruction before a trap pc),
  /// dropped with the frames when the modules change.
  public var pcMemo: [UInt64: UInt64?] = [:]

  /// Reports the modules again (a library was loaded since).
  public func refresh(maps: String? = nil) {
    describedFrames.removeAll()
    pcMemo.removeAll()
    _ = maps.withOptionalCString { rewind_dw_refresh(handle, $0) }
  }

  /// Symbol `name` in any module of the process.
  public func symbol(named name: String) -> SymbolAddress? {
    var address: UInt64 = 0
    var size: UInt64 = 0
    var kind: Int32 = 0
    guard rewind_dw_symbol(handle, name, &address, &size, &kind) == 0 else { return nil }
    return SymbolAddress(address: address, size: size, kind: kind == 1 ? .data : kind == 2 ? .threadLocal : .function)
  }

  /// The address and size of a C expression over global or static data (`cfg->limits.max`).
  public func resolve(expression: String) throws(SymbolizerError) -> (address: UInt64, size: UInt64) {
    var address: UInt64 = 0
    var size: UInt64 = 0
    var error = [CChar](repeating: 0, count: 512)
    guard rewind_dw_expression(handle, expression, &address, &size, &error, error.count) == 0 else {
      throw SymbolizerError(text(error))
    }
    return (address, size)
  }

  /// The pcs of thread `tid`'s stack from its registers (27 user_regs_struct words): the
  /// pc itself, then return addresses, at most `depth`.
  public func backtrace(tid: Int32, registers: [UInt64], depth: Int) -> [UInt64] {
    guard depth > 0, registers.count >= 27 else { return [] }
    var pcs = [UInt64](repeating: 0, count: depth)
    let count = registers.withUnsafeBufferPointer { rewind_dw_backtrace(handle, tid, $0.baseAddress, &pcs, Int32(depth)) }
    return Array(pcs.prefix(Int(count)))
  }

  /// The frames at `pc` (several when functions are inlined there), innermost first.
  public func frames(at pc: UInt64, isReturnAddress: Bool) -> [SourceFrame] {
    // A return address is looked up one byte back: its key is that byte.
    let key = isReturnAddress ? pc &- 1 : pc
    if let known = describedFrames[key] { return known.map { var frame = $0; frame.pc = pc; return frame } }
    let described = describe(pc, isReturnAddress: isReturnAddress)
    if describedFrames.count > 100_000 { describedFrames.removeAll() }
    describedFrames[key] = described
    return described
  }

  private func describe(_ pc: UInt64, isReturnAddress: Bool) -> [SourceFrame] {
    var text = [CChar](repeating: 0, count: 4096)
    _ = rewind_dw_describe(handle, pc, isReturnAddress ? 1 : 0, &text, text.count)
    return Symbols.text(text).split(separator: "\n").map { line in
      let fields = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
      func field(_ i: Int) -> String? { i < fields.count && !fields[i].isEmpty ? fields[i] : nil }
      return SourceFrame(
        pc: pc, function: field(0), file: field(1), line: Int(field(2) ?? "") ?? 0, inlined: field(3) == "1",
        module: field(4))
    }
  }

  /// `counter` or `sessions+16`: the symbol whose extent holds `address`, if any.
  public func name(of address: UInt64) -> String? {
    var text = [CChar](repeating: 0, count: 256)
    var offset: UInt64 = 0
    guard rewind_dw_symbol_at(handle, address, &text, text.count, &offset) == 0 else { return nil }
    let name = String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    return offset == 0 ? name : "\(name)+\(offset)"
  }

  /// Where the function holding code address `pc` starts, when its symbol is known.
  public func functionStart(of pc: UInt64) -> UInt64? {
    let start = rewind_dw_function_start(handle, pc)
    return start == 0 ? nil : start
  }

  /// A symbolized backtrace: `backtrace` then `frames` for each pc, cut to `depth` frames.
  /// `firstPC` replaces the innermost pc (the instruction that made an access, rather than
  /// the one after it where the CPU trapped).
  public func symbolizedBacktrace(tid: Int32, registers: [UInt64], depth: Int, firstPC: UInt64? = nil) -> [SourceFrame] {
    var result: [SourceFrame] = []
    for (i, pc) in backtrace(tid: tid, registers: registers, depth: depth).enumerated() {
      result += frames(at: i == 0 ? firstPC ?? pc : pc, isReturnAddress: i > 0)
      if result.count >= depth { break }
    }
    return Array(result.prefix(depth))
  }
}

/// A NUL-terminated C buffer as a String.
private func text(_ buffer: [CChar]) -> String {
  String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}

extension Optional where Wrapped == String {
  fileprivate func withOptionalCString<R>(_ body: (UnsafePointer<CChar>?) -> R) -> R {
    switch self {
    case .some(let string): string.withCString { body($0) }
    case .none: body(nil)
    }
  }
}
