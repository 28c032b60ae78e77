import CSupport
import CodePatch
import Glibc
import LinuxTrace
import TraceFormat

/// DR7 bits: local enable of DR0, condition "execute", length 1.
private let debugControlExecuteDR0: UInt64 = 0x1
/// DR7's bits for DR0 (enables, condition, length); the rest belong to a debugger's DR1-DR3.
private let debugControlDR0Bits: UInt64 = 0x000f_0003
/// The passes through a guessed place (`byHardwareOnly`) watched before giving up on it:
/// about 0.2 s of traps.
let guessedPassLimit = 10_000
/// EFLAGS.RF.
private let resumeFlag: UInt64 = 0x10000

extension ReplaySession {
  /// Runs `task` on to the code point whose registers are `target`: the first time it is at
  /// `target.rip` with every register as recorded (DESIGN.md, principle 4).
  ///
  /// When the task is there already (a spin-wait preempted again, a signal at a call's
  /// return), nothing runs. Otherwise a hardware breakpoint watches the first two passes
  /// through the instruction (a point reached at once costs no more), which also shows which
  /// registers change from pass to pass; then an in-process compare stub, comparing those
  /// first, finds the point at about a nanosecond a pass (`installCompareStub`). Where
  /// patching is impossible or unsure, the hardware breakpoint goes on, at ~20 µs a pass.
  ///
  /// An instruction that needed the stub once (a timer hitting a hot loop again and again)
  /// gets it at once next time: the two watched passes cost more than the stub's set-up.
  ///
  /// `memory`, `stack` and `reached` are the rest of the signature (`CodePointMemory`,
  /// `StackSignature`, `ReachedMemory`): a pass whose registers match is the point only if
  /// memory holds those values too, the stack above rsp is as recorded, and so is the memory
  /// the registers point to. The stub compares registers and memory words (with a few words
  /// of the stack and the reached memory that differ when it is built); the tracer checks the
  /// whole stack and reached memory at each pass the stub lets through.
  func runToCodePoint(
    _ target: Registers, memory: [CodePointMemory], stack: StackSignature? = nil, reached: [MemoryChunk] = [], _ task: ReplayTask,
    index: UInt64, activity: String
  ) throws {
    let memory = CodePointSignature(memory: memory, stack: stack, reached: reached)
    guard debugger == nil else {
      try search(target, memory: memory, task, index: index, activity: activity)
      return
    }
    if codePointWatch == nil {
      codePointWatch = CodePointWatch(recordingSeconds: reader.summary.map { $0.endTime.timeIntervalSince(reader.header.startTime) })
    }
    try codePointWatch!.watch("event \(index) (\(activity))") {
      try search(target, memory: memory, task, index: index, activity: activity)
    }
  }

  /// `runToCodePoint` itself, watched or not.
  private func search(
    _ target: Registers, memory: CodePointSignature, _ task: ReplayTask, index: UInt64, activity: String
  ) throws {
    codePointsReached += 1
    if let skip = debugSkippedMatches, skip.event == index {
      // For rewind's own debugging: a trap a pass, the first matches passed over.
      var left = skip.count
      _ = try runWithBreakpoint(to: target, memory: memory, task, repeated: nil, index: index, activity: activity, passLimit: nil, skipping: &left)
      debugDumpMemory(task, name: "event-\(index)-skip-\(skip.count)")
      return
    }
    let current = try currentRegisters(task)
    let registersHere = registerDifferences(recorded: target, replayed: current, ignoring: [])
    if registersHere.isEmpty && memoryDifferences(memory, task).isEmpty && stackDifferences(memory, task).isEmpty
      && reachedDifferences(memory, task).isEmpty
    {
      return
    }
    // Stopped at the point's address with other state: a report of a point then missed says
    // how this pass differed.
    let startedHere =
      current.rip == target.rip
      ? registersHere + memoryDifferences(memory, task) + stackDifferences(memory, task) + reachedDifferences(memory, task) : []
    let repeated = (try? task.tracee.readMemory(at: target.rip, count: 15)).flatMap { RepeatedString(bytes: $0) }
    // Inside a string instruction the pass is found at its start, where the memory rsi and
    // rdi point to is not yet what the recording saw: the reached memory cannot tell.
    var memory = memory
    if repeated != nil { memory.reached = [] }
    let ignored = repeated == nil ? [] : RepeatedString.iteratingRegisters
    // Installs the point's stub, at a task stopped with `current`, comparing `words`.
    func stub(changing: Set<Int>, hot: Bool) -> StubRebuild {
      { current, words in
        try self.installCompareStub(for: target, memory: words, task, current: current, changing: changing, ignoring: ignored, hot: hot)
      }
    }
    if let changing = hotLoopPoints[target.rip] {
      let words = memory.words + changingWords(memory, at: target.rsp, task)
      let rebuild = stub(changing: changing, hot: true)
      if case .success(let installed) = try rebuild(current, words) {
        codePointsReachedByStub += 1
        try runToCodePoint(
          target, memory: memory, task, through: installed, repeated: repeated, index: index, activity: activity, words: words, rebuild: rebuild)
        return
      }
    }
    guard
      case .passed(let passes) = try runWithBreakpoint(
        to: target, memory: memory, task, repeated: repeated, index: index, activity: activity, passLimit: 2, startedHere: startedHere)
    else { return }
    let changing = Set(CompareStub.generalRegisters.map(\.index).filter { passes[1].words[$0] != passes[0].words[$0] })
    let words = memory.words + changingWords(memory, at: target.rsp, task)
    let rebuild = stub(changing: changing, hot: false)
    switch try rebuild(passes[1], words) {
    case .success(let installed):
      codePointsReachedByStub += 1
      if hotLoopPoints.count > 256 { hotLoopPoints.removeAll() }
      hotLoopPoints[target.rip] = changing
      try runToCodePoint(
        target, memory: memory, task, through: installed, repeated: repeated, index: index, activity: activity, words: words, rebuild: rebuild)
    case .failure(let refusal):
      if debugStops { printToStandardError("[replay] code point \(hex(target.rip)): hardware breakpoint, since \(refusal)") }
      _ = try runWithBreakpoint(
        to: target, memory: memory, task, repeated: repeated, index: index, activity: activity, passLimit: nil, startedHere: startedHere)
    }
  }

  private enum BreakpointOutcome {
    /// After this many passes that did not match.
    case reached(afterPasses: Int)
    /// The registers of the passes that did not match, when `passLimit` of them came.
    case passed([Registers])
  }

  /// The hardware-breakpoint form: a trap at each pass through the instruction, and a
  /// compare; at most `passLimit` passes that do not match, if given.
  private func runWithBreakpoint(
    to target: Registers, memory: CodePointSignature, _ task: ReplayTask, repeated: RepeatedString?, index: UInt64, activity: String, passLimit: Int?,
    startedHere: [String] = []
  ) throws -> BreakpointOutcome {
    var none = 0
    return try runWithBreakpoint(
      to: target, memory: memory, task, repeated: repeated, index: index, activity: activity, passLimit: passLimit, startedHere: startedHere,
      skipping: &none)
  }

  private func runWithBreakpoint(
    to target: Registers, memory: CodePointSignature, _ task: ReplayTask, repeated: RepeatedString?, index: UInt64, activity: String, passLimit: Int?,
    startedHere: [String] = [], skipping: inout Int
  ) throws -> BreakpointOutcome {
    try armDR0(at: target.rip, task)
    defer { disarmDR0(task) }
    var passes: [Registers] = []
    while true {
      // PTRACE_SYSEMU: reaching a system call first means the point was missed.
      let status = try resumeAndWait(task, .syscallEmulation, expecting: .trap)
      guard status == .signalStop(.trap), try currentRegisters(task).rip == target.rip else {
        throw unexpected(
          status, task, index: index, activity: activity,
          expected: "the thread reaches rip \(hex(target.rip)) with its recorded registers (passed it \(passes.count) times with others"
            + (startedHere.isEmpty ? ")" : "; it started there with: \(startedHere.joined(separator: "; ")))"))
      }
      // The #DB exception sets orig_rax to -1 (kernel bookkeeping, not a CPU register):
      // compare without it, then give back the recorded one, which restart logic reads.
      var registers = try currentRegisters(task)
      let differences =
        registerDifferences(recorded: target, replayed: registers, ignoring: [RegisterIndex.origRax]) + memoryDifferences(memory, task)
      // (The stack is read only where it can decide: ~5 µs a read at every pass.)
      let stackDifferences =
        differences.isEmpty || repeated != nil ? stackDifferences(memory, task) + reachedDifferences(memory, task) : []
      if differences.isEmpty && stackDifferences.isEmpty && skipping > 0 {
        skipping -= 1
        printToStandardError("[replay] code point of event \(index): a match passed over at pass \(passes.count)")
        passes.append(registers)
        continue
      }
      if differences.isEmpty && stackDifferences.isEmpty {
        if debugSkippedMatches != nil { printToStandardError("[replay] code point of event \(index): matched at pass \(passes.count)") }
        registers.origRax = target.origRax
        try setRegisters(registers, task)
        return .reached(afterPasses: passes.count)
      }
      if stackDifferences.isEmpty, let repeated, let count = repeated.iterations(from: registers, to: target) {
        try finishIterations(count, of: repeated, from: registers, to: target, task, index: index, activity: activity)
        return .reached(afterPasses: passes.count)
      }
      if debugStops {
        printToStandardError("[replay] code point \(hex(target.rip)) passed with other registers: \((differences + stackDifferences).joined(separator: "; "))")
      }
      codePointPassesRejected += 1
      passes.append(registers)
      if let limit = passLimit, passes.count >= limit { return .passed(passes) }
    }
  }

  /// Runs the task through the stub until it traps on a full match, then takes the stub out:
  /// the original bytes back, the page unmapped, the task at the code point.
  ///
  /// The stub compares the general registers and flags; here the tracer compares the rest
  /// (fs_base, gs_base, segment registers). A stub match this rejects counts in
  /// `codePointPassesRejected`; passes the stub itself rejects are not counted (they never
  /// leave the tracee).
  /// With a counting stub, says which pass through the code point matched.
  ///
  /// `rebuild` installs the stub again with other words (`words` are those it compares):
  /// a stub built before the task reached the point (a hot point's, built at the event
  /// before) compared the stack words that differed then, when the frame was not yet
  /// built, not those that change from pass to pass; a pass only the stack tells apart then
  /// trapped every time (an -O0 loop whose counter lives in its frame: 700,000 traps,
  /// 14 s). At such a pass the words that differ are the changing ones: the stub is built
  /// again with them, at most twice a search.
  @discardableResult
  private func runToCodePoint(
    _ target: Registers, memory: CodePointSignature, _ task: ReplayTask, through installed: InstalledStub, repeated: RepeatedString?, index: UInt64,
    activity: String, words: [CodePointMemory] = [], rebuild: StubRebuild? = nil, rebuildsLeft: Int = 2
  ) throws -> Int? {
    var rejected = 0
    while true {
      // Until the point is reached, any way out puts the code back first.
      let registers: Registers
      do {
        let status = try resumeAndWait(task, .syscallEmulation, expecting: .trap)
        registers = try currentRegisters(task)
        guard status == .signalStop(.trap), registers.rip == installed.stub.trapAddress + 1 else {
          throw unexpected(
            status, task, index: index, activity: activity,
            expected: "the thread reaches rip \(hex(target.rip)) with its recorded registers (compare stub at \(hex(installed.stub.address)))")
        }
      } catch {
        try? installed.site.restore(in: task.tracee)
        throw error
      }
      var atPoint = registers
      atPoint.rip = target.rip
      // int3 sets orig_rax to -1 as the #DB does: compare without it, give back the recorded
      // one; likewise the flags the stub's own compare set (they are dead here).
      let uncompared = installed.stub.uncomparedFlags
      atPoint.eflags = atPoint.eflags & ~uncompared | target.eflags & uncompared
      let stackDifferences = stackDifferences(memory, task) + reachedDifferences(memory, task)
      let differences =
        registerDifferences(recorded: target, replayed: atPoint, ignoring: [RegisterIndex.origRax]) + memoryDifferences(memory, task)
      let iterations = differences.isEmpty || !stackDifferences.isEmpty ? nil : repeated.flatMap { $0.iterations(from: atPoint, to: target) }
      if differences.isEmpty && stackDifferences.isEmpty || iterations != nil {
        let passes = try installed.counter.map { Int(try task.tracee.readValue(at: $0, size: 8)) }
        try installed.site.restore(in: task.tracee)
        if let repeated, let iterations {
          try finishIterations(iterations, of: repeated, from: atPoint, to: target, task, index: index, activity: activity)
        } else {
          atPoint.origRax = target.origRax
          try setRegisters(atPoint, task)
        }
        if !installed.keepsPage { try unmap(installed.page, task, from: .suppressedSignal) }
        codePointPassesRejected += rejected
        return passes
      }
      if debugStops {
        printToStandardError("[replay] compare stub matched at \(hex(target.rip)) but: \((differences + stackDifferences).joined(separator: "; "))")
      }
      rejected += 1
      if differences.isEmpty && !stackDifferences.isEmpty && rebuildsLeft > 0, let rebuild {
        let changing = memory.words + changingWords(memory, at: target.rsp, task)
        let compared = Set(words.map(\.address))
        if changing.contains(where: { !compared.contains($0.address) }) {
          codePointPassesRejected += rejected
          try installed.site.restore(in: task.tracee)
          try setRegisters(atPoint, task)
          if !installed.keepsPage { try unmap(installed.page, task, from: .suppressedSignal) }
          switch try rebuild(try currentRegisters(task), changing) {
          case .success(let again):
            if debugStops { printToStandardError("[replay] compare stub for \(hex(target.rip)) built again with the words this pass differed in") }
            return try runToCodePoint(
              target, memory: memory, task, through: again, repeated: repeated, index: index, activity: activity, words: changing,
              rebuild: rebuild, rebuildsLeft: rebuildsLeft - 1)
          case .failure(let refusal):
            if debugStops { printToStandardError("[replay] code point \(hex(target.rip)): hardware breakpoint, since \(refusal)") }
            _ = try runWithBreakpoint(to: target, memory: memory, task, repeated: repeated, index: index, activity: activity, passLimit: nil)
            return nil
          }
        }
      }
      atPoint.rip = installed.stub.displacedAddress
      do {
        try setRegisters(atPoint, task)
      } catch {
        try? installed.site.restore(in: task.tracee)
        throw error
      }
    }
  }

  /// Runs `task` on to the code point `target` as `runToCodePoint` does, and says which
  /// arrival at `target.rip` it was, counting from here (a task stopped at the instruction
  /// arrives when it runs it): every pass counted in the tracee by a counting compare stub,
  /// or by a hardware breakpoint's trap each where no stub fits. Reverse execution names a
  /// place in a loop by that count.
  func runToCodePointCountingArrivals(
    _ target: Registers, memory: [CodePointMemory], _ task: ReplayTask, index: UInt64, activity: String, byHardwareOnly: Bool = false
  ) throws -> Int {
    let signature = CodePointSignature(memory: memory, stack: nil)
    let current = try currentRegisters(task)
    let installed: Result<InstalledStub, InjectionRefusal> =
      byHardwareOnly
      ? .failure("the address may not begin an instruction")
      : try installCompareStub(for: target, memory: memory, task, current: current, changing: [], ignoring: [], form: .countingCompare)
    switch installed {
    case .success(let installed):
      guard let passes = try runToCodePoint(target, memory: signature, task, through: installed, repeated: nil, index: index, activity: activity)
      else { preconditionFailure("a counting stub without its counter") }
      passesCountedInTracee += passes
      return passes
    case .failure(let refusal):
      if debugStops { printToStandardError("[replay] counting arrivals at \(hex(target.rip)): hardware breakpoint, since \(refusal)") }
      // A guess watched by hardware gives up after so many passes with other registers.
      guard
        case .reached(let passes) = try runWithBreakpoint(
          to: target, memory: signature, task, repeated: nil, index: index, activity: activity,
          passLimit: byHardwareOnly ? guessedPassLimit : nil)
      else {
        throw ReplayError.setup("gave up on \(hex(target.rip)) after \(guessedPassLimit) passes with other registers")
      }
      breakpointTraps += passes + 1
      return passes + 1
    }
  }

  /// Runs `task` on through `passes` passes through the instruction at `address`, counting
  /// from here, and leaves it stopped before that instruction runs the last time: a counting
  /// stub (`CompareStub.init(countingAt:...)`), or a hardware breakpoint's trap at each pass
  /// where no stub fits. Its registers are whatever that pass brings.
  ///
  /// `byHardwareOnly`: never patch there (`address` may not begin an instruction).
  func runToPass(_ passes: Int, of address: UInt64, _ task: ReplayTask, index: UInt64, activity: String, byHardwareOnly: Bool = false) throws {
    precondition(passes > 0)
    let current = try currentRegisters(task)
    var target = current
    target.rip = address
    let expected = "pass \(passes) through \(hex(address))"
    let installed: Result<InstalledStub, InjectionRefusal> =
      byHardwareOnly
      ? .failure("the address may not begin an instruction")
      : try installCompareStub(for: target, memory: [], task, current: current, changing: [], ignoring: [], form: .toPass(passes))
    switch installed {
    case .success(let installed):
      var registers: Registers
      do {
        let status = try resumeAndWait(task, .syscallEmulation, expecting: .trap)
        registers = try currentRegisters(task)
        guard status == .signalStop(.trap), registers.rip == installed.stub.trapAddress + 1 else {
          throw unexpected(status, task, index: index, activity: activity, expected: expected)
        }
      } catch {
        try? installed.site.restore(in: task.tracee)
        throw error
      }
      try installed.site.restore(in: task.tracee)
      registers.rip = address
      try setRegisters(registers, task)
      if !installed.keepsPage { try unmap(installed.page, task, from: .suppressedSignal) }
      passesCountedInTracee += passes
    case .failure(let refusal):
      if debugStops { printToStandardError("[replay] \(expected): hardware breakpoint, since \(refusal)") }
      try armDR0(at: address, task)
      defer { disarmDR0(task) }
      for _ in 0..<passes {
        let status = try resumeAndWait(task, .syscallEmulation, expecting: .trap)
        guard status == .signalStop(.trap), try currentRegisters(task).rip == address else {
          throw unexpected(status, task, index: index, activity: activity, expected: expected)
        }
        breakpointTraps += 1
      }
    }
  }

  /// Runs the `count` iterations of a `rep movs/stos` that take the task, stopped at its
  /// start with `registers`, to `target` inside it (`RepeatedString`): rcx set to `count`,
  /// a hardware breakpoint on the next instruction, then rip and rcx as recorded.
  private func finishIterations(
    _ count: UInt64, of repeated: RepeatedString, from registers: Registers, to target: Registers, _ task: ReplayTask,
    index: UInt64, activity: String
  ) throws {
    var start = registers
    start.rcx = count
    start.rip = target.rip
    try setRegisters(start, task)
    try armDR0(at: target.rip + repeated.length, task)
    defer { disarmDR0(task) }
    let status = try resumeAndWait(task, .syscallEmulation, expecting: .trap)
    var after = try currentRegisters(task)
    guard status == .signalStop(.trap), after.rip == target.rip + repeated.length else {
      throw unexpected(
        status, task, index: index, activity: activity,
        expected: "\(count) iterations of the string instruction at \(hex(target.rip)), where the recording stopped inside it")
    }
    after.rip = target.rip
    after.rcx = target.rcx
    after.origRax = target.origRax
    let differences = registerDifferences(recorded: target, replayed: after, ignoring: [])
    guard differences.isEmpty else {
      throw Divergence(eventIndex: index, tid: task.recordedTid, activity: activity, differences: differences)
    }
    try setRegisters(after, task)
  }

  /// A thread preempted at a code point: run it there and leave it stopped.
  func replayPreemption(_ event: PreemptionEvent, _ task: ReplayTask) throws {
    try runToCodePoint(
      event.registers, memory: event.memory, stack: event.stack, reached: event.reached, task, index: event.index,
      activity: "preemption at rip \(hex(event.registers.rip))")
  }

  /// How the task's memory differs from a code point's, a line per word.
  private func memoryDifferences(_ signature: CodePointSignature, _ task: ReplayTask) -> [String] {
    signature.words.compactMap { word in
      guard let value = try? task.tracee.readValue(at: word.address, size: Int(word.size)) else {
        return "memory at \(hex(word.address)): unreadable"
      }
      return value == word.value ? nil : "memory at \(hex(word.address)): recorded \(hex(word.value)), replayed \(hex(value))"
    }
  }

  /// How the stack above rsp differs from a code point's: a line, or none.
  private func stackDifferences(_ signature: CodePointSignature, _ task: ReplayTask) -> [String] {
    guard let stack = signature.stack else { return [] }
    guard let rsp = try? currentRegisters(task).rsp, let bytes = try? task.tracee.readMemory(at: rsp, count: stack.bytes.count) else {
      return ["the \(stack.bytes.count) bytes above rsp: unreadable"]
    }
    let differing = bytes.indices.filter { bytes[$0] != stack.bytes[$0] }
    guard let first = differing.first else { return [] }
    let count = differing.count
    let word = first / 8 * 8
    return [
      "the \(stack.bytes.count) bytes above rsp: \(count) differ, the first at rsp+\(first) "
        + "(the word at rsp+\(word): recorded \(hex(stack.word(at: word))), replayed \(hex(StackSignature(bytes: bytes).word(at: word))))"
    ]
  }

  /// How the memory the registers point to differs from a code point's: a line, or none.
  private func reachedDifferences(_ signature: CodePointSignature, _ task: ReplayTask) -> [String] {
    for chunk in signature.reached {
      guard let now = try? task.tracee.readMemory(at: chunk.address, count: chunk.bytes.count) else {
        return ["memory the registers point to at \(hex(chunk.address)): unreadable"]
      }
      guard let first = chunk.bytes.indices.first(where: { chunk.bytes[$0] != now[$0] }) else { continue }
      let word = first / 8 * 8
      return [
        "memory the registers point to at \(hex(chunk.address + UInt64(word))): recorded "
          + "\(hex(ReachedMemory.word(chunk.bytes, at: word))), replayed \(hex(ReachedMemory.word(now, at: word)))"
      ]
    }
    return []
  }

  /// Words for the stub to compare besides the code point's own memory: those of the stack
  /// (`changingStackWords`), then those of the reached memory that the task does not hold
  /// now (at most `limit` of these, in recorded order), so that passes which differ only
  /// there are rejected in the tracee rather than by a trap each.
  private func changingWords(_ signature: CodePointSignature, at rsp: UInt64, _ task: ReplayTask, limit: Int = 4) -> [CodePointMemory] {
    var words = changingStackWords(signature, at: rsp, task)
    var added = 0
    for chunk in signature.reached where added < limit {
      guard let now = try? task.tracee.readMemory(at: chunk.address, count: chunk.bytes.count) else { continue }
      for offset in stride(from: 0, to: chunk.bytes.count, by: 8) where added < limit {
        let recorded = ReachedMemory.word(chunk.bytes, at: offset)
        if recorded != ReachedMemory.word(now, at: offset) {
          words.append(CodePointMemory(address: chunk.address + UInt64(offset), size: 8, value: recorded))
          added += 1
        }
      }
    }
    return words
  }

  /// The words of the recorded stack that the task's stack at the same addresses does not
  /// hold now (at most `limit`, nearest rsp first), as memory for the stub to compare: the
  /// values that change from pass to pass (the locals of an interpreted loop), checked in
  /// the tracee rather than by a trap at every pass whose registers match.
  private func changingStackWords(_ signature: CodePointSignature, at rsp: UInt64, _ task: ReplayTask, limit: Int = 4) -> [CodePointMemory] {
    guard let stack = signature.stack, let now = try? task.tracee.readMemory(at: rsp, count: stack.bytes.count) else { return [] }
    let current = StackSignature(bytes: now)
    let offsets = stride(from: 0, to: stack.bytes.count, by: 8).filter { (offset: Int) in current.word(at: offset) != stack.word(at: offset) }
    return offsets.prefix(limit).map { CodePointMemory(address: rsp + UInt64($0), size: 8, value: stack.word(at: $0)) }
  }

  /// An execute breakpoint in DR0, leaving a debugger's DR1-DR3 enabled.
  ///
  /// A task stopped at `address` itself passes there first: its resume flag goes, since a
  /// fault (an RDTSC's #GP, say) leaves RF set in the flags it saved, and with RF the CPU
  /// skips the breakpoint for the instruction it resumes at, so that pass would go uncounted.
  private func armDR0(at address: UInt64, _ task: ReplayTask) throws {
    try task.tracee.setDebugRegister(0, to: address)
    let control = try task.tracee.debugRegister(7) & ~debugControlDR0Bits
    try task.tracee.setDebugRegister(7, to: control | debugControlExecuteDR0)
    var registers = try currentRegisters(task)
    if registers.rip == address && registers.eflags & resumeFlag != 0 {
      registers.eflags &= ~resumeFlag
      try setRegisters(registers, task)
    }
  }

  private func disarmDR0(_ task: ReplayTask) {
    guard let control = try? task.tracee.debugRegister(7) else { return }
    try? task.tracee.setDebugRegister(7, to: control & ~debugControlDR0Bits)
  }
}

/// What besides the registers identifies a code point: memory words the stub compares, and
/// the stack and reached memory the tracer checks.
struct CodePointSignature {
  var words: [CodePointMemory]
  var stack: StackSignature?
  var reached: [MemoryChunk]
  init(memory: [CodePointMemory], stack: StackSignature?, reached: [MemoryChunk] = []) {
    words = memory
    self.stack = stack
    self.reached = reached
  }
}

/// Installs a code point's compare stub, at a task stopped with these registers, comparing
/// these words (`runToCodePoint`'s `rebuild`).
typealias StubRebuild = (Registers, [CodePointMemory]) throws -> Result<InstalledStub, InjectionRefusal>
