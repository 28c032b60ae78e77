import TraceFormat

/// An indirect near `call` or `jmp` (opcode FF /2 or FF /4) through a register or through
/// memory (rip plus a displacement, or base + index * scale + displacement): what
/// reverse-stepi needs to tell where one went, given the registers it ran with.
struct IndirectBranch: Equatable {
  enum Kind { case call, jump }
  enum Operand: Equatable {
    /// The target is this register (x86 encoding: rax 0 ... r15 15).
    case register(UInt8)
    /// The target is the 8 bytes at base (nil: none, or with `ripRelative` the next
    /// instruction's address) + index * scale + displacement.
    case memory(base: UInt8?, index: UInt8?, scale: UInt8, displacement: Int64, ripRelative: Bool)

    /// The registers the target is computed from.
    var registersUsed: [UInt8] {
      switch self {
      case .register(let encoding): return [encoding]
      case .memory(let base, let index, _, _, _): return [base, index].compactMap { $0 }
      }
    }
  }

  var kind: Kind
  var operand: Operand
  var size: Int

  /// Decodes the instruction at the start of `bytes`: nil for anything else.
  init?(_ bytes: [UInt8]) {
    var p = 0
    var rex: UInt8 = 0
    // notrack (3e), bnd (f2) and a segment override carry no meaning here; 66 would make it
    // a 16-bit branch.
    while p < bytes.count, [0x3e, 0xf2, 0x2e].contains(bytes[p]) { p += 1 }
    if p < bytes.count, bytes[p] & 0xf0 == 0x40 {
      rex = bytes[p]
      p += 1
    }
    guard p + 1 < bytes.count, bytes[p] == 0xff else { return nil }
    let modrm = bytes[p + 1]
    let mode = modrm >> 6, reg = (modrm >> 3) & 7, rm = modrm & 7
    switch reg {
    case 2: kind = .call
    case 4: kind = .jump
    default: return nil
    }
    p += 2
    func displacement(_ count: Int) -> Int64? {
      guard p + count <= bytes.count else { return nil }
      var value: Int64 = 0
      for i in 0..<count { value |= Int64(bytes[p + i]) << (8 * i) }
      p += count
      // Sign-extend.
      let shift = 64 - 8 * count
      return (value << shift) >> shift
    }
    let rexB = rex & 1, rexX = (rex >> 1) & 1
    if mode == 3 {
      operand = .register(rm | rexB << 3)
      size = p
      return
    }
    var base: UInt8? = rm | rexB << 3
    var index: UInt8?
    var scale: UInt8 = 1
    var ripRelative = false
    if rm == 4 {
      guard p < bytes.count else { return nil }
      let sib = bytes[p]
      p += 1
      scale = 1 << (sib >> 6)
      let indexField = (sib >> 3) & 7 | rexX << 3
      index = indexField == 4 ? nil : indexField  // rsp cannot be an index
      base = sib & 7 == 5 && mode == 0 ? nil : sib & 7 | rexB << 3  // 5 in mode 0: disp32, no base
    } else if rm == 5 && mode == 0 {
      base = nil
      ripRelative = true
    }
    let count = mode == 1 ? 1 : mode == 2 || base == nil ? 4 : 0
    guard let d = count == 0 ? 0 : displacement(count) else { return nil }
    operand = .memory(base: base, index: index, scale: scale, displacement: d, ripRelative: ripRelative)
    size = p
  }

  /// Where it goes when it runs at `address` with `registers`, reading memory with `read`.
  func target(at address: UInt64, registers: Registers, read: (UInt64) -> UInt64?) -> UInt64? {
    func value(_ encoding: UInt8) -> UInt64? { CompareStub.wordIndex(encoding: encoding).map { registers.words[$0] } }
    switch operand {
    case .register(let encoding):
      return value(encoding)
    case .memory(let base, let index, let scale, let displacement, let ripRelative):
      var origin: UInt64 = ripRelative ? address + UInt64(size) : 0
      if let base {
        guard let value = value(base) else { return nil }
        origin = value
      }
      if let index {
        guard let value = value(index) else { return nil }
        origin = origin &+ value &* UInt64(scale)
      }
      return read(origin &+ UInt64(bitPattern: displacement))
    }
  }
}
