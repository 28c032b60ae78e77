import CCapstone
import CodePatch
import Glibc
import Synchronization
import LinuxTrace
import TraceFormat

/// The reverse commands: each replays the recording again, from a checkpoint, to the place
/// it finds (`ReplayDebugger+Seek.swift`).
extension DebugReplay {
  /// Runs backwards: to the last stop a forward run from the start would have made before
  /// this place (`.continue`), or to the instruction before it (`.step`).
  public func reverse(_ how: DebugResume) -> Result<DebugStop, Error> {
    reverseInterrupted.store(false, ordering: .relaxed)
    guard let here = place() else { return .failure(ReplayError.setup("the replay has ended")) }
    do {
      switch how {
      case .continue: return .success(try reverseContinue(from: here))
      case .step(let tid): return .success(try reverseStep(from: here, thread: tid))
      }
    } catch let interrupted as ReverseInterrupted {
      return .success(interrupted.stop)
    } catch {
      // Back to where gdb was, so that the session can go on.
      _ = try? replayAgain(Seek(.reach, target: here))
      return .failure(error)
    }
  }

  /// Goes to `place`, which an earlier stop of this session reported (`monitor restart`).
  public func go(to place: ReplayPlace) -> Result<DebugStop, Error> {
    reverseInterrupted.store(false, ordering: .relaxed)
    let here = self.place()
    do { return .success(try reach(place, as: .signal(SIGTRAP, cause: nil))) } catch let interrupted as ReverseInterrupted {
      return .success(interrupted.stop)
    } catch {
      if let here { _ = try? replayAgain(Seek(.reach, target: here)) }
      return .failure(error)
    }
  }

  /// Writes every instruction the debugged process runs in events `from` up to `to` to
  /// `path`, one a line with its registers, then comes back here. Returns how many.
  public func logInstructions(from: UInt64, to: UInt64, path: String) -> Result<Int, Error> {
    reverseInterrupted.store(false, ordering: .relaxed)
    guard let here = place() else { return .failure(ReplayError.setup("the replay has ended")) }
    guard from < to else { return .failure(ReplayError.setup("the range \(from)-\(to) holds no event: FROM must be below TO")) }
    guard let file = fopen(path, "w") else {
      return .failure(ReplayError.setup("cannot write \(path): \(String(cString: strerror(errno)))"))
    }
    defer { fclose(file) }
    let seek = Seek(.log(from: from, to: to), target: nil)
    seek.log = file
    do {
      _ = try replayAgain(seek)
      _ = try replayAgain(Seek(.reach, target: here))
      return .success(seek.instructionsLogged)
    } catch let interrupted as ReverseInterrupted {
      _ = interrupted
      _ = try? replayAgain(Seek(.reach, target: here))
      return .failure(ReplayError.setup("interrupted after \(seek.instructionsLogged) instructions"))
    } catch {
      _ = try? replayAgain(Seek(.reach, target: here))
      return .failure(error)
    }
  }

  private func reverseContinue(from here: ReplayPlace) throws -> DebugStop {
    // From the latest checkpoint before here; when nothing stops there, from the one before
    // up to where that run began, and so on. The checkpoints already grow sparser with age
    // and are bounded in number (`CheckpointStore`), so the work is the distance to the
    // stop found, rounded up to the window it lies in, plus a few milliseconds a window.
    // (Going back twice as many checkpoints each time, as this did before, scanned 70,000
    // events for a write 50,000 back: 1.31 s, where this takes 0.98-1.02 s, bench/reverse.sh.)
    var target = here
    var last: (place: ReplayPlace, kind: DebugStop.Kind)?
    while last == nil {
      let from = checkpoints.latest(before: target)
      let (_, seek) = try replayAgain(Seek(.note, target: target), from: .some(from))
      last = seek.noted.last
      guard let from, last == nil else { break }
      target = from.place
    }
    guard let last else { return try historyBegin() }
    if case .signal(_, .watchpoint?) = last.kind {
      // The trap came after the access; going backwards, gdb stops before it.
      guard let before = try previousInstruction(last.place) else { return try historyBegin() }
      return try reach(before, as: last.kind)
    }
    return try reach(last.place, as: last.kind)
  }

  private func reverseStep(from here: ReplayPlace, thread: Int32) throws -> DebugStop {
    guard let before = try previousInstruction(here) else { return try historyBegin() }
    return try reach(before, as: .signal(SIGTRAP, cause: nil))
  }

  /// The place of `place`'s thread one instruction earlier, found by single-stepping the
  /// thread from the nearest place before it that can be reached without stepping (or, at
  /// the first instruction it ran for its event, through the code before its previous
  /// event); nil at the start of history.
  private func previousInstruction(_ place: ReplayPlace) throws -> ReplayPlace? {
    switch place.stage {
    case .beforeEvent, .exec, .processExit, .recordingEnd: break
    case .code, .signal:
      // A signal stops the thread before the instruction at its rip runs: the instruction
      // before is the one before that place in code.
      var inCode = place
      if case .signal = place.stage { inCode.stage = .code(rip: place.rip, arrival: nil) }
      if let before = try previousPlace(inCode: inCode, reported: place) { return before }
    case .syscallEntry, .syscallReturn, .threadExit:
      let places = try ladder(event: place.eventIndex, tid: place.tid, to: place)
      let end = places.firstIndex { $0.isSame(as: place) } ?? places.endIndex
      let earlier = places[..<end].filter { !($0.rip == place.rip && $0.hasSameState(as: place)) }
      if let last = earlier.last { return last }
    }
    guard let previousEvent = place.threadsLastEvent else { return nil }
    return try ladder(event: previousEvent, tid: place.tid, to: nil).last
  }

  /// The place before `place` (in the code its thread runs before the event) in the last
  /// ladder, or in a new one stepped from the nearest start known (`ladderStarts`); nil when
  /// the thread ran nothing before it for the event. `reported`: the stop gdb sees there
  /// (a signal's, whose ladder ends at the signal).
  private func previousPlace(inCode place: ReplayPlace, reported: ReplayPlace) throws -> ReplayPlace? {
    guard case .code(let rip, let counted) = place.stage else { return nil }
    /// The place before `place` in `places`, skipping passes identical to it.
    func before(in places: [ReplayPlace]) -> ReplayPlace?? {
      guard let end = places.firstIndex(where: { $0.isSame(as: place) }) else { return nil }
      return .some(places[..<end].last { !($0.rip == rip && $0.hasSameState(as: place)) })
    }
    // The stack above the place, while the replay is parked there: a place just after a
    // call's return is made from it (`returnedFrom`).
    let stackHere: [UInt8]? =
      self.place()?.isSame(as: reported) == true ? try? readMemory(at: Registers(words: place.registers).rsp, count: 520) : nil
    var arrival = counted
    if let last = lastLadder, last.event == place.eventIndex, last.tid == place.tid, let found = before(in: last.places) {
      if let found { return found }
      // The ladder's first place: nothing before it unless the ladder began at a start,
      // whose arrival is known.
      guard let start = last.start, start.rip == rip else { return nil }
      arrival = start.arrival
    } else if arrival == nil {
      // A place gdb reached forwards has no count yet: a run to it counts, in the tracee.
      let counting = Seek(.reach, target: place)
      counting.countsArrival = true
      _ = try replayAgain(counting)
      if case .code(_, let found)? = self.place()?.stage { arrival = found }
    }
    let fallThrough = arrival == 1 ? fallThroughPredecessor(of: rip) : nil
    if arrival == 1 {
      // An indirect jump (a switch's jump table, a tail call through a pointer) changes
      // nothing but rip: one near that goes here with these registers and memory; and the
      // dynamic loader's lazy resolver ends in a jump through a register that holds the
      // function it bound, still there at the function's first instruction. Found now, while
      // the replay is parked here (the runs below move it).
      let indirect = indirectJumps(into: rip, registers: Registers(words: place.registers))
      let loader = loaderJumps(into: rip, registers: Registers(words: place.registers))
      let jumpedFrom = (indirect + loader).map { hex($0.address) + ($0.certain ? "" : " (uncertain)") }.joined(separator: ", ")
      // Just after a call: the instruction before is a return of the function it called
      // (through a PLT entry's jump, if it called one), which changed only rip and rsp (the
      // place there: these registers, rsp 8 lower, the return address on top of this stack).
      let here = Registers(words: place.registers)
      if let stackHere, stackHere.count == 520, let call = callBefore(rip, registers: here, returned: true) {
        let callee = stubJump(at: call.target, registers: here)?.target ?? call.target
        for exit in returns(inFunctionAt: callee, registers: here).prefix(16) {
          // A `ret imm16` popped more: those bytes are still below rsp (no instruction ran since).
          guard let popped = exit.popped == 0 ? [] : try? readMemory(at: here.rsp &- exit.popped, count: Int(exit.popped)) else { continue }
          let atReturn = place.moved(
            to: exit.address, stackPointer: here.rsp &- 8 &- exit.popped, stack: littleEndian(rip) + popped + stackHere)
          if let found = try found(atReturn, byHardwareOnly: false) { return found }
        }
      }
      // At a function's first instruction: the call before its return address, which pushed
      // that address, when it went to `rip` (the place there: rsp 8 higher, the stack above
      // without it); or, when it went to a stub that jumps on through a register or memory
      // (a PLT entry), that jump, when it goes to `rip` (the place there: these registers).
      if let stackHere, stackHere.count == 520 {
        let returnAddress = stackHere.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }
        var atCallRegisters = here
        atCallRegisters.rsp = here.rsp &+ 8
        if let call = callBefore(returnAddress, registers: atCallRegisters, returned: false) {
          if call.target == rip {
            let atCall = place.moved(to: call.address, stackPointer: here.rsp &+ 8, stack: Array(stackHere[8...]))
            if let found = try found(atCall, byHardwareOnly: false) { return found }
          } else if let jump = stubJump(at: call.target, registers: here), jump.target == rip {
            let atJump = place.moved(to: jump.address, stackPointer: here.rsp, stack: stackHere)
            if let found = try found(atJump, byHardwareOnly: false) { return found }
          } else {
            // The called function tail-called this one: a jump in its code went here,
            // directly or through a PLT entry (the place there: these registers).
            let callee = stubJump(at: call.target, registers: here)?.target ?? call.target
            let code = FunctionCode(at: callee, read: { try? self.readMemory(at: $0, count: $1) })
            let jumps = (code?.directJumps ?? []).filter { $0.target == rip } + (code?.outwardJumps ?? []).filter { $0.target != rip }
            for jump in jumps.prefix(8) {
              let from = jump.target == rip ? jump.address : stubJump(at: jump.target, registers: here).flatMap { $0.target == rip ? $0.address : nil }
              guard let from else { continue }
              if let found = try found(place.moved(to: from, stackPointer: here.rsp, stack: stackHere), byHardwareOnly: false) { return found }
            }
          }
        }
      }
      // A branch taken to `rip`, or one not taken before it, changed nothing but rip: the
      // place before may be this one at the branch (the last pass through a loop's closing
      // branch, say), found by a compare that counts its passes. A branch found by decoding
      // the code around is tried only where at least half the linear decodes from before it
      // agree it starts an instruction, patched where three in four do, else watched by a
      // hardware breakpoint that gives up after `guessedPassLimit` passes (a false one,
      // decoded from inside another instruction, could sit in a loop).
      var branches: [(address: UInt64, certain: Bool)] = []
      if let fallThrough, fallThrough.isConditionalJump { branches.append((fallThrough.address, fallThrough.unanimous)) }
      let decoded = branchesInto(rip).map { ($0, sweeps(landingOn: $0).landed) }
      branches += decoded.filter { $0.1 >= 8 }.prefix(8).map { ($0.0, $0.1 >= 12) }
      branches += indirect.prefix(4) + loader.prefix(4)
      if debugSeeks {
        printToStandardError(
          "[seek] before \(hex(rip)): falls through from \(fallThrough.map { hex($0.address) } ?? "none") (decodes: \(sweeps(landingOn: rip).previous.map { hex($0.address) + "/\($0.instruction.kind)" }.joined(separator: " "))), branched to from "
            + decoded.map { "\(hex($0.0)) (\($0.1) of 16 decodes agree)" }.joined(separator: ", ")
            + "; jumped to indirectly from " + jumpedFrom)
      }
      for branch in branches {
        var atBranch = place
        var registers = Registers(words: place.registers)
        registers.rip = branch.address
        atBranch.registers = registers.words
        atBranch.stage = .code(rip: branch.address, arrival: nil)
        if let found = try found(atBranch, byHardwareOnly: !branch.certain) { return found }
      }
    }
    let starts = try ladderStarts(fallThrough: fallThrough, at: rip, arrival: arrival)
    for (i, start) in starts.enumerated() {
      let places: [ReplayPlace]
      do {
        places = try ladder(event: place.eventIndex, tid: place.tid, to: reported, from: start)
      } catch let error where !(error is ReverseInterrupted) && i < starts.count - 1 {
        continue  // the thread never ran the guessed start before the place
      }
      let end = places.firstIndex { $0.isSame(as: place) } ?? places.endIndex
      let found = places[..<end].last { !($0.rip == rip && $0.hasSameState(as: place)) }
      if found != nil || start == nil { return found }
    }
    return nil
  }

  /// `place`, which the thread may have passed (a guess), counted: nil when a run to it
  /// does not find it.
  private func found(_ place: ReplayPlace, byHardwareOnly: Bool) throws -> ReplayPlace? {
    let counting = Seek(.reach, target: place)
    counting.countsArrival = true
    counting.countsByHardwareOnly = byHardwareOnly
    do {
      _ = try replayAgain(counting)
      if let here = self.place(), case .code(place.rip, _?) = here.stage { return here }
    } catch let error where !(error is ReverseInterrupted) {
      // The thread did not pass there.
    }
    return nil
  }

  /// Where a ladder to the `arrival`th pass through `rip` can start, nearest first, ending
  /// with nil (where the thread began running for the event): the previous pass through
  /// `rip`; for a first pass, the instruction that falls through into `rip` (it ran just
  /// before, if it ran at all, since it always goes on to `rip`).
  private func ladderStarts(fallThrough: Predecessor?, at rip: UInt64, arrival: Int?) throws -> [LadderStart?] {
    guard let arrival else { return [nil] }
    if arrival > 1 { return [LadderStart(rip: rip, arrival: arrival - 1), nil] }
    guard let previous = fallThrough, !previous.isConditionalJump, previous.callTarget == nil else { return [nil] }
    return [LadderStart(rip: previous.address, arrival: 1, guessed: true), nil]
  }

  /// The instruction before `rip` that goes on to `rip` when it does not branch: one that
  /// never branches (no call, return or system call either), or a conditional branch; when
  /// the code before `rip` decodes to one: of the linear decodes from each of the 16 bytes
  /// at 49-64 (or 113-128, `sweeps`) bytes before `rip`, at least 4 land on `rip` and all agree on the instruction
  /// before, or at least half land and three in four of those agree (a decode from inside
  /// another instruction can land on `rip` too). `unanimous`, which a patch needs: at least
  /// half landed and all agreed.
  private func fallThroughPredecessor(of rip: UInt64) -> Predecessor? {
    fallThroughPredecessor(in: sweeps(landingOn: rip))
  }

  private func fallThroughPredecessor(in decodes: Sweeps) -> Predecessor? {
    let landed = decodes.landed, previousOnes = decodes.previous
    var votes: [UInt64: Int] = [:]
    for previous in previousOnes { votes[previous.address, default: 0] += 1 }
    guard let (address, count) = votes.max(by: { $0.value < $1.value }),
      count == landed && landed >= 4 || landed >= 8 && count * 4 >= landed * 3,
      let previous = previousOnes.first(where: { $0.address == address })
    else { return nil }
    let kind = Int32(previous.instruction.kind)
    let isConditionalJump = kind == Int32(REWIND_INSTRUCTION_CONDITIONAL_JUMP)
    let isCall = kind == Int32(REWIND_INSTRUCTION_CALL)
    guard kind == Int32(REWIND_INSTRUCTION_PLAIN) && previous.instruction.enters_kernel == 0 || isConditionalJump || isCall else { return nil }
    return Predecessor(
      address: address, isConditionalJump: isConditionalJump, callTarget: isCall ? previous.instruction.target : nil,
      unanimous: count == landed && landed >= 8)
  }

  /// The call that ends at `returnAddress` and where it went: a direct call, or one through
  /// a register or memory (read now) with `registers`, the ones it ran with, or, when the
  /// called function has `returned`, the ones after: then only registers a function keeps
  /// (rbx, rbp, rsp, r12-r15) are taken from them, and another register only where the code
  /// just before the call loaded it from rip-relative memory, as unoptimized code does. Nil
  /// when the code before does not decode to a call unambiguously (as for
  /// `fallThroughPredecessor`), or its target cannot be told.
  private func callBefore(_ returnAddress: UInt64, registers: Registers, returned: Bool) -> (address: UInt64, target: UInt64)? {
    let decodes = sweeps(landingOn: returnAddress)
    if let call = fallThroughPredecessor(in: decodes), let target = call.callTarget { return (call.address, target) }
    let previous = decodes.previous
    guard decodes.landed >= 8, let first = previous.first, previous.allSatisfy({ $0.address == first.address }),
      let bytes = try? readMemory(at: first.address, count: Int(returnAddress - first.address)),
      let branch = IndirectBranch(bytes), branch.kind == .call, branch.size == bytes.count
    else { return nil }
    var known = registers
    if returned {
      let kept: Set<UInt8> = [3, 4, 5, 12, 13, 14, 15]
      for used in branch.operand.registersUsed where !kept.contains(used) {
        guard let loaded = valueLoaded(into: used, before: first.address), let index = CompareStub.wordIndex(encoding: used) else { return nil }
        known.words[index] = loaded
      }
    }
    guard let target = branch.target(at: first.address, registers: known, read: readWord) else { return nil }
    return (first.address, target)
  }

  /// The value the straight-line code before `address` last wrote into the register with
  /// x86 encoding `encoding`, when that write is `mov disp(%rip), %reg` (64-bit): the memory
  /// there now. Nil for any other write, or a branch met first. Read from the first linear
  /// decode that lands on `address`.
  private func valueLoaded(into encoding: UInt8, before address: UInt64) -> UInt64? {
    guard let decode = sweeps(landingOn: address).decodes.first else { return nil }
    for (at, instruction) in decode.reversed() {
      guard Int32(instruction.kind) == Int32(REWIND_INSTRUCTION_PLAIN) else { return nil }
      guard instruction.registers_written & (1 << UInt16(encoding)) != 0 else { continue }
      // REX.W (and REX.R for r8-r15), 8b, ModRM 00 reg 101: mov disp32(%rip), %reg.
      let rex: UInt8 = 0x48 | (encoding >> 3) << 2
      guard instruction.size == 7, instruction.has_rip_operand != 0, let bytes = try? readMemory(at: at, count: 3),
        bytes == [rex, 0x8b, 0x05 | (encoding & 7) << 3]
      else { return nil }
      return readWord(at: instruction.rip_target)
    }
    return nil
  }

  /// The jump through a register or memory that the code at `entry` begins with (after an
  /// `endbr64`), as a PLT entry does, and where it goes with `registers` and memory now.
  private func stubJump(at entry: UInt64, registers: Registers) -> (address: UInt64, target: UInt64)? {
    guard let bytes = try? readMemory(at: entry, count: 16), bytes.count == 16 else { return nil }
    let skipped = bytes.starts(with: [0xf3, 0x0f, 0x1e, 0xfa]) ? 4 : 0
    let address = entry + UInt64(skipped)
    guard let branch = IndirectBranch(Array(bytes[skipped...])), branch.kind == .jump,
      let target = branch.target(at: address, registers: registers, read: readWord)
    else { return nil }
    return (address, target)
  }

  private func readWord(at address: UInt64) -> UInt64? {
    guard let bytes = try? readMemory(at: address, count: 8), bytes.count == 8 else { return nil }
    return bytes.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }
  }

  /// Linear decodes from each of the 16 bytes at 49-64 bytes before `rip` that land on it;
  /// where fewer than half land (long instructions, such as stores of a 32-bit immediate
  /// to rip-relative memory, lose step more often), those from 113-128 bytes before, when
  /// more of them land.
  private func sweeps(landingOn rip: UInt64) -> Sweeps {
    let near = sweeps(landingOn: rip, from: 64)
    guard near.landed < 8 else { return near }
    let far = sweeps(landingOn: rip, from: 128)
    return far.landed > near.landed ? far : near
  }

  private func sweeps(landingOn rip: UInt64, from span: UInt64) -> Sweeps {
    guard rip > span, let bytes = try? readMemory(at: rip - span, count: Int(span)), bytes.count == Int(span) else { return Sweeps(decodes: []) }
    var landing: [[(address: UInt64, instruction: rewind_instruction)]] = []
    for first in 0..<16 {
      var offset = first
      var decode: [(address: UInt64, instruction: rewind_instruction)] = []
      while offset < bytes.count {
        var decoded = rewind_instruction()
        let address = rip - span + UInt64(offset)
        let ok = bytes[offset...].withUnsafeBufferPointer { rewind_decode_instruction($0.baseAddress, $0.count, address, &decoded) }
        guard ok != 0, decoded.size > 0, Int32(decoded.kind) != Int32(REWIND_INSTRUCTION_INVALID) else { break }
        decode.append((address, decoded))
        offset += Int(decoded.size)
      }
      if offset == bytes.count, !decode.isEmpty { landing.append(decode) }
    }
    return Sweeps(decodes: landing)
  }

  /// The returns (`ret`, `ret imm16`, `repz ret`) a function called at `entry` may leave
  /// through, with the bytes each pops besides the return address: those in its code
  /// (decoded from `entry` up to 4 KiB or the first byte that does not decode), then those
  /// of the functions it tail-calls (`tailCalls`), all ordered by their distance from the
  /// entry of the function they are in, since a linear decode runs on into the functions
  /// that follow.
  private func returns(inFunctionAt entry: UInt64, registers: Registers) -> [(address: UInt64, popped: UInt64)] {
    guard let code = FunctionCode(at: entry, read: { try? self.readMemory(at: $0, count: $1) }) else { return [] }
    var found = code.returns.map { (address: $0.address, popped: $0.popped, distance: $0.address - entry) }
    for tail in tailCalls(in: code, registers: registers) {
      guard let callee = FunctionCode(at: tail.target, read: { try? self.readMemory(at: $0, count: $1) }) else { continue }
      found += callee.returns.map { (address: $0.address, popped: $0.popped, distance: $0.address - tail.target) }
    }
    return found.sorted { $0.distance < $1.distance }.map { ($0.address, $0.popped) }
  }

  /// The direct jumps of `code` to outside it (tail calls, as optimized code makes them),
  /// at most four, with where each goes: through a PLT entry's jump, where that goes.
  private func tailCalls(in code: FunctionCode, registers: Registers) -> [(address: UInt64, target: UInt64)] {
    code.outwardJumps.prefix(4).map { jump in (jump.address, stubJump(at: jump.target, registers: registers)?.target ?? jump.target) }
  }

  /// The indirect jumps (FF /4, through a register or memory) within 4 KiB of `rip` that
  /// go to `rip` when they run with `registers` and memory as they are now: the place just
  /// after one, since a jump writes nothing but rip. Every byte offset is tried; of the
  /// decodes ending at the same byte, the one the linear decodes before it agree on is
  /// kept, where at least half of them land there (`certain` where three in four do).
  private func indirectJumps(into rip: UInt64, registers: Registers) -> [(address: UInt64, certain: Bool)] {
    let reach: UInt64 = 4096
    var window: [UInt8] = []
    var windowStart: UInt64 = 0
    for reach in [reach, 1024, 256] {
      windowStart = rip > reach ? rip - reach : 0
      if let bytes = try? readMemory(at: windowStart, count: Int(rip + reach - windowStart)), bytes.count == Int(rip + reach - windowStart) {
        window = bytes
        break
      }
    }
    return indirectJumps(into: rip, in: window, at: windowStart, registers: registers)
  }

  /// The indirect jumps in `code` (tracee bytes at `start`) that go to `rip` with
  /// `registers` and memory now, as `indirectJumps(into:registers:)`.
  private func indirectJumps(into rip: UInt64, in code: [UInt8], at start: UInt64, registers: Registers) -> [(address: UInt64, certain: Bool)] {
    var startsByEnd: [UInt64: [UInt64]] = [:]
    for offset in code.indices.dropLast() where code[offset] == 0xff && (code[offset + 1] >> 3) & 7 == 4 {
      // Prefixes and REX put the instruction's start up to 3 bytes before its opcode.
      for first in max(0, offset - 3)...offset where first == offset || code[first] != 0xff {
        guard let branch = IndirectBranch(Array(code[first..<min(code.count, first + 16)])), branch.kind == .jump else { continue }
        let address = start + UInt64(first)
        guard branch.target(at: address, registers: registers, read: readWord) == rip else { continue }
        startsByEnd[address + UInt64(branch.size), default: []].append(address)
      }
    }
    var found: [(address: UInt64, certain: Bool)] = []
    for (end, starts) in startsByEnd.sorted(by: { $0.key < $1.key }) {
      let decodes = sweeps(landingOn: end)
      var votes: [UInt64: Int] = [:]
      for previous in decodes.previous where starts.contains(previous.address) { votes[previous.address, default: 0] += 1 }
      guard decodes.landed >= 8, let (address, count) = votes.max(by: { $0.value < $1.value }), count * 2 >= decodes.landed else { continue }
      found.append((address, count * 4 >= decodes.landed * 3 && decodes.landed >= 12))
    }
    return found
  }

  /// The indirect jumps in the dynamic loader's code that go to `rip` now: its lazy
  /// resolver's last instruction, a `jmp *%r11` whose register still holds the function it
  /// bound (a jump writes nothing but rip).
  private func loaderJumps(into rip: UInt64, registers: Registers) -> [(address: UInt64, certain: Bool)] {
    guard let code = loaderCode(), !code.contains(rip),
      let bytes = try? readMemory(at: code.lowerBound, count: Int(code.upperBound - code.lowerBound)), bytes.count > 3
    else { return [] }
    return indirectJumps(into: rip, in: bytes, at: code.lowerBound, registers: registers)
  }

  /// The direct jumps and conditional branches to `rip` in the code within
  /// `PatchSiteChooser.branchScanReach` of it, or less where the mapping ends sooner (some
  /// may be decodes from inside other instructions).
  private func branchesInto(_ rip: UInt64) -> [UInt64] {
    for reach in [PatchSiteChooser.branchScanReach, 4096, 512] {
      let windowStart = rip > reach ? rip - reach : 0
      guard let window = try? readMemory(at: windowStart, count: Int(rip + reach - windowStart)), window.count == Int(rip + reach - windowStart)
      else { continue }
      var index = BranchIndex()
      return index.branches(into: rip..<(rip + 1), site: rip, window: window, windowStart: windowStart) ?? []
    }
    return []
  }

  /// The places of thread `tid`, one instruction apart, in the code it runs before event
  /// `event`, from `start` (nil: from where it began running for the event) up to `place`
  /// (nil: to the end of that code), or further. The last ladder is kept: stepping
  /// backwards again and again walks down the same one.
  private func ladder(event: UInt64, tid: Int32, to place: ReplayPlace?, from start: LadderStart? = nil) throws -> [ReplayPlace] {
    if let last = lastLadder, last.event == event, last.tid == tid, last.start == start,
      place == nil ? last.complete : last.places.contains(where: { $0.isSame(as: place!) })
    {
      return last.places
    }
    let ladder = Seek(.ladder(event: event, tid: tid), target: place)
    ladder.ladderStart = start
    let (_, seek) = try replayAgain(ladder)
    var places = seek.noted.map(\.place)
    if let place, case .code = place.stage, let parked = self.place() { places.append(parked) }
    lastLadder = LastLadder(event: event, tid: tid, start: start, places: places, complete: place == nil)
    return places
  }

  private func reach(_ place: ReplayPlace, as kind: DebugStop.Kind) throws -> DebugStop {
    let (stop, _) = try replayAgain(Seek(.reach, target: place))
    return DebugStop(kind: kind, pid: stop.pid, tid: stop.tid, eventIndex: stop.eventIndex)
  }

  /// Back at the first stop: gdb hears that there is no more history.
  private func historyBegin() throws -> DebugStop {
    let (stop, _) = try replayAgain(nil)
    return DebugStop(kind: .signal(SIGTRAP, cause: .historyBegin), pid: stop.pid, tid: stop.tid, eventIndex: stop.eventIndex)
  }
}

/// A ^C stopped a reverse command at this stop.
struct ReverseInterrupted: Error {
  let stop: DebugStop
}

/// The instruction before an address that goes on to it when it does not branch
/// (`fallThroughPredecessor`): `callTarget` for a direct call, whose next instruction runs
/// after the callee returns.
/// The linear decodes of the code before an address that land on it, each in order.
struct Sweeps {
  var decodes: [[(address: UInt64, instruction: rewind_instruction)]]
  var landed: Int { decodes.count }
  /// The last instruction before the address, of each decode.
  var previous: [(address: UInt64, instruction: rewind_instruction)] { decodes.compactMap(\.last) }
}

struct Predecessor {
  var address: UInt64
  var isConditionalJump: Bool
  var callTarget: UInt64?
  /// At least half the decodes landed and all agreed on it: certain enough to patch.
  var unanimous: Bool
}

extension ReplayPlace {
  /// This place's registers with another rip and rsp, in code, with `stack` (at least 512
  /// bytes) above that rsp: the place an instruction that changed only those was at.
  func moved(to rip: UInt64, stackPointer: UInt64, stack: [UInt8]) -> ReplayPlace {
    var moved = self
    var registers = Registers(words: self.registers)
    registers.rip = rip
    registers.rsp = stackPointer
    moved.registers = registers.words
    moved.stage = .code(rip: rip, arrival: nil)
    moved.stack = StackSignature.hash(Array(stack.prefix(512)))
    moved.stackWords = (0..<4).map { i in stack[(i * 8)..<(i * 8 + 8)].withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) } }
    return moved
  }
}
