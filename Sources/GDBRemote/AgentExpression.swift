/// A condition gdb sends with a breakpoint (`Z0,addr,kind;X len,bytes`), in its agent
/// bytecode (gdb's manual, "The GDB Agent Expression Mechanism"): a small stack machine
/// over 64-bit integers that reads registers (by gdb's numbers in the target description)
/// and memory. The target evaluates it where the breakpoint hits and reports the stop only
/// when it holds, so gdb needs no round trip per false hit (and a reverse-continue no run
/// per false hit).
public struct AgentExpression: Hashable, Sendable {
  public var bytecode: [UInt8]

  public init(_ bytecode: [UInt8]) { self.bytecode = bytecode }

  /// Why an expression could not be evaluated.
  public struct Failure: Error, Equatable, CustomStringConvertible {
    public var description: String
  }

  /// The expression's value; throws for what this interpreter does not do (floating point,
  /// tracing, trace state variables, printf), a register or memory it cannot read, a
  /// malformed expression, or more than `stepLimit` bytecodes run (a loop).
  public func evaluate(
    register: (Int) -> UInt64?, memory: (UInt64, Int) -> [UInt8]?, stepLimit: Int = 100_000
  ) throws(Failure) -> Int64 {
    var stack: [Int64] = []
    var pc = 0
    var steps = 0
    func fail(_ why: String) -> Failure { Failure(description: why) }
    func pop() throws(Failure) -> Int64 {
      guard let value = stack.popLast() else { throw fail("the stack is empty at byte \(pc)") }
      return value
    }
    func operand(_ size: Int) throws(Failure) -> UInt64 {
      guard pc + size <= bytecode.count else { throw fail("an operand runs past the end at byte \(pc)") }
      // Operands are big-endian.
      let value = bytecode[pc..<(pc + size)].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
      pc += size
      return value
    }
    func binary(_ body: (Int64, Int64) throws(Failure) -> Int64) throws(Failure) {
      let b = try pop()
      let a = try pop()
      stack.append(try body(a, b))
    }
    func reference(_ size: Int) throws(Failure) {
      let address = UInt64(bitPattern: try pop())
      guard let bytes = memory(address, size), bytes.count == size else {
        throw fail("memory at 0x\(String(address, radix: 16)) cannot be read")
      }
      // Memory is little-endian (x86-64).
      stack.append(Int64(bitPattern: bytes.reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }))
    }
    while pc < bytecode.count {
      steps += 1
      guard steps <= stepLimit else { throw fail("more than \(stepLimit) bytecodes run") }
      let op = bytecode[pc]
      pc += 1
      switch op {
      case 0x02: try binary { $0 &+ $1 }
      case 0x03: try binary { $0 &- $1 }
      case 0x04: try binary { $0 &* $1 }
      case 0x05, 0x07:
        try binary { (a, b) throws(Failure) in
          guard b != 0 else { throw fail("division by zero") }
          if a == .min && b == -1 { return op == 0x05 ? .min : 0 }
          return op == 0x05 ? a / b : a % b
        }
      case 0x06, 0x08:
        try binary { (a, b) throws(Failure) in
          guard b != 0 else { throw fail("division by zero") }
          let (ua, ub) = (UInt64(bitPattern: a), UInt64(bitPattern: b))
          return Int64(bitPattern: op == 0x06 ? ua / ub : ua % ub)
        }
      case 0x09: try binary { $1 >= 64 || $1 < 0 ? 0 : $0 << $1 }
      case 0x0a: try binary { $1 >= 64 || $1 < 0 ? ($0 < 0 ? -1 : 0) : $0 >> $1 }
      case 0x0b: try binary { $1 >= 64 || $1 < 0 ? 0 : Int64(bitPattern: UInt64(bitPattern: $0) >> UInt64($1)) }
      case 0x0e: stack.append(try pop() == 0 ? 1 : 0)
      case 0x0f: try binary { $0 & $1 }
      case 0x10: try binary { $0 | $1 }
      case 0x11: try binary { $0 ^ $1 }
      case 0x12: stack.append(~(try pop()))
      case 0x13: try binary { $0 == $1 ? 1 : 0 }
      case 0x14: try binary { $0 < $1 ? 1 : 0 }
      case 0x15: try binary { UInt64(bitPattern: $0) < UInt64(bitPattern: $1) ? 1 : 0 }
      case 0x16, 0x2a:  // ext n (sign), zero_ext n
        let bits = Int(try operand(1))
        let value = try pop()
        guard bits > 0 && bits < 64 else {
          stack.append(value)
          continue
        }
        let shift = Int64(64 - bits)
        stack.append(op == 0x16 ? (value << shift) >> shift : Int64(bitPattern: UInt64(bitPattern: value) & ((1 << UInt64(bits)) - 1)))
      case 0x17: try reference(1)
      case 0x18: try reference(2)
      case 0x19: try reference(4)
      case 0x1a: try reference(8)
      case 0x20:  // if_goto
        let target = Int(try operand(2))
        if try pop() != 0 { pc = target }
      case 0x21: pc = Int(try operand(2))  // goto
      case 0x22: stack.append(Int64(bitPattern: try operand(1)))
      case 0x23: stack.append(Int64(bitPattern: try operand(2)))
      case 0x24: stack.append(Int64(bitPattern: try operand(4)))
      case 0x25: stack.append(Int64(bitPattern: try operand(8)))
      case 0x26:
        let number = Int(try operand(2))
        guard let value = register(number) else { throw fail("register \(number) cannot be read here") }
        stack.append(Int64(bitPattern: value))
      case 0x27: return try pop()  // end
      case 0x28:
        let top = try pop()
        stack += [top, top]
      case 0x29: _ = try pop()
      case 0x2b:
        let b = try pop()
        let a = try pop()
        stack += [b, a]
      case 0x32:  // pick n: a copy of the item n below the top
        let depth = Int(try operand(1))
        guard depth < stack.count else { throw fail("pick \(depth) below a stack of \(stack.count)") }
        stack.append(stack[stack.count - 1 - depth])
      case 0x33:  // rot: a b c => c a b
        let c = try pop()
        let b = try pop()
        let a = try pop()
        stack += [c, a, b]
      default:
        throw fail("bytecode 0x\(String(op, radix: 16)) (floating point, tracing, state variables or printf) is not evaluated here")
      }
    }
    throw fail("the expression has no end bytecode")
  }
}
