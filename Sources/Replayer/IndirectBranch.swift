import TraceFormat

/// An indirect near `call` or `jmp` (opcode FF /2 or FF /4) through a register or through
/// memory at a register or rip plus a displacement: what reverse-stepi needs to tell where
/// one went, given the registers it ran with. Forms with a SIB byte are not worked out.
struct IndirectBranch: Equatable {
  enum Kind { case call, jump }
  enum Operand: Equatable {
    /// The target is this register (x86 encoding: rax 0 ... r15 15).
    case register(UInt8)
    /// The target is the 8 bytes at this register (nil: the next instruction's address) plus
    /// the displacement.
    case memory(base: UInt8?, displacement: Int64)
  }

  var kind: Kind
  var operand: Operand
  var size: Int

  /// Decodes the instruction at the start of `bytes`: nil for anything else.
  init?(_ bytes: [UInt8]) {
    var p = 0
    var rexB: UInt8 = 0
    // notrack (3e), bnd (f2) and a segment override carry no meaning here; 66 would make it
    // a 16-bit branch.
    while p < bytes.count, [0x3e, 0xf2, 0x2e].contains(bytes[p]) { p += 1 }
    if p < bytes.count, bytes[p] & 0xf0 == 0x40 {
      rexB = bytes[p] & 1
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
      // Sign-extend.
      let shift = 64 - 8 * count
      return (value << shift) >> shift
    }
    let base = rm | rexB << 3
    switch mode {
    case 3:
      operand = .register(base)
    case 0 where rm == 5:
      guard let d = displacement(4) else { return nil }
      operand = .memory(base: nil, displacement: d)
      p += 4
    case 0 where rm != 4:
      operand = .memory(base: base, displacement: 0)
    case 1 where rm != 4:
      guard let d = displacement(1) else { return nil }
      operand = .memory(base: base, displacement: d)
      p += 1
    case 2 where rm != 4:
      guard let d = displacement(4) else { return nil }
      operand = .memory(base: base, displacement: d)
      p += 4
    default:
      return nil
    }
    size = p
  }

  /// Where it goes when it runs at `address` with `registers`, reading memory with `read`.
  func target(at address: UInt64, registers: Registers, read: (UInt64) -> UInt64?) -> UInt64? {
    func value(_ encoding: UInt8) -> UInt64? { CompareStub.wordIndex(encoding: encoding).map { registers.words[$0] } }
    switch operand {
    case .register(let encoding):
      return value(encoding)
    case .memory(let base, let displacement):
      let origin: UInt64?
      if let base { origin = value(base) } else { origin = address + UInt64(size) }
      guard let origin else { return nil }
      return read(origin &+ UInt64(bitPattern: displacement))
    }
  }
}
