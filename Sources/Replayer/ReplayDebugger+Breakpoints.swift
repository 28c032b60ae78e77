import LinuxTrace
import TraceFormat

let int3: UInt8 = 0xcc

/// A condition of a breakpoint, evaluated where it hits with the thread's registers and a
/// reader of the program's memory: the stop is reported only when it holds.
public typealias BreakpointCondition = @Sendable (_ registers: Registers, _ readMemory: (UInt64, Int) -> [UInt8]?) -> Bool

/// What gdb asked for: the breakpoints, watchpoints and catchpoints in force. A replay run
/// again from the start (reverse execution) takes them over.
struct DebuggerRequests {
  var softwareBreakpoints: Set<UInt64> = []
  /// DR1-DR3, for hardware breakpoints and watchpoints. A watched region takes one slot per
  /// aligned piece of 1, 2, 4 or 8 bytes, each knowing the address gdb asked to watch.
  var hardwareSlots: [HardwareSlot?] = [nil, nil, nil]
  var catchSet: SyscallCatchSet = .none
  /// Conditions of software and hardware execute breakpoints, by address.
  var conditions: [UInt64: BreakpointCondition] = [:]

  var hasHardware: Bool { hardwareSlots.contains { $0 != nil } }
}

struct HardwareSlot {
  var address: UInt64
  var kind: HardwareWatchKind
  var length: Int
  var watched: UInt64
}

// MARK: what gdb asks for, on the tracer thread

extension ReplayDebugger {
  func insertSoftwareBreakpoint(at address: UInt64, condition: BreakpointCondition? = nil) throws {
    requests.softwareBreakpoints.insert(address)
    requests.conditions[address] = condition
    try placeBreakpoints()
  }

  func removeSoftwareBreakpoint(at address: UInt64) throws {
    requests.softwareBreakpoints.remove(address)
    requests.conditions[address] = nil
    try placeBreakpoints()
  }

  /// Whether the breakpoint at `address` stops `task` here: it has no condition, or it holds.
  func conditionHolds(at address: UInt64, _ task: ReplayTask) -> Bool {
    guard let condition = requests.conditions[address] else { return true }
    guard let registers = try? session.currentRegisters(task) else { return true }
    return condition(registers) { [self] address, count in try? readMemory(at: address, count: count) }
  }

  /// The int3s that belong in memory: gdb's while they are in force, and the ones a seek
  /// counts arrivals with.
  private var wantedBreakpoints: Set<UInt64> {
    armed ? requests.softwareBreakpoints.union(internalBreakpoints) : internalBreakpoints
  }

  /// Writes and lifts int3s until memory holds the wanted ones. Their original bytes are
  /// kept while lifted for a vfork child, which shares the memory and would trap on them.
  func placeBreakpoints() throws {
    guard let task = mainTask else { return }
    let wanted = wantedBreakpoints
    for (address, original) in inserted where !wanted.contains(address) {
      inserted[address] = nil
      if !breakpointsLifted { try? task.tracee.writeMemory(at: address, bytes: [original]) }
    }
    for address in wanted where inserted[address] == nil {
      // An address gdb made up (or one in code unmapped since) is no breakpoint to insert.
      guard let original = try? task.tracee.readMemory(at: address, count: 1) else { continue }
      if !breakpointsLifted { try task.tracee.writeMemory(at: address, bytes: [int3]) }
      inserted[address] = original[0]
    }
  }

  /// Puts back the int3s a system call replaced with the memory under them (a library's
  /// code mapped over the reservation the loader made first). gdb puts its breakpoints in
  /// again when the loader tells it of a new library; a seek runs without gdb.
  func reinsertReplacedBreakpoints() throws {
    guard !breakpointsLifted, let task = mainTask else { return }
    for (address, _) in inserted {
      guard let byte = try? task.tracee.readMemory(at: address, count: 1), byte[0] != int3 else { continue }
      inserted[address] = byte[0]
      try task.tracee.writeMemory(at: address, bytes: [int3])
    }
  }

  /// Memory as the program has it: inserted breakpoints show their original bytes.
  func readMemory(at address: UInt64, count: Int) throws -> [UInt8] {
    guard let task = mainTask else { throw Errno.noSuchProcess }
    var bytes = try task.tracee.readMemory(at: address, count: count)
    for (breakpoint, original) in inserted where breakpoint >= address && breakpoint < address + UInt64(bytes.count) {
      bytes[Int(breakpoint - address)] = original
    }
    return bytes
  }

  /// Returns false when all of DR1-DR3 are taken.
  func insertHardware(_ kind: HardwareWatchKind, at address: UInt64, length: Int, condition: BreakpointCondition? = nil) throws -> Bool {
    if kind == .execute { requests.conditions[address] = condition }
    // A debug register watches 1, 2, 4 or 8 bytes aligned to their size (the CPU ignores
    // the address's lower bits): a longer or unaligned region takes several.
    var pieces: [(address: UInt64, length: Int)] = []
    if kind == .execute {
      pieces = [(address, 1)]
    } else {
      var (start, remaining) = (address, max(length, 1))
      // (More pieces than debug registers cannot be had; an address gdb makes up may wrap.)
      while remaining > 0 && pieces.count <= requests.hardwareSlots.count {
        let size = [8, 4, 2, 1].first { start % UInt64($0) == 0 && $0 <= remaining }!
        pieces.append((start, size))
        start &+= UInt64(size)
        remaining -= size
      }
    }
    let free = requests.hardwareSlots.indices.filter { requests.hardwareSlots[$0] == nil }
    guard free.count >= pieces.count else { return false }
    for (slot, piece) in zip(free, pieces) {
      requests.hardwareSlots[slot] = HardwareSlot(address: piece.address, kind: kind, length: piece.length, watched: address)
    }
    do {
      for task in threads { try applyHardwareSlots(to: task) }
    } catch {
      // The kernel refused it (an address outside user space, say): give the registers
      // back, or every later insertion would carry the refused one along and fail too.
      for slot in free.prefix(pieces.count) { requests.hardwareSlots[slot] = nil }
      for task in threads { try? applyHardwareSlots(to: task) }
      throw error
    }
    return true
  }

  func removeHardware(_ kind: HardwareWatchKind, at address: UInt64) throws {
    let slots = requests.hardwareSlots.indices.filter {
      requests.hardwareSlots[$0]?.watched == address && requests.hardwareSlots[$0]?.kind == kind
    }
    guard !slots.isEmpty else { return }
    if kind == .execute { requests.conditions[address] = nil }
    for slot in slots { requests.hardwareSlots[slot] = nil }
    for task in threads { try applyHardwareSlots(to: task) }
  }

  /// DR7's bits for DR1-DR3, leaving DR0's (the replay's code points) as they are. None
  /// while gdb's requests are not in force (a seek looking for a place).
  func applyHardwareSlots(to task: ReplayTask) throws {
    var control = try task.tracee.debugRegister(7) & 0x000f_0003
    for (index, slot) in requests.hardwareSlots.enumerated() {
      guard armed, let slot else { continue }
      let register = index + 1
      try task.tracee.setDebugRegister(register, to: slot.address)
      let condition: UInt64 = slot.kind == .execute ? 0 : slot.kind == .write ? 1 : 3
      let length: UInt64 = slot.kind == .execute ? 0 : [1: 0, 2: 1, 8: 2, 4: 3][slot.length] ?? 3
      control |= 1 << UInt64(2 * register)
      control |= (condition | length << 2) << UInt64(16 + 4 * register)
    }
    try task.tracee.setDebugRegister(7, to: control)
  }

  /// Puts gdb's requests in force, or takes them out, in every thread.
  func arm(_ on: Bool) throws {
    armed = on
    try placeBreakpoints()
    for task in threads { try applyHardwareSlots(to: task) }
  }
}
