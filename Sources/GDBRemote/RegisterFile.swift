/// The registers of one thread as gdb sees them: bytes per register, in the
/// numbering of `X86_64Register.all`, nil where the target cannot tell.
///
/// A replay may know general registers but not (yet) the x87 state; gdb shows an
/// unavailable register as `<unavailable>` instead of a wrong value.
public struct RegisterFile: Hashable, Sendable {
  public private(set) var values: [[UInt8]?]

  public init() {
    values = Array(repeating: nil, count: X86_64Register.all.count)
  }

  /// Registers up to 64 bits from their values, e.g. as read from `user_regs_struct`.
  public init(_ named: [String: UInt64]) {
    self.init()
    for (name, value) in named {
      if let register = X86_64Register.byName[name] { self[register] = value }
    }
  }

  /// Registers in gdb order, as many as given; extra values are ignored.
  public init(_ ordered: [UInt64]) {
    self.init()
    for (register, value) in zip(X86_64Register.all, ordered) { self[register] = value }
  }

  /// The register's bytes, little-endian, exactly `byteSize` long.
  public subscript(bytes register: X86_64Register) -> [UInt8]? {
    get { values[register.number] }
    set {
      precondition(newValue == nil || newValue!.count == register.byteSize, "\(register.name) has \(register.byteSize) bytes")
      values[register.number] = newValue
    }
  }

  /// The value of a register of up to 64 bits; wider registers take it zero-extended.
  public subscript(register: X86_64Register) -> UInt64? {
    get {
      guard let bytes = values[register.number] else { return nil }
      return bytes.prefix(8).enumerated().reduce(0) { $0 | UInt64($1.element) << (8 * $1.offset) }
    }
    set {
      guard let value = newValue else {
        values[register.number] = nil
        return
      }
      values[register.number] = (0..<register.byteSize).map { $0 < 8 ? UInt8(truncatingIfNeeded: value >> (8 * $0)) : 0 }
    }
  }

  public subscript(name: String) -> UInt64? {
    get { X86_64Register.byName[name].flatMap { self[$0] } }
    set {
      guard let register = X86_64Register.byName[name] else { preconditionFailure("no register \(name)") }
      self[register] = newValue
    }
  }

  /// The `g` reply: every register's bytes as hex, `xx` per unknown byte.
  public var wireForm: String {
    var text = ""
    for register in X86_64Register.all {
      if let bytes = values[register.number] {
        text += hexString(bytes)
      } else {
        text += String(repeating: "xx", count: register.byteSize)
      }
    }
    return text
  }

  /// Parses a `G` payload (already hex-decoded) back into registers.
  public init?(wireBytes bytes: [UInt8]) {
    let total = X86_64Register.all.reduce(0) { $0 + $1.byteSize }
    guard bytes.count == total else { return nil }
    self.init()
    var offset = 0
    for register in X86_64Register.all {
      values[register.number] = Array(bytes[offset..<offset + register.byteSize])
      offset += register.byteSize
    }
  }
}
